"""Idempotency keys: the request fingerprint (every part counts, parts length-prefixed),
what is stored of an answer (``redact``), when a stored answer is forgotten (half-open), and
the key's bounds; expected values worked by hand."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from neocloud.domain.access.idempotency import (
    ABANDONED,
    HEADER,
    MAX_KEY,
    NOT_KEPT,
    PENDING,
    RETENTION,
    SECRET_FIELDS,
    StoredResponse,
    check_key,
    fingerprint,
    redact,
)
from neocloud.domain.kernel.errors import InvalidInput

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
US = timedelta(microseconds=1)


def test_the_constants_are_the_documented_ones() -> None:
    assert HEADER == "Idempotency-Key" and MAX_KEY == 200 and PENDING == 0
    assert timedelta(hours=24) == RETENTION and timedelta(minutes=10) == ABANDONED
    assert SECRET_FIELDS == {"/v1/api-keys": "key", "/v1/webhooks": "secret"}
    assert NOT_KEPT == (
        "(shown once in the first answer, not kept: revoke it and create another if lost)"
    )


def test_the_fingerprint_is_sha256_of_length_prefixed_parts_then_the_body() -> None:
    """Each of method (upper-cased), path, query, If-Match as an 8-byte big-endian length
    and the bytes; the body as it is, last."""
    stream = (
        b"\x00\x00\x00\x00\x00\x00\x00\x04POST"
        + b"\x00\x00\x00\x00\x00\x00\x00\x0c/v1/webhooks"
        + b"\x00\x00\x00\x00\x00\x00\x00\x03a=1"
        + b"\x00\x00\x00\x00\x00\x00\x00\x04W/e1"
        + b'{"url":"https://h/"}'
    )
    expected = hashlib.sha256(stream).hexdigest()
    got = fingerprint("post", "/v1/webhooks", "a=1", b'{"url":"https://h/"}', "W/e1")
    assert got == expected
    assert fingerprint("POST", "/v1/webhooks", "a=1", b'{"url":"https://h/"}', "W/e1") == got


def test_without_if_match_its_part_is_an_empty_one() -> None:
    stream = (
        b"\x00\x00\x00\x00\x00\x00\x00\x03PUT"
        + b"\x00\x00\x00\x00\x00\x00\x00\x02/x"
        + b"\x00\x00\x00\x00\x00\x00\x00\x00"
        + b"\x00\x00\x00\x00\x00\x00\x00\x00"
    )
    assert fingerprint("PUT", "/x", "", b"") == hashlib.sha256(stream).hexdigest()


def test_every_part_changes_the_fingerprint() -> None:
    base = fingerprint("POST", "/v1/a", "q=1", b"{}", "e1")
    others = {
        fingerprint("PUT", "/v1/a", "q=1", b"{}", "e1"),
        fingerprint("POST", "/v1/b", "q=1", b"{}", "e1"),
        fingerprint("POST", "/v1/a", "q=2", b"{}", "e1"),
        fingerprint("POST", "/v1/a", "q=1", b"{ }", "e1"),
        fingerprint("POST", "/v1/a", "q=1", b"{}", "e2"),
        fingerprint("POST", "/v1/a", "q=1", b"{}"),
    }
    assert base not in others and len(others) == 6


def test_parts_cannot_slide_into_one_another() -> None:
    """Without the length prefixes "/ab" + "" and "/a" + "b" would hash the same."""
    assert fingerprint("POST", "/ab", "", b"") != fingerprint("POST", "/a", "b", b"")
    assert fingerprint("POST", "/a", "", b"", "x") != fingerprint("POST", "/a", "x", b"")
    assert fingerprint("POST", "/a", "", b"x") != fingerprint("POST", "/a", "", b"", "x")


KEY_BODY = '{"id":"k1","key":"nck_0123456789abcdef_secret"}'
REDACTED_KEY = '{"id": "k1", "key": "' + NOT_KEPT + '"}'


def test_redact_replaces_the_secret_of_a_successful_create() -> None:
    assert redact("/v1/api-keys", 201, KEY_BODY) == REDACTED_KEY
    assert redact("/v1/api-keys/", 200, KEY_BODY) == REDACTED_KEY  # a trailing slash
    hook = '{"id":3,"secret":"whsec_abc","url":"https://h/"}'
    assert redact("/v1/webhooks", 299, hook) == (
        '{"id": 3, "secret": "' + NOT_KEPT + '", "url": "https://h/"}'
    )


def test_redact_keeps_only_2xx_answers_of_the_listed_paths() -> None:
    for status in (199, 300, 400, 422):
        assert redact("/v1/api-keys", status, KEY_BODY) == KEY_BODY
    assert redact("/v1/agreements", 201, KEY_BODY) == KEY_BODY  # not a listed path
    assert redact("/v1/api-keys/extra", 201, KEY_BODY) == KEY_BODY
    assert redact("/v1/api-keysX", 201, KEY_BODY) == KEY_BODY  # only a slash is dropped
    # the webhook path's field is "secret", not "key"
    assert redact("/v1/webhooks", 201, KEY_BODY) == KEY_BODY


def test_redact_leaves_what_is_not_a_json_object_with_the_field_as_it_is() -> None:
    for body in ("not json", "", '["key"]', '"key"', '{"id": "k1"}', "{broken"):
        assert redact("/v1/api-keys", 201, body) == body


def stored(status_code: int, created_at: datetime = AT) -> StoredResponse:
    return StoredResponse("ab" * 32, status_code, "{}", "application/json", created_at)


def test_a_pending_key_is_abandoned_at_exactly_ten_minutes() -> None:
    running = stored(PENDING)
    assert running.pending
    assert not running.expired(AT)
    assert not running.expired(AT + timedelta(minutes=10) - US)
    assert running.expired(AT + timedelta(minutes=10))


def test_an_answer_is_kept_for_exactly_24_hours() -> None:
    answered = stored(201)
    assert not answered.pending
    assert not answered.expired(AT + timedelta(minutes=10))
    assert not answered.expired(AT + timedelta(hours=24) - US)
    assert answered.expired(AT + timedelta(hours=24))
    assert not stored(422).pending and stored(422).expired(AT + timedelta(days=2))


def test_created_at_is_kept_in_utc_and_a_naive_one_refused() -> None:
    chicago = timezone(timedelta(hours=-5))
    kept = stored(201, datetime(2026, 6, 1, 7, tzinfo=chicago))
    assert kept.created_at == AT and kept.created_at.tzinfo is UTC
    with pytest.raises(InvalidInput) as refused:
        stored(201, datetime(2026, 6, 1, 12))
    (problem,) = refused.value.problems
    assert problem.field == "created_at" and problem.value == "2026-06-01T12:00:00"


@pytest.mark.parametrize(
    "key", ["k", "a" * 200, "123e4567-e89b-12d3-a456-426614174000", " ", "~", "a b!#"]
)
def test_a_key_is_1_to_200_printable_ascii_characters(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("", ""),
        ("a" * 201, "a" * 200),
        ("tab\there", "tab\there"),
        ("del\x7f", "del\x7f"),
        ("unit\x1f", "unit\x1f"),
        ("caf\u00e9", "caf\u00e9"),
    ],
)
def test_a_key_out_of_bounds_is_refused_word_for_word(key: str, shown: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_key(key)
    (problem,) = refused.value.problems
    assert (problem.field, problem.value, problem.message) == (
        "Idempotency-Key",
        shown,
        "must be 1-200 printable ASCII characters",
    )
