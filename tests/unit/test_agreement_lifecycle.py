"""An agreement's life in the domain model: draft, transitions, notice, amendments and
termination for late delivery. Each refusal names the field and the value the user wrote;
each expected instant and message is worked out here from the contract's words
(docs/AGREEMENT_FORMAT.md). The factory deal runs 2027-01-01..2028-01-01 in Chicago: local
midnight is 06:00Z in winter (CST) and 05:00Z in summer (CDT)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from neocloud.domain.agreements.file import parse_terms
from neocloud.domain.agreements.model import (
    AgreementTerms,
    CapacityAgreement,
    ContractedCapacity,
    Party,
    Status,
)
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from neocloud.domain.kernel.quantities import Power, PowerBasis
from tests import factories

TERM_START = datetime(2027, 1, 1, 6, tzinfo=UTC)  # midnight CST
TERM_END = datetime(2028, 1, 1, 6, tzinfo=UTC)  # midnight CST
NAIVE = datetime(2027, 3, 1, 12)  # no offset: refused wherever an instant is taken
RECORDED = datetime(2027, 3, 1, tzinfo=UTC)


def terms(**changes: object) -> AgreementTerms:
    return parse_terms(SourceDocument("amend.yaml", factories.agreement_document(**changes)))


def only_problem(err: pytest.ExceptionInfo[InvalidInput]) -> tuple[str, object, str]:
    (problem,) = err.value.problems
    return problem.field, problem.value, problem.message


# -- draft and transitions ---------------------------------------------------------------


def test_a_draft_is_version_1_from_the_start_of_the_term() -> None:
    at = datetime(2026, 11, 20, 15, tzinfo=UTC)
    deal = CapacityAgreement.draft(terms(), at=at, actor="alice")
    assert (deal.key, deal.status, deal.notice) == ("deal-1", Status.DRAFT, None)
    (version,) = deal.versions
    assert (version.number, version.effective_from) == (1, TERM_START)
    assert (version.recorded_at, version.actor, version.note) == (at, "alice", "")
    assert version.terms == terms()
    assert deal.history == [(Status.DRAFT, at)]


def test_a_draft_refuses_a_naive_instant_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as err:
        CapacityAgreement.draft(terms(), at=NAIVE, actor="alice")
    field, value, message = only_problem(err)
    assert (field, value) == ("at", "2027-03-01T12:00:00")
    assert "naive" in message


def test_the_drafts_history_is_in_utc() -> None:
    chicago = timezone(timedelta(hours=-6))
    at = datetime(2026, 11, 20, 9, tzinfo=chicago)  # 15:00Z
    deal = CapacityAgreement.draft(terms(), at=at, actor="alice")
    assert deal.versions[0].recorded_at.tzinfo is UTC
    assert deal.history[0][1].tzinfo is UTC


def test_signing_appends_to_the_history() -> None:
    drafted, signed = datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)
    deal = CapacityAgreement.draft(terms(), at=drafted, actor="alice")
    deal.sign(signed)
    assert deal.status is Status.SIGNED
    assert deal.history == [(Status.DRAFT, drafted), (Status.SIGNED, signed)]


def test_a_refused_transition_names_the_states_allowed() -> None:
    deal = factories.signed_agreement()
    with pytest.raises(InvalidTransition) as err:
        deal.transition(Status.EXPIRED, TERM_START)
    # the table: signed -> commissioning, active or notice_given, listed in name order
    assert err.value.message == (
        "agreement deal-1 is signed; cannot become expired "
        "(allowed: active, commissioning, notice_given)"
    )
    assert deal.status is Status.SIGNED


def test_a_final_state_allows_nothing() -> None:
    deal = factories.signed_agreement()
    assert deal.advance_to(TERM_END) == [Status.ACTIVE, Status.EXPIRED]
    with pytest.raises(InvalidTransition) as err:
        deal.transition(Status.ACTIVE, TERM_END)
    assert err.value.message == (
        "agreement deal-1 is expired; cannot become active (allowed: none (final))"
    )


def test_a_transition_refuses_a_naive_instant_naming_the_field() -> None:
    deal = factories.signed_agreement()
    with pytest.raises(InvalidInput) as err:
        deal.transition(Status.ACTIVE, NAIVE)
    assert only_problem(err)[:2] == ("at", "2027-03-01T12:00:00")


def test_a_refused_naive_transition_leaves_the_state_unchanged() -> None:
    deal = factories.signed_agreement()
    with pytest.raises(InvalidInput):
        deal.transition(Status.ACTIVE, NAIVE)
    assert deal.status is Status.SIGNED
    assert deal.history[-1][0] is Status.SIGNED


# -- date-driven steps ---------------------------------------------------------------------

ONE_MONTH_RAMP = [
    {
        "start": "2027-01-01",
        "end": "2027-02-01",
        "capacity_share": Decimal("0.5"),
        "price_factor": Decimal("0.5"),
    }
]


def test_steps_are_taken_exactly_at_their_dates() -> None:
    deal = factories.signed_agreement(ramp=ONE_MONTH_RAMP)
    ramp_end = datetime(2027, 2, 1, 6, tzinfo=UTC)
    assert deal.advance_to(TERM_START - timedelta(microseconds=1)) == []
    assert deal.advance_to(TERM_START) == [Status.COMMISSIONING]
    assert deal.advance_to(ramp_end) == [Status.ACTIVE]
    assert deal.advance_to(TERM_END) == [Status.EXPIRED]
    assert deal.history[1:] == [
        (Status.SIGNED, factories.SIGNED_AT),
        (Status.COMMISSIONING, TERM_START),
        (Status.ACTIVE, ramp_end),
        (Status.EXPIRED, TERM_END),
    ]


def test_without_a_ramp_the_term_start_makes_it_active() -> None:
    deal = factories.signed_agreement()
    assert deal.advance_to(TERM_START) == [Status.ACTIVE]


def test_the_notice_terminates_it_at_its_effective_instant() -> None:
    deal = factories.signed_agreement()
    deal.advance_to(TERM_START)
    notice = deal.give_notice(by=Party.TENANT, at=datetime(2027, 2, 1, 6, tzinfo=UTC))
    # 90 calendar days from midnight CST February 1st: May 2nd, midnight CDT
    assert notice.effective_at == datetime(2027, 5, 2, 5, tzinfo=UTC)
    assert deal.advance_to(notice.effective_at) == [Status.TERMINATED]
    assert deal.history[-1] == (Status.TERMINATED, notice.effective_at)


# -- notice ----------------------------------------------------------------------------------


def test_notice_refuses_a_naive_instant_naming_the_field() -> None:
    deal = factories.signed_agreement()
    with pytest.raises(InvalidInput) as err:
        deal.give_notice(by=Party.TENANT, at=NAIVE)
    assert only_problem(err)[:2] == ("at", "2027-03-01T12:00:00")


def test_notice_by_a_party_the_contract_does_not_name() -> None:
    deal = factories.signed_agreement(
        termination={"notice_days": 90, "may_give_notice": ["tenant"]}
    )
    with pytest.raises(Forbidden) as err:
        deal.give_notice(by=Party.OPERATOR, at=datetime(2027, 2, 1, tzinfo=UTC))
    assert err.value.message == "the operator may not give notice under agreement deal-1"


def test_notice_before_the_term_names_the_instant() -> None:
    deal = factories.signed_agreement()
    before = TERM_START - timedelta(seconds=1)
    with pytest.raises(InvalidInput) as err:
        deal.give_notice(by=Party.TENANT, at=before)
    assert only_problem(err) == (
        "at",
        "2027-01-01T05:59:59+00:00",
        "notice must be given within the term",
    )


def test_notice_taking_effect_exactly_at_the_end_of_the_term_is_refused() -> None:
    deal = factories.signed_agreement()
    # midnight CDT October 3rd + 90 calendar days = midnight CST January 1st 2028, the end
    # (October 29 days left + November 30 + December 31 = 90)
    given = datetime(2027, 10, 3, 5, tzinfo=UTC)
    with pytest.raises(Conflict) as err:
        deal.give_notice(by=Party.TENANT, at=given)
    assert err.value.message == (
        "notice given 2027-10-03T05:00:00+00:00 would take effect 2028-01-01T06:00:00+00:00, "
        "after the term ends 2028-01-01T06:00:00+00:00: the agreement expires first"
    )
    assert deal.status is Status.SIGNED and deal.notice is None
    # a second earlier it takes effect a second before the end
    notice = deal.give_notice(by=Party.TENANT, at=given - timedelta(seconds=1))
    assert notice.effective_at == TERM_END - timedelta(seconds=1)


# -- amendments ------------------------------------------------------------------------------

APRIL_16 = datetime(2027, 4, 16, 5, tzinfo=UTC)  # midnight CDT


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("key", "deal-2"),
        ("operator", "other-operator"),
        ("tenant", "lab-b"),
        ("site", "test-2"),
        ("currency", "EUR"),
        ("billing_timezone", "America/New_York"),
    ],
)
def test_an_amendment_cannot_change_who_where_or_in_what(name: str, value: str) -> None:
    deal = factories.signed_agreement()
    with pytest.raises(InvalidInput) as err:
        deal.amend(terms(**{name: value}), effective_from=APRIL_16, at=RECORDED, actor="bob")
    assert only_problem(err) == (name, value, f"an amendment cannot change {name}")
    assert len(deal.versions) == 1


def test_an_amendment_cannot_move_the_start_of_the_term() -> None:
    deal = factories.signed_agreement()
    moved = terms(term={"start": "2027-02-01", "end": "2028-01-01"})
    with pytest.raises(InvalidInput) as err:
        deal.amend(moved, effective_from=APRIL_16, at=RECORDED, actor="bob")
    assert only_problem(err) == (
        "term.start",
        "2027-02-01T06:00:00+00:00",
        "an amendment cannot move the start of the term",
    )


@pytest.mark.parametrize(
    ("effective_from", "text"),
    [
        (TERM_START, "2027-01-01T06:00:00+00:00"),  # the first version's own start
        (TERM_END, "2028-01-01T06:00:00+00:00"),  # the end of the term
    ],
)
def test_an_amendment_takes_effect_strictly_inside_the_term(
    effective_from: datetime, text: str
) -> None:
    deal = factories.signed_agreement()
    with pytest.raises(InvalidInput) as err:
        deal.amend(terms(), effective_from=effective_from, at=RECORDED, actor="bob")
    assert only_problem(err) == (
        "effective_from",
        text,
        "must fall after the last version took effect and before the end of the term",
    )
    # an instant either side of the bounds is inside
    second = timedelta(seconds=1)
    deal.amend(terms(), effective_from=TERM_START + second, at=RECORDED, actor="bob")
    deal.amend(terms(), effective_from=TERM_END - second, at=RECORDED, actor="bob")
    assert [v.number for v in deal.versions] == [1, 2, 3]


def test_an_amendment_takes_effect_after_the_last_one() -> None:
    deal = factories.signed_agreement()
    deal.amend(terms(), effective_from=APRIL_16, at=RECORDED, actor="bob")
    with pytest.raises(InvalidInput) as err:
        deal.amend(terms(), effective_from=APRIL_16, at=RECORDED, actor="bob")
    assert only_problem(err)[:2] == ("effective_from", "2027-04-16T05:00:00+00:00")


def test_an_amendment_is_a_new_numbered_version() -> None:
    deal = factories.signed_agreement()
    raised = terms(monthly_fee=Decimal("2000000.00"))
    second = deal.amend(raised, effective_from=APRIL_16, at=RECORDED, actor="bob")
    assert second == deal.versions[1]
    assert (second.number, second.effective_from, second.terms) == (2, APRIL_16, raised)
    assert (second.recorded_at, second.actor, second.note) == (RECORDED, "bob", "")
    june = datetime(2027, 6, 1, 5, tzinfo=UTC)
    third = deal.amend(terms(), effective_from=june, at=RECORDED, actor="carol", note="back")
    assert (third.number, third.actor, third.note) == (3, "carol", "back")
    assert deal.version_boundaries() == [APRIL_16, june]


@pytest.mark.parametrize("which", ["effective_from", "at"])
def test_an_amendment_refuses_naive_instants_naming_the_field(which: str) -> None:
    deal = factories.signed_agreement()
    instants = {"effective_from": APRIL_16, "at": RECORDED, which: NAIVE}
    with pytest.raises(InvalidInput) as err:
        deal.amend(
            terms(), effective_from=instants["effective_from"], at=instants["at"], actor="bob"
        )
    assert only_problem(err)[:2] == (which, "2027-03-01T12:00:00")
    assert len(deal.versions) == 1


def test_an_ended_agreement_cannot_be_amended() -> None:
    expired = factories.signed_agreement()
    expired.advance_to(TERM_END)
    terminated = factories.signed_agreement()
    notice = terminated.give_notice(by=Party.TENANT, at=datetime(2027, 2, 1, 6, tzinfo=UTC))
    terminated.advance_to(notice.effective_at)
    for deal, state in ((expired, "expired"), (terminated, "terminated")):
        with pytest.raises(InvalidTransition) as err:
            deal.amend(terms(), effective_from=APRIL_16, at=RECORDED, actor="bob")
        assert err.value.message == f"agreement deal-1 is {state}; it cannot change"


# -- tranches and termination for late delivery ------------------------------------------

TWO_PHASE_RAMP = [
    {
        "start": "2027-01-01",
        "end": "2027-02-01",
        "capacity_share": Decimal("0.5"),
        "price_factor": Decimal("0.5"),
    },
    {
        "start": "2027-02-01",
        "end": "2027-03-01",
        "capacity_share": Decimal("0.8"),
        "price_factor": Decimal("0.8"),
    },
]
FEB_1 = datetime(2027, 2, 1, 6, tzinfo=UTC)
MAR_1 = datetime(2027, 3, 1, 6, tzinfo=UTC)


def late_deal(grace_days: int = 10) -> CapacityAgreement:
    termination = {
        "notice_days": 90,
        "may_give_notice": ["tenant"],
        "late_delivery_grace_days": grace_days,
    }
    return factories.signed_agreement(ramp=TWO_PHASE_RAMP, termination=termination)


def test_tranches_follow_the_ramp_then_all_of_it() -> None:
    assert factories.signed_agreement().tranches() == [(TERM_START, Decimal(1))]
    assert late_deal().tranches() == [
        (TERM_START, Decimal("0.5")),
        (FEB_1, Decimal("0.8")),
        (MAR_1, Decimal(1)),
    ]


def test_no_tranche_starts_at_or_after_the_end_of_service() -> None:
    deal = late_deal()
    deal.terminate_for_late_delivery(
        tranche_start=TERM_START, at=FEB_1, delivered_share=Decimal("0.4")
    )
    assert deal.service_end == FEB_1
    assert deal.tranches() == [(TERM_START, Decimal("0.5"))]


@pytest.mark.parametrize("which", ["at", "tranche"])
def test_late_delivery_refuses_naive_instants_naming_the_field(which: str) -> None:
    deal = late_deal()
    at, tranche = (NAIVE, TERM_START) if which == "at" else (MAR_1, NAIVE)
    with pytest.raises(InvalidInput) as err:
        deal.terminate_for_late_delivery(tranche_start=tranche, at=at, delivered_share=Decimal(0))
    assert only_problem(err)[:2] == (which, "2027-03-01T12:00:00")


def test_late_delivery_names_the_tranches_there_are() -> None:
    deal = late_deal()
    wrong = TERM_START + timedelta(days=1)
    with pytest.raises(InvalidInput) as err:
        deal.terminate_for_late_delivery(tranche_start=wrong, at=MAR_1, delivered_share=Decimal(0))
    assert only_problem(err) == (
        "tranche",
        "2027-01-02T06:00:00+00:00",
        "no tranche starts then; tranches start 2027-01-01T06:00:00+00:00, "
        "2027-02-01T06:00:00+00:00, 2027-03-01T06:00:00+00:00",
    )


def test_late_delivery_waits_for_the_end_of_the_grace_period() -> None:
    deal = late_deal()
    deadline = datetime(2027, 2, 11, 6, tzinfo=UTC)  # February 1st + 10 calendar days, CST
    early = deadline - timedelta(seconds=1)
    with pytest.raises(InvalidInput) as err:
        deal.terminate_for_late_delivery(tranche_start=FEB_1, at=early, delivered_share=Decimal(0))
    assert only_problem(err) == (
        "at",
        "2027-02-11T05:59:59+00:00",
        "the grace period for this tranche runs until 2027-02-11T06:00:00+00:00",
    )
    assert deal.status is Status.SIGNED


def test_a_tranche_delivered_exactly_in_full_gives_no_right() -> None:
    deal = late_deal()
    deadline = datetime(2027, 2, 11, 6, tzinfo=UTC)
    with pytest.raises(Conflict) as err:
        deal.terminate_for_late_delivery(
            tranche_start=FEB_1, at=deadline, delivered_share=Decimal("0.8")
        )
    assert err.value.message == (
        "the tranche was delivered in time: 80.0% of the capacity was held at "
        "2027-02-11T06:00:00+00:00, 80% was due"
    )
    assert deal.status is Status.SIGNED and deal.notice is None


def test_a_tranche_short_of_its_share_ends_the_agreement_at_once() -> None:
    deal = late_deal()
    at = datetime(2027, 2, 20, 15, tzinfo=UTC)
    notice = deal.terminate_for_late_delivery(
        tranche_start=FEB_1, at=at, delivered_share=Decimal("0.7999")
    )
    assert (notice.given_by, notice.given_at, notice.effective_at) == (Party.TENANT, at, at)
    assert deal.notice == notice
    assert deal.status is Status.NOTICE_GIVEN
    assert deal.history[-1] == (Status.NOTICE_GIVEN, at)


# -- what is sold ----------------------------------------------------------------------------


def test_contracted_capacity_says_what_is_sold() -> None:
    power = Power(Decimal(300_000), PowerBasis.FACILITY)
    assert str(ContractedCapacity(power=power)) == "300.000 MW FACILITY"
    assert str(ContractedCapacity(gpus=216_640, gpu_model="H100")) == "216,640 H100 GPUs"
