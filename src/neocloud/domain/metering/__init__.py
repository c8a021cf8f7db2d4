"""Metering rules on GPU telemetry (standard library only): the sample catalogue and its
validation, counter increases with resets, energy over an interval, the simulator's rates."""
