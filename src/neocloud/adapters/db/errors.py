"""Database faults as domain errors that say what happened and what to do.

Every statement a unit of work runs, its connection and its commit, and the schema check
before a command run inside :func:`database_errors`. A fault the table below knows becomes
a :class:`NeocloudError` (so the CLI prints one line and exits with its code, the API
answers its status); one it does not know propagates unchanged (a bug to report).

=========================================  ==============  =================================
fault                                      error           what the message says to do
=========================================  ==============  =================================
a column type refusing a value             (its own)       (the field and value)
PostgreSQL not reachable                   Unavailable     is the server running, the URL
no such database / role, bad password      NotFound /      create it, fix the URL
                                           Forbidden
SQLite file missing / not a database       NotFound /      run ``neocloud init`` / fix the
                                           InvalidInput    URL
SQLite busy past the timeout               Unavailable     retry when the other command ends
read-only database                         Forbidden       reading works; fix permissions
disk full                                  Unavailable     free space
another transaction changed the same rows  Conflict        run the command again
(unique / foreign key / exclusion / check
violation, deadlock, serialization failure)
text longer than its column                InvalidInput    (should be refused at the door)
=========================================  ==============  =================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    SQLAlchemyError,
    StatementError,
)

from neocloud.domain.kernel.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NeocloudError,
    NotFound,
    Unavailable,
)

AGAIN = "nothing was written; run the command again"
ONE_HOLDER = (
    "some of these racks already have a holder at that time (another allocation got there "
    "first); plan again"
)


def speak_plainly(engine: Engine, where: str) -> None:
    """Make every error of a statement run on ``engine`` (and of connecting) come out as
    the domain error the table above names, with the driver's own error as its cause."""

    @event.listens_for(engine, "handle_error")
    def _in_words(context: ExceptionContext) -> None:
        original = context.original_exception
        if isinstance(original, NeocloudError):  # a column type refused a value
            raise original
        wrapped = context.sqlalchemy_exception
        translated = _translated(wrapped, where) if wrapped is not None else None
        if translated is not None:  # SQLAlchemy raises it from the driver's own error
            raise translated


@contextmanager
def database_errors(where: str = "the database") -> Iterator[None]:
    """The same translation for what happens outside a statement (making an engine from a
    URL, a migration)."""
    try:
        yield
    except SQLAlchemyError as exc:
        if isinstance(exc, StatementError) and isinstance(exc.orig, NeocloudError):
            raise exc.orig from None
        translated = _translated(exc, where)
        if translated is None:
            raise
        raise translated from exc


def _translated(exc: SQLAlchemyError, where: str) -> NeocloudError | None:  # noqa: PLR0911
    if isinstance(exc, NoSuchModuleError | ArgumentError):
        return unsupported_url(where, str(exc))
    if not isinstance(exc, DBAPIError):
        return None
    text = str(exc.orig).strip()
    state = str(getattr(exc.orig, "sqlstate", "") or "")
    if "ex_allocations_one_holder" in text or state == "23P01":
        return Conflict(ONE_HOLDER)
    if isinstance(exc, IntegrityError) or state.startswith("23"):
        return Conflict(f"the database refused the change: {_refusal(text, state)}; {AGAIN}")
    if state == "55P03":  # lock_not_available: lock_timeout passed
        return Unavailable(
            f"the database at {where} is busy: another command holds what this one needs; "
            f"{AGAIN} when it has finished"
        )
    if state == "42P01" or "no such table" in text:
        return Conflict(
            f"the database at {where} lacks a table its schema revision says it has "
            f"({_first_line(text)}): it was changed outside neocloud; restore it from a backup"
        )
    if state in ("40001", "40P01"):
        return Conflict(f"another command changed the same data at the same time; {AGAIN}")
    if state == "22001":
        return InvalidInput.single("text", _first_line(text), "is longer than its column allows")
    return _connection_fault(text.lower(), where)


# (every phrase of one of the groups must be in the driver's message, lower-cased) -> error
_FAULTS: tuple[tuple[tuple[tuple[str, ...], ...], Callable[[str, str], NeocloudError]], ...] = (
    (
        (("database is locked",), ("database table is locked",)),
        lambda where, _: Unavailable(
            f"the database at {where} is busy: another neocloud command is writing to it; "
            f"{AGAIN} when it has finished"
        ),
    ),
    (
        (("readonly database",), ("read-only transaction",)),
        lambda where, _: Forbidden(
            f"the database at {where} is read-only (its file or folder cannot be written): "
            "reading works; changing it needs write permission"
        ),
    ),
    (
        (("database or disk is full",), ("no space left",)),
        lambda where, _: Unavailable(
            f"the disk holding the database at {where} is full; free space"
        ),
    ),
    (
        (("disk i/o error",),),
        lambda where, _: Unavailable(
            f"the disk holding the database at {where} could not be written or read (full, "
            "or failing); nothing was written"
        ),
    ),
    (
        (("file is not a database",), ("malformed",)),
        lambda where, _: InvalidInput.single(
            "NEOCLOUD_DATABASE_URL", where, "names a file that is not a neocloud database"
        ),
    ),
    (
        (("unable to open database file",),),
        lambda where, _: NotFound(
            f"cannot open the database at {where}: its folder does not exist or cannot be "
            "read; check NEOCLOUD_HOME / NEOCLOUD_DATABASE_URL, then run `neocloud init`"
        ),
    ),
    (
        (("database", "does not exist"),),
        lambda where, _: NotFound(
            f"PostgreSQL has no database for {where}: create it (createdb) or fix "
            "NEOCLOUD_DATABASE_URL, then run `neocloud init`"
        ),
    ),
    (
        (("role", "does not exist"), ("authentication failed",)),
        lambda where, _: Forbidden(
            f"PostgreSQL refused the login for {where}: the role does not exist or the "
            "password is wrong; fix NEOCLOUD_DATABASE_URL"
        ),
    ),
    (
        (("connection refused",), ("could not connect",), ("timeout",), ("resolve host",)),
        lambda where, text: Unavailable(
            f"cannot reach PostgreSQL for {where}: is the server running and the host and "
            f"port right? ({_first_line(text)})"
        ),
    ),
    (
        (("connection", "failed"), ("connection", "closed")),
        lambda where, text: Unavailable(
            f"lost the connection to {where} ({_first_line(text)}); {AGAIN}"
        ),
    ),
)


def _connection_fault(text: str, where: str) -> NeocloudError | None:
    """The first fault of :data:`_FAULTS` whose phrases the driver's message holds."""
    for phrases, error in _FAULTS:
        if any(all(p in text for p in group) for group in phrases):
            return error(where, text)
    return None


def _refusal(text: str, state: str) -> str:
    """Why the database refused a change, in words (PostgreSQL's SQLSTATE, SQLite's text)."""
    lowered = text.lower()
    if state == "23505" or "unique constraint" in lowered:
        return (
            f"it already exists, perhaps created by another command meanwhile ({_first_line(text)})"
        )
    if state == "23503" or "foreign key" in lowered:
        return (
            "it names a row that does not exist, perhaps removed by another command meanwhile "
            f"({_first_line(text)})"
        )
    return _first_line(text)


def unsupported_url(url: str, why: str = "") -> InvalidInput:
    detail = f" ({_first_line(why)})" if why else ""
    return InvalidInput.single(
        "NEOCLOUD_DATABASE_URL",
        url,
        "is not a database neocloud can use: give sqlite:///PATH or "
        f"postgresql+psycopg://USER@HOST:PORT/DATABASE{detail}",
    )


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line[:300]
