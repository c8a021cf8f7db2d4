"""Bounds checked at the door, so that nothing accepted can fail later: free text, numbers,
capacity against the site, amounts against what the store keeps, notice against the
signature. Expected values are worked by hand here."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neocloud.adapters.yamlfile import parse_document
from neocloud.domain.agreements.file import parse_terms
from neocloud.domain.agreements.model import CapacityAgreement, ContractedCapacity, Party
from neocloud.domain.allocation.planner import check_fits_site
from neocloud.domain.billing.drafts import check_storable
from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.fleet.capacity import SiteSummary, hall_totals
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.errors import InvalidInput, Problem
from neocloud.domain.kernel.instants import parse_instant, parse_moment
from neocloud.domain.kernel.money import decimal_places, number_text, to_decimal
from neocloud.domain.kernel.quantities import Power, PowerBasis, check_gpus, check_mw
from neocloud.domain.kernel.text import check_text, printable, text_problem
from neocloud.render.invoices import csv_cell
from tests import factories


def only(err: pytest.ExceptionInfo[InvalidInput]) -> Problem:
    (problem,) = err.value.problems
    return problem


# -- free text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "code"),
    [
        ("\x1b[2J\x1b[31mPAID IN FULL", 1, "U+001B"),  # ESC: repaints a terminal
        ("Site \u202eenO", 6, "U+202E"),  # right-to-left override: reads backwards
        ("a\u200bb", 2, "U+200B"),  # zero-width space
        ("tab\there", 4, "U+0009"),  # not in a one-line field
        ("x\ny", 2, "U+000A"),
        ("nbsp\u00a0", 5, "U+00A0"),  # a space that is not the space
    ],
)
def test_free_text_with_hidden_characters_is_refused(text: str, position: int, code: str) -> None:
    problem = text_problem(text, "display_name", max_length=200)
    assert problem is not None
    assert problem.message.startswith(f"holds the invisible or control character {code}")
    assert problem.message.endswith(f"at position {position}")


def test_free_text_length_and_emptiness() -> None:
    assert check_text("Memphis, TN — site 1 [bold]", "x", max_length=27) == (
        "Memphis, TN — site 1 [bold]"  # markup is just text: the output never renders it
    )
    with pytest.raises(InvalidInput) as err:
        check_text("a" * 201, "reason", max_length=200)
    assert only(err).message == "is longer than 200 characters"
    for empty in ("", "   ", None, 5):
        with pytest.raises(InvalidInput, match="must be non-empty text"):
            check_text(empty, "reason", max_length=200)
    assert check_text("line one\nline two", "note", max_length=50, multiline=True)


def test_printable_shows_hidden_characters_as_escapes() -> None:
    assert printable("\x1b[31mPAID\u202e\n\tok") == "\\x1b[31mPAID\\u202e\n\tok"
    assert printable("Zürich [/] plain") == "Zürich [/] plain"


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("\tx", "'\tx"),
        ("-1250000000.00", "-1250000000.00"),  # a credit note's amount stays a number
        ("-7", "-7"),
        ("Credit against INV-1: goodwill", "Credit against INV-1: goodwill"),
        (3, 3),
    ],
)
def test_a_csv_cell_cannot_start_a_formula(cell: object, written: object) -> None:
    assert csv_cell(cell) == written


# -- numbers and instants ----------------------------------------------------------------


def test_decimal_places_count_what_is_written_without_rounding() -> None:
    assert decimal_places(Decimal("1.50")) == 1
    assert decimal_places(Decimal("20.0000000000000000000000000000001")) == 31  # 33 digits
    assert decimal_places(Decimal("2E+3")) == 0
    assert decimal_places(Decimal(7)) == 0
    assert number_text(Decimal("9e12")) == "9,000,000,000,000"
    assert number_text(Decimal("0.5")) == "0.5"


@pytest.mark.parametrize(
    ("value", "field", "message"),
    [
        (0, "gpus", "must be a whole number from 1 to 10,000,000"),
        (-5, "gpus", "must be a whole number from 1 to 10,000,000"),
        (10**40, "gpus", "must be a whole number from 1 to 10,000,000"),
        (True, "gpus", "must be a whole number from 1 to 10,000,000"),
    ],
)
def test_gpu_counts_are_bounded(value: object, field: str, message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_gpus(value)
    assert only(err) == Problem(field, value, message)
    assert check_gpus(10_000_000) == 10_000_000


def test_megawatts_are_bounded_and_to_the_watt() -> None:
    assert check_mw(Decimal("300")) == Decimal(300)
    assert check_mw(Decimal("0.000001")) == Decimal("0.000001")  # one watt
    for bad, message in (
        (Decimal(0), "must be more than 0 and at most 100,000"),
        (Decimal("-0"), "must be more than 0 and at most 100,000"),
        (Decimal("100000.000001"), "must be more than 0 and at most 100,000"),
        (Decimal("1.0000001"), "has more than 6 decimal places (1 W)"),
        ("1e400", "must be less than 9,000,000,000,000"),
    ):
        with pytest.raises(InvalidInput) as err:
            check_mw(bad)
        assert only(err).message == message


@given(text=st.text(max_size=40))
def test_any_text_is_a_number_or_a_refusal(text: str) -> None:
    try:
        value = to_decimal(text, "amount")
    except InvalidInput as exc:
        assert only_field(exc) == "amount"
    else:
        assert value.is_finite() and value.copy_abs() < Decimal("9e12")
        assert text.isascii()


@given(text=st.text(max_size=40))
def test_any_text_is_a_moment_or_a_refusal(text: str) -> None:
    for parse in (parse_moment, parse_instant):
        try:
            parse(text, "at")
        except InvalidInput as exc:
            assert only_field(exc) == "at"


@given(text=st.text(max_size=12))
def test_any_text_is_a_period_or_a_refusal(text: str) -> None:
    try:
        BillingPeriod.parse(text, "America/Chicago")
    except InvalidInput as exc:
        assert only_field(exc) == "period"


def only_field(exc: InvalidInput) -> str:
    (problem,) = exc.problems
    return problem.field


# -- contracts against their site and the store -------------------------------------------


def small_site(racks: int = 2) -> SiteSummary:
    (site,) = parse_fleet(factories.fleet(factories.site_document("test-1", racks=racks)))
    return SiteSummary(site, hall_totals(site))


def test_a_contract_must_fit_its_site() -> None:
    site = small_site(racks=2)  # 2 racks x 8 nodes x 8 H100 = 128 GPUs; 10 MW facility
    check_fits_site(ContractedCapacity(gpus=128, gpu_model="H100"), site)
    check_fits_site(ContractedCapacity(power=Power.from_mw(Decimal(10), PowerBasis.FACILITY)), site)
    cases = [
        (
            ContractedCapacity(gpus=129, gpu_model="H100"),
            Problem("agreement.capacity.gpus", 129, "site test-1 has 128 H100 GPUs in all"),
        ),
        (
            ContractedCapacity(gpus=8, gpu_model="H900"),
            Problem(
                "agreement.capacity.gpu_model",
                "H900",
                "site test-1 has no GPUs of this model (it has: 128 H100)",
            ),
        ),
        (
            ContractedCapacity(power=Power.from_mw(Decimal("10.000001"), PowerBasis.FACILITY)),
            Problem(
                "agreement.capacity.facility_mw",
                Decimal("10.000001"),
                "site test-1 takes 10 MW facility power in all",
            ),
        ),
        (  # 8.4 MW IT x PUE 1.2 = 10.08 MW facility
            ContractedCapacity(power=Power.from_mw(Decimal("8.4"), PowerBasis.IT)),
            Problem(
                "agreement.capacity.it_mw",
                Decimal("8.4"),
                "site test-1 takes 10 MW facility power in all",
            ),
        ),
    ]
    for capacity, expected in cases:
        with pytest.raises(InvalidInput) as err:
            check_fits_site(capacity, site)
        assert only(err) == expected


def agreement(**changes: object) -> CapacityAgreement:
    terms = parse_terms(SourceDocument("a.yaml", factories.agreement_document(**changes)))
    return CapacityAgreement.draft(terms, at=factories.SIGNED_AT, actor="t")


def test_every_invoice_an_agreement_can_produce_must_be_storable() -> None:
    """KRW 1,700,000,000,000 a month for 2027 (12 months, KRW 20.4 trillion in all)."""
    fee = Decimal("1700000000000")
    # 10 % prepaid: 2.04 T; the largest invoice 1.7 T + 2.04 T = 3.74 T: storable
    check_storable(
        agreement(currency="KRW", monthly_fee=fee, prepayment={"share_of_value": Decimal("0.1")})
    )
    # 40 % prepaid: 8.16 T; 1.7 T + 8.16 T = 9.86 T >= 9 T: the store could not keep it
    with pytest.raises(InvalidInput) as err:
        check_storable(
            agreement(
                currency="KRW", monthly_fee=fee, prepayment={"share_of_value": Decimal("0.4")}
            )
        )
    assert only(err) == Problem(
        "agreement.monthly_fee",
        "KRW 1,700,000,000,000",
        "an invoice of this agreement could reach KRW 9,860,000,000,000 (its largest month, "
        "prepayment and termination fee), more than neocloud keeps exactly: amounts must "
        "stay below 9,000,000,000,000",
    )


@pytest.mark.parametrize(
    ("currency", "fee", "places"), [("USD", "1000000.005", 2), ("JPY", "1000.5", 0)]
)
def test_a_fee_is_in_whole_minor_units_of_its_currency(
    currency: str, fee: str, places: int
) -> None:
    with pytest.raises(InvalidInput) as err:
        agreement(currency=currency, monthly_fee=Decimal(fee))
    assert only(err).message == f"has more than {places} decimal places; refusing to round"
    with pytest.raises(InvalidInput) as err:
        agreement(
            termination={"notice_days": 90, "may_give_notice": ["tenant"], "fee": Decimal(fee)},
            currency=currency,
            monthly_fee=Decimal(1000),
        )
    assert only(err).field == "agreement.termination.fee"


@pytest.mark.parametrize("start", ["0001-01-01", "1999-12-31", "2200-01-01"])
def test_a_term_outside_the_years_neocloud_takes_is_refused(start: str) -> None:
    with pytest.raises(InvalidInput) as err:
        agreement(term={"start": start, "end": "2201-01-01"})
    fields = {(p.field, p.message) for p in err.value.problems}
    assert ("agreement.term.start", "must be in the years 2000 to 2199") in fields


def test_notice_cannot_be_dated_before_the_signature() -> None:
    deal = factories.signed_agreement()  # signed 2026-12-01 00:00Z, term from 2027-01-01
    with pytest.raises(InvalidInput, match="notice must be given within the term"):
        deal.give_notice(by=Party.TENANT, at=datetime(2026, 12, 15, tzinfo=UTC))
    late_signature = CapacityAgreement.draft(deal.terms, at=factories.SIGNED_AT, actor="t")
    late_signature.sign(datetime(2027, 3, 1, tzinfo=UTC))  # signed two months into the term
    with pytest.raises(InvalidInput) as err:
        late_signature.give_notice(by=Party.TENANT, at=datetime(2027, 2, 1, 6, tzinfo=UTC))
    assert only(err) == Problem(
        "at",
        "2027-02-01T06:00:00+00:00",
        "is before the agreement was signed (2027-03-01T00:00:00+00:00)",
    )
    notice = late_signature.give_notice(by=Party.TENANT, at=datetime(2027, 3, 1, tzinfo=UTC))
    assert notice.given_at == datetime(2027, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "yaml", "message"),
    [
        ("agreement.key", "key: ~", "is required"),
        ("agreement.operator", "operator: ~", "is required"),
        ("agreement.termination.may_give_notice[0]", None, "must be one of operator, tenant"),
        ("agreement.termination.notice_effective", None, None),
        ("agreement.billing_timezone", "billing_timezone: localtime", "not an IANA time zone"),
    ],
)
def test_the_agreement_file_checks_each_field(
    field: str, yaml: str | None, message: str | None
) -> None:
    base = (
        "version: 1\nagreement:\n  key: deal-1\n  operator: neocloud\n  tenant: lab-a\n"
        "  site: test-1\n  capacity: {facility_mw: 1}\n"
        "  term: {start: 2027-01-01, end: 2028-01-01}\n"
        "  billing_timezone: America/Chicago\n  currency: USD\n  monthly_fee: 1000.00\n"
        "  termination: {notice_days: 90, may_give_notice: [tenant]}\n"
    )
    if yaml is not None:
        name = yaml.split(":")[0]
        lines = [
            f"  {yaml}" if line.startswith(f"  {name}:") else line for line in base.split("\n")
        ]
        text = "\n".join(lines)
    elif field.endswith("may_give_notice[0]"):
        text = base.replace("may_give_notice: [tenant]", "may_give_notice: [[tenant]]")
    else:
        text = base.replace("may_give_notice: [tenant]", "may_give_notice: [tenant], "
                            "notice_effective: [end_of_day]")  # fmt: skip
        message = "must be one of same_local_time, end_of_day, end_of_month"
    with pytest.raises(InvalidInput) as err:
        parse_terms(parse_document(text, "a.yaml"))
    problem = only(err)
    assert problem.field == field
    assert message is not None and problem.message.startswith(message)
