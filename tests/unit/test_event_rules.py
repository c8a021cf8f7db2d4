"""The event rules on the reference deal (memphis-lease: term 2026-05-01 to 2029-06-01 in
Chicago, a ramp of two months, 90 days' notice, a 99 % SLA), every date worked by hand;
signatures against an HMAC computed by openssl; the retry schedule; the URL rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from neocloud.adapters.yamlfile import parse_document
from neocloud.domain.agreements.file import parse_terms
from neocloud.domain.agreements.model import CapacityAgreement, Party
from neocloud.domain.events import model, schedule, signing
from neocloud.domain.events.model import EventKind
from neocloud.domain.events.webhooks import (
    Delivery,
    DeliveryStatus,
    SendResult,
    Webhook,
    after_attempt,
    check_url,
    retry_delay_s,
    waited_s,
)
from neocloud.domain.kernel.errors import InvalidInput
from tests.conftest import EXAMPLES
from tests.unit.test_billing import reference

SIGNED = datetime(2026, 5, 3, 19, tzinfo=UTC)  # reference(): 14:00 CDT on 2026-05-03
# Chicago local midnight is 05:00Z in daylight time (CDT, March to November), 06:00Z in CST.
TRANCHES = [
    (datetime(2026, 5, 1, 5, tzinfo=UTC), "0.50"),  # the ramp's first month: 50 %
    (datetime(2026, 6, 1, 5, tzinfo=UTC), "0.85"),  # second month: 85 %
    (datetime(2026, 7, 1, 5, tzinfo=UTC), "1"),  # all of it once the ramp ends
]
TERM_END = datetime(2029, 6, 1, 5, tzinfo=UTC)  # 2029-06-01 00:00 CDT
# 90 days before June 1: 31 back is May 1, 30 more April 1, 29 more March 3 (2029-03-03
# 00:00 CST, before daylight time starts on March 11: 06:00Z). 30 days: May 2; 7: May 25.
TERM_REMINDERS = [
    (90, datetime(2029, 3, 3, 6, tzinfo=UTC)),
    (30, datetime(2029, 5, 2, 5, tzinfo=UTC)),
    (7, datetime(2029, 5, 25, 5, tzinfo=UTC)),
]


def kinds_and_times(events: list[model.Event]) -> list[tuple[EventKind, datetime]]:
    return [(e.kind, e.occurred_at) for e in events]


def test_at_signature_only_the_first_tranche_is_due() -> None:
    """Signed on May 3, two days into the term: the first tranche (May 1) is due, the
    second (June 1) is not."""
    due = schedule.due(reference(), SIGNED)
    assert kinds_and_times(due) == [(EventKind.RAMP_MILESTONE, TRANCHES[0][0])]
    assert due[0].payload == {
        "tranche": 1,
        "tranches": 3,
        "from": "2026-05-01T05:00:00Z",
        "capacity_share": "0.50",
    }
    assert (due[0].tenant, due[0].operator, due[0].agreement_key) == (
        "frontier-lab",
        "neocloud",
        "memphis-lease",
    )


def test_a_tranche_is_due_at_its_first_instant_not_before() -> None:
    june = TRANCHES[1][0]
    before = schedule.due(reference(), june - timedelta(microseconds=1))
    at = schedule.due(reference(), june)
    assert len(before) == 1 and len(at) == 2 and at[1].occurred_at == june


def test_the_whole_life_without_notice() -> None:
    """At the term's end: three tranches, the term ending in 90, 30 and 7 calendar days,
    and the term ended; oldest first."""
    due = schedule.due(reference(), TERM_END)
    assert kinds_and_times(due) == [
        *((EventKind.RAMP_MILESTONE, at) for at, _ in TRANCHES),
        *((EventKind.TERM_ENDING, at) for _, at in TERM_REMINDERS),
        (EventKind.TERM_ENDED, TERM_END),
    ]
    assert [e.payload.get("days") for e in due[3:6]] == [90, 30, 7]
    assert [e.payload["capacity_share"] for e in due[:3]] == [s for _, s in TRANCHES]
    assert len({e.dedupe_key for e in due}) == 7
    # one second before the 90-day reminder, only the tranches
    assert len(schedule.due(reference(), TERM_REMINDERS[0][1] - timedelta(seconds=1))) == 3


def test_the_same_scan_names_the_same_facts() -> None:
    at = datetime(2029, 5, 3, tzinfo=UTC)
    first = [e.dedupe_key for e in schedule.due(reference(), at)]
    assert first == [e.dedupe_key for e in schedule.due(reference(), at)]
    assert "agreement.term_ending:memphis-lease:2029-06-01T05:00:00Z:90d" in first


def test_notice_reminders_replace_the_terms() -> None:
    """Notice 2027-02-10 15:30 CST (21:30Z) takes effect 2027-05-11 15:30 CDT (20:30Z). 90
    days before that is the instant notice was given; 30 days, 2027-04-11 15:30 CDT; 7 days,
    2027-05-04 15:30 CDT. The term's own reminders (2029) are not made."""
    deal = reference()
    deal.give_notice(by=Party.TENANT, at=datetime(2027, 2, 10, 21, 30, tzinfo=UTC))
    due = schedule.due(deal, TERM_END)
    assert kinds_and_times(due) == [
        *((EventKind.RAMP_MILESTONE, at) for at, _ in TRANCHES),
        (EventKind.NOTICE_EFFECTIVE_SOON, datetime(2027, 2, 10, 21, 30, tzinfo=UTC)),
        (EventKind.NOTICE_EFFECTIVE_SOON, datetime(2027, 4, 11, 20, 30, tzinfo=UTC)),
        (EventKind.NOTICE_EFFECTIVE_SOON, datetime(2027, 5, 4, 20, 30, tzinfo=UTC)),
    ]
    assert due[3].payload == {
        "days": 90,
        "effective_at": "2027-05-11T20:30:00Z",
        "given_by": "tenant",
        "given_at": "2027-02-10T21:30:00Z",
    }


def test_a_short_notice_gets_no_reminder_before_it_was_given() -> None:
    """30 days' notice given 2027-02-10 15:30 CST takes effect 2027-03-12 15:30 CST (daylight
    time starts on March 14 in 2027): 21:30Z. The 90-day reminder would fall in November
    2026, before the notice: none; 30 days before is the notice itself; 7, March 5."""
    text = (EXAMPLES / "agreements" / "memphis-lease.yaml").read_text()
    terms = parse_terms(parse_document(text.replace("notice_days: 90", "notice_days: 30"), "x"))
    deal = CapacityAgreement.draft(terms, at=SIGNED, actor="t")
    deal.sign(SIGNED)
    given = datetime(2027, 2, 10, 21, 30, tzinfo=UTC)
    deal.give_notice(by=Party.OPERATOR, at=given)
    reminders = [
        e for e in schedule.due(deal, TERM_END) if e.kind is EventKind.NOTICE_EFFECTIVE_SOON
    ]
    assert [(e.payload["days"], e.occurred_at) for e in reminders] == [
        (30, given),
        (7, datetime(2027, 3, 5, 21, 30, tzinfo=UTC)),
    ]


def test_a_draft_has_no_dated_events() -> None:
    terms = reference().terms
    draft = CapacityAgreement.draft(terms, at=SIGNED, actor="t")
    assert schedule.due(draft, TERM_END) == []


def test_an_sla_breach_is_strictly_below_the_target() -> None:
    """Target 0.99; tiers: below 0.99 10 %, below 0.95 30 %, below 0.90 100 %."""
    deal, june = reference(), TRANCHES[1][0]

    def breach(ratio: str) -> model.Event | None:
        return model.sla_breached(
            deal, period="2026-06", period_start=june, availability_ratio=Decimal(ratio),
            source="manual", at=SIGNED,
        )  # fmt: skip

    assert breach("0.99") is None and breach("1") is None
    found = breach("0.989999")
    assert found is not None and found.kind is EventKind.SLA_BREACHED
    assert (
        found.payload["credit_share"] == "0.10" and found.payload["availability_target"] == "0.99"
    )
    assert breach("0.94") is not None and breach("0.94").payload["credit_share"] == "0.30"  # type: ignore[union-attr]
    assert breach("0.94").dedupe_key != found.dedupe_key  # type: ignore[union-attr]


def test_the_body_is_compact_json_with_sorted_keys() -> None:
    recorded = model.RecordedEvent(
        7, datetime(2026, 6, 2, tzinfo=UTC), schedule.due(reference(), SIGNED)[0]
    )
    assert model.body(recorded) == (
        b'{"agreement":"memphis-lease","data":{"capacity_share":"0.50","from":'
        b'"2026-05-01T05:00:00Z","tranche":1,"tranches":3},"id":7,"kind":'
        b'"agreement.ramp_milestone","occurred_at":"2026-05-01T05:00:00Z","operator":'
        b'"neocloud","recorded_at":"2026-06-02T00:00:00Z","tenant":"frontier-lab"}'
    )


BODY = b'{"id":1,"kind":"invoice.issued"}'
T = 1767225600  # 2026-01-01T00:00:00Z
# printf '%s' '1767225600.{"id":1,"kind":"invoice.issued"}' | openssl dgst -sha256 -hmac whsec_test
OPENSSL = "4d1865e1729161943bc446ac15e0b399e2bde159e73884c73bebdecceebeb07a"


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    assert signing.signature("whsec_test", T, BODY) == OPENSSL
    assert signing.signature_header("whsec_test", T, BODY) == f"t={T},v1={OPENSSL}"


def test_verify_accepts_the_signature_and_refuses_anything_else() -> None:
    header = f"t={T},v1={OPENSSL}"
    assert signing.verify("whsec_test", header, BODY, now_s=T + 300)
    assert signing.verify("whsec_test", f"t={T},v1={'0' * 64},v1={OPENSSL}", BODY, now_s=T)
    assert not signing.verify("whsec_other", header, BODY, now_s=T)
    assert not signing.verify("whsec_test", header, BODY + b" ", now_s=T)
    assert not signing.verify("whsec_test", header, BODY, now_s=T + 301)  # a replay
    assert not signing.verify("whsec_test", header, BODY, now_s=T - 301)
    assert not signing.verify("whsec_test", f"t={T + 1},v1={OPENSSL}", BODY, now_s=T)
    for bad in ("", f"v1={OPENSSL}", f"t=abc,v1={OPENSSL}", f"t={T}", "garbage"):
        assert not signing.verify("whsec_test", bad, BODY, now_s=T)


def test_retries_double_from_30_s_to_an_hour() -> None:
    assert [retry_delay_s(n) for n in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600,
    ]  # fmt: skip
    assert retry_delay_s(1000) == 3600
    # 30 + 60 + ... + 1920 = 3810 s to the 8th attempt; then 3600 s each
    assert waited_s(8) == 3810 and waited_s(31) == 3810 + 23 * 3600 == 86610


def pending(attempts: int) -> Delivery:
    return Delivery(1, 1, 1, DeliveryStatus.PENDING, attempts, SIGNED)


def test_a_delivery_is_given_up_on_the_first_attempt_24_h_after_the_first() -> None:
    """The 30th attempt comes 3810 + 22 x 3600 = 83,010 s after the first (< 24 h): retried;
    the 31st at 86,610 s (>= 86,400): given up."""
    refused = SendResult(None, "ConnectError: refused")
    thirtieth = after_attempt(pending(29), refused, SIGNED)
    assert thirtieth.status is DeliveryStatus.PENDING and thirtieth.attempts == 30
    assert thirtieth.next_attempt_at == SIGNED + timedelta(hours=1)
    last = after_attempt(pending(30), SendResult(503), SIGNED)
    assert last.status is DeliveryStatus.FAILED and last.next_attempt_at is None
    assert (last.attempts, last.last_status_code, last.last_error) == (31, 503, None)


def test_only_a_2xx_delivers() -> None:
    first = after_attempt(pending(0), SendResult(299), SIGNED)
    assert first.status is DeliveryStatus.DELIVERED and first.delivered_at == SIGNED
    for code in (199, 301, 404, 500):
        again = after_attempt(pending(0), SendResult(code), SIGNED)
        assert again.status is DeliveryStatus.PENDING
        assert again.next_attempt_at == SIGNED + timedelta(seconds=30)
    long = after_attempt(pending(0), SendResult(None, "x" * 900), SIGNED)
    assert long.last_error == "x" * 500


def test_urls_are_http_or_https_without_credentials() -> None:
    for good in ("http://127.0.0.1:8080/hook", "https://hooks.example.com/n?x=1"):
        assert check_url(good) == good
    for bad, why in (
        ("ftp://example.com/", "http:// or https://"),
        ("https://user:secret@example.com/", "credentials"),
        ("https://token@example.com/", "credentials"),
        ("http:///nohost", "no host"),
        ("https://example.com/#frag", "fragment"),
        ("https://example.com:99999/", "port"),
        ("https://exa mple.com/", "spaces"),
        ("example.com/hook", "http:// or https://"),
        ("https://example.com/" + "a" * 2000, "longer than 2000"),
    ):
        with pytest.raises(InvalidInput) as refused:
            check_url(bad)
        (problem,) = refused.value.problems
        assert problem.field == "url" and why in problem.message, bad
        assert "secret" not in str(problem.value) and "token" not in str(problem.value)


def test_a_tenant_webhook_wants_only_its_tenants_events() -> None:
    event = schedule.due(reference(), SIGNED)[0]  # frontier-lab's
    hook = Webhook(1, "http://h/", "s", "neocloud", None, frozenset(), SIGNED, "t")
    assert hook.wants(event)
    assert replace(hook, tenant="frontier-lab").wants(event)
    assert not replace(hook, tenant="other-lab").wants(event)
    assert not replace(hook, kinds=frozenset({EventKind.INVOICE_ISSUED})).wants(event)
    assert replace(hook, kinds=frozenset({EventKind.RAMP_MILESTONE})).wants(event)
    assert not replace(hook, removed_at=SIGNED).wants(event)
    assert "secret" not in repr(hook) and "'s'" not in repr(hook)
