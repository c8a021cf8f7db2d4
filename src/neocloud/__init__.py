"""neocloud: a control plane for a GPU data-center operator (fleet to cash)."""

__version__ = "0.1.0"
