"""The ``neocloud`` command line (Typer + rich): thin commands over the services."""
