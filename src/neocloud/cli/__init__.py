"""The ``neocloud`` command line (Typer + rich): thin commands over the services.

Start-up is kept to what Typer itself costs (``bench/startup.py``; ``tests/cli/test_startup.py``
checks the structure): the modules import only what ``--help`` needs, and each command
imports rich, the bootstrap (SQLAlchemy, the adapters) and its services when it runs. They
do not use ``from __future__ import annotations``: Typer reads every command's annotations
when it builds the command line, and string annotations (compiled and evaluated each time)
doubled that cost; the few names imported only for type checking are quoted instead.
"""
