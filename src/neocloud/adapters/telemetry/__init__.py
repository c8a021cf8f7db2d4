"""Telemetry adapters: the Prometheus/DCGM parser, the Parquet store and its DuckDB reader,
the HTTP scraper, the NVML agent and the simulator."""
