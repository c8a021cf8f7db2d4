"""Logging at the CLI's edge: NEOCLOUD_LOG_LEVEL and NEOCLOUD_LOG_FORMAT (``config.py``).

``cli/main.py::run`` calls :func:`start_logging` only when either is set. With neither,
logging stays as Python has it (records of WARNING and above on standard error, message
only: the same default level) and start-up imports nothing for it. Set, one handler on the
``neocloud`` logger writes records at the level and above to standard error, as text or
one JSON object per line (``services/observability.py``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import TextIO

from neocloud.cli.output import handles_errors
from neocloud.config import LogSettings, load_log_settings
from neocloud.services.observability import JsonFormatter, TextFormatter


@handles_errors
def start_logging(env: Mapping[str, str]) -> None:
    """Logging as the environment says; a bad value is refused as bad input (exit 2)."""
    configure_logging(load_log_settings(env), sys.stderr)


def configure_logging(settings: LogSettings, stream: TextIO) -> logging.Handler:
    """Send the ``neocloud`` loggers' records at ``settings.level`` and above to ``stream``
    in ``settings.format``; replaces the handlers an earlier call installed."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    logger = logging.getLogger("neocloud")
    for earlier in list(logger.handlers):
        logger.removeHandler(earlier)
    logger.addHandler(handler)
    logger.setLevel(settings.level)
    logger.propagate = False  # the CLI owns standard error: no second copy through the root
    return handler
