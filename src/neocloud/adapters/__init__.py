"""Adapters: the database, files and telemetry. Only ``neocloud.bootstrap`` imports them."""
