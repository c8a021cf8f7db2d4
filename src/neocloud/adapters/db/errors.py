"""Domain errors raised by column types come out of SQLAlchemy wrapped; unwrap them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import StatementError

from neocloud.domain.kernel.errors import NeocloudError


@contextmanager
def domain_errors() -> Iterator[None]:
    """Re-raise a domain error that a column type raised inside SQLAlchemy as itself."""
    try:
        yield
    except StatementError as exc:
        if isinstance(exc.orig, NeocloudError):
            raise exc.orig from None
        raise
