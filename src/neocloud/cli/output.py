"""Rendering for the CLI: rich tables for people, JSON for scripts, and the one table that
maps error codes to exit codes.

Start-up: the command modules import only what ``--help`` needs (Typer and this module).
rich, the bootstrap (SQLAlchemy, the adapters) and the services are imported by a command
when it runs: :func:`console` and :func:`make_app` here, the rest inside the command
functions. ``tests/cli/test_startup.py`` checks it; ``bench/startup.py`` measures it.
"""

import functools
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

if TYPE_CHECKING:
    from decimal import Decimal
    from pathlib import Path

    from rich.console import Console
    from rich.text import Text

    from neocloud.bootstrap import App

EXIT_CODES = {
    "invalid_input": 2,
    "not_found": 3,
    "conflict": 4,
    "precondition_failed": 4,  # a conflict with the version expected (the API's If-Match)
    "insufficient_capacity": 5,
    "invalid_transition": 6,
    "forbidden": 7,
    "unavailable": 8,
    "unauthenticated": 9,
}
INTERNAL_ERROR = 70  # EX_SOFTWARE (sysexits.h): a bug in neocloud, not in the input
IO_ERROR = 74  # EX_IOERR: a file or standard output could not be read or written

P = ParamSpec("P")
R = TypeVar("R")


def _console(stderr: bool = False) -> "Console":
    """A rich console that prints text as it is: no markup (a site called ``[bold]x[/]``
    is shown as written and cannot break the output), no highlighting, no emoji codes, and
    control or invisible characters (terminal escapes, right-to-left overrides) written as
    visible escapes (``domain/kernel/text.py``)."""
    from rich.console import Console

    from neocloud.domain.kernel.text import printable

    class SafeConsole(Console):
        def render_str(self, text: str, **options: Any) -> "Text":
            return super().render_str(printable(text), **options)

    return SafeConsole(stderr=stderr, markup=False, emoji=False, highlight=False, soft_wrap=True)


@functools.cache
def console() -> "Console":
    """Standard output for people (made on first use: rich costs ~30 ms to import)."""
    out = _console()
    if not out.is_terminal:
        out.width = 140  # piped output (CI logs, files): do not wrap tables at 80 columns
    return out


@functools.cache
def errors() -> "Console":
    """Standard error, for the one line per problem of a refused command."""
    return _console(stderr=True)


def make_app() -> "App":
    """The application wired from the environment (SQLAlchemy, adapters: commands only)."""
    from neocloud.bootstrap import app

    return app()


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print a NeocloudError as one line per problem (field and value named) and exit with
    its code. Anything else that escapes a command is a bug in neocloud: one line saying so
    and exit 70; ``NEOCLOUD_LOG_LEVEL=DEBUG`` shows the traceback. (Failing to write
    standard output is handled by ``main.run``.)"""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from neocloud.domain.kernel.errors import InvalidInput, NeocloudError

        try:
            return command(*args, **kwargs)
        except NeocloudError as exc:
            errors().print(f"error: {exc.message}")
            problems = exc.problems if isinstance(exc, InvalidInput) else ()
            if problems and exc.message != str(problems[0]):  # a summary was printed above
                for problem in problems:
                    errors().print(f"  {problem}")
            raise typer.Exit(EXIT_CODES.get(exc.code, 1)) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except OSError as exc:
            if exc.filename is None:  # writing standard output failed: main.run says so
                raise
            errors().print(f"error: {exc.filename}: {exc.strerror or exc}")
            raise typer.Exit(IO_ERROR) from None
        except Exception as exc:  # the last line of defence, and it says so
            _internal_error(exc)
            raise typer.Exit(INTERNAL_ERROR) from None

    return wrapper


def _internal_error(exc: Exception) -> None:
    import logging

    logging.getLogger("neocloud.cli").debug("internal error", exc_info=exc)
    errors().print(
        f"error: internal error ({type(exc).__name__}: {str(exc)[:300]}); this is a bug in "
        "neocloud, not in your input: please report it with the command that caused it "
        "(NEOCLOUD_LOG_LEVEL=DEBUG shows the traceback)"
    )


def json_default(value: object) -> object:
    from decimal import Decimal

    from neocloud.domain.kernel.money import plain

    if isinstance(value, Decimal):
        return str(plain(value))
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_text(data: object) -> str:
    """JSON; exact numbers (Decimal) are written as strings, never floats."""
    import json

    return json.dumps(data, default=json_default, indent=2) + "\n"


def emit_json(data: object) -> None:
    sys.stdout.write(json_text(data))


def emit_csv(header: Sequence[object], rows: Iterable[Sequence[object]]) -> None:
    """A header and rows as CSV on standard output, as they are (no markup)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    sys.stdout.write(buffer.getvalue())


def write_or_print(text: str, output: "Path | None", field: str = "output") -> None:
    """A document to a file when one is named, else to standard output as it is.

    A regular file is written whole or not at all: into a temporary file beside it, flushed
    to disk, then renamed over it, so a full disk or a broken folder leaves the old file (if
    any) as it was. Anything else that exists (a device, a pipe) is written to as it is.
    Errors name the file."""
    if not output:
        sys.stdout.write(text)  # as it is: no rich markup processing of a large document
        return
    from neocloud.domain.kernel.errors import InvalidInput

    try:
        if output.is_dir():
            raise IsADirectoryError(21, "Is a directory")
        if output.exists() and not output.is_file():
            with output.open("w", encoding="utf-8") as f:
                f.write(text)
        else:
            from neocloud.bootstrap import replace_file

            replace_file(output, text.encode("utf-8"))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidInput.single(field, str(output), f"cannot be written: {reason}") from None


def number_option(text: str, field: str) -> "Decimal":
    """A command-line number: ASCII digits, exact, 0 or more, at most 6 decimal places and
    below what the store keeps; the field is named if not."""
    from neocloud.domain.kernel.errors import InvalidInput
    from neocloud.domain.kernel.money import MICRO_PLACES, decimal_places, to_decimal

    value = to_decimal(text, field)
    if value < 0:
        raise InvalidInput.single(field, text, "must be 0 or more")
    if decimal_places(value) > MICRO_PLACES:
        raise InvalidInput.single(field, text, f"has more than {MICRO_PLACES} decimal places")
    return value


def count_option(text: str | None, field: str) -> int | None:
    """A command-line whole number in ASCII digits (``int`` would also read ``١٢``)."""
    if text is None:
        return None
    from neocloud.domain.kernel.errors import InvalidInput

    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise InvalidInput.single(
            field, text, "must be a whole number written in digits 0-9 (at most 12)"
        )
    return int(text)


def mw(kw: "Decimal", places: int = 3) -> str:
    return f"{kw / 1000:,.{places}f}"
