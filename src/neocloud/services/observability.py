"""One structured log record per use case: which ran, how it ended, how long it took.

``@use_case("capacity.convert_at_site")`` on a service function logs one record per call
on the logger ``neocloud.use_case``, with these attributes besides the message:

    use_case     the name given to the decorator
    outcome      "ok", the NeocloudError's code ("not_found", ...), or the class name of
                 any other exception ("OperationalError")
    duration_ms  wall-clock milliseconds of the call (float)
    arguments    the call's safe scalar arguments by parameter name: strings (cut at
                 200 characters), numbers, booleans, dates and times (ISO 8601), enums
                 (their value); None, units of work, documents, lists and any other object
                 are left out

"ok" and NeocloudError outcomes are INFO (a refused input is an expected answer); any other
exception is ERROR. The decorator changes neither the return value nor the exception.
Which records are shown, and how, is the edges' choice: the CLI reads NEOCLOUD_LOG_LEVEL and
NEOCLOUD_LOG_FORMAT (``neocloud.config``) and writes :class:`JsonFormatter` lines.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from datetime import time as time_of_day
from decimal import Decimal
from enum import Enum
from typing import ParamSpec, TypeVar

from neocloud.domain.kernel.errors import NeocloudError

LOGGER = "neocloud.use_case"
FIELDS = ("use_case", "outcome", "duration_ms", "arguments")
"""The record attributes a use case adds, in the order formatters write them."""
MAX_TEXT = 200

Scalar = str | int | float | bool | None
P = ParamSpec("P")
R = TypeVar("R")

_log = logging.getLogger(LOGGER)


def use_case(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Log one record per call of the decorated function (see the module docstring)."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def logged(*args: P.args, **kwargs: P.kwargs) -> R:
            start = time.perf_counter()
            outcome, level = "ok", logging.INFO
            try:
                return function(*args, **kwargs)
            except NeocloudError as exc:
                outcome = exc.code
                raise
            except BaseException as exc:
                outcome, level = type(exc).__name__, logging.ERROR
                raise
            finally:
                duration_ms = (time.perf_counter() - start) * 1000
                if _log.isEnabledFor(level):  # else not even the arguments are looked at
                    _log.log(
                        level,
                        "%s %s in %.2f ms",
                        name,
                        outcome,
                        duration_ms,
                        extra={
                            "use_case": name,
                            "outcome": outcome,
                            "duration_ms": round(duration_ms, 3),
                            "arguments": safe_arguments(signature, args, kwargs),
                        },
                    )

        return logged

    return decorate


def safe_arguments(
    signature: inspect.Signature, args: tuple[object, ...], kwargs: Mapping[str, object]
) -> dict[str, Scalar]:
    """The scalar arguments of a call by parameter name; the rest is left out."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:  # a wrong call: the function itself raises, with its own message
        return {}
    found: dict[str, Scalar] = {}
    for parameter, value in bound.arguments.items():
        kind = signature.parameters[parameter].kind
        safe = None if kind in (kind.VAR_POSITIONAL, kind.VAR_KEYWORD) else scalar(value)
        if safe is not None:
            found[parameter] = safe
    return found


def scalar(value: object) -> Scalar:
    """``value`` as a JSON scalar if it is safe to log, else None (left out)."""
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        return scalar(value.value)
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | time_of_day):  # a datetime is a date
        return value.isoformat()
    return None


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts (aware UTC, ISO 8601), level, logger, message, then
    the use-case fields the record has, and the traceback as ``exc`` if one is attached."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FIELDS:
            if hasattr(record, field):
                data[field] = getattr(record, field)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


class TextFormatter(logging.Formatter):
    """One line per record: UTC time, level, logger, message, then the arguments as
    ``name=value`` (``repr`` of strings, so spaces and quotes stay readable)."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line = f"{ts} {record.levelname} {record.name} {record.getMessage()}"
        arguments = getattr(record, "arguments", None)
        if isinstance(arguments, dict) and arguments:
            line += " " + " ".join(f"{k}={v!r}" for k, v in arguments.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line
