"""Dashboard sessions: eight hours, half-open, times kept in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from neocloud.domain.access.sessions import SESSION_LIFETIME, WebSession
from neocloud.domain.kernel.errors import InvalidInput

OPENED = datetime(2026, 6, 1, 9, tzinfo=UTC)
ENDS = datetime(2026, 6, 1, 17, tzinfo=UTC)  # 09:00 + 8 h


def session(created_at: datetime = OPENED, expires_at: datetime = ENDS) -> WebSession:
    return WebSession("ab" * 32, "0123456789abcdef", "csrf", created_at, expires_at)


def test_a_session_lasts_eight_hours() -> None:
    assert timedelta(hours=8) == SESSION_LIFETIME and OPENED + SESSION_LIFETIME == ENDS


def test_a_session_works_until_its_end_not_at_it() -> None:
    s = session()
    assert s.active(OPENED)
    assert s.active(ENDS - timedelta(microseconds=1))
    assert not s.active(ENDS)
    assert not s.active(ENDS + timedelta(hours=1))


def test_times_are_kept_in_utc() -> None:
    east = timezone(timedelta(hours=2))
    s = session(datetime(2026, 6, 1, 11, tzinfo=east), datetime(2026, 6, 1, 19, tzinfo=east))
    assert (s.created_at, s.expires_at) == (OPENED, ENDS)
    assert s.created_at.tzinfo is UTC and s.expires_at.tzinfo is UTC


@pytest.mark.parametrize("name", ["created_at", "expires_at"])
def test_a_naive_time_is_refused_naming_its_field(name: str) -> None:
    naive = datetime(2026, 6, 1, 9)
    times = {"created_at": OPENED, "expires_at": ENDS, name: naive}
    with pytest.raises(InvalidInput) as refused:
        session(**times)
    (problem,) = refused.value.problems
    assert (problem.field, problem.value) == (name, "2026-06-01T09:00:00")
    assert problem.message == (
        "naive date-time (no UTC offset); write it with an offset, e.g. 2026-05-01T05:00:00Z"
    )
