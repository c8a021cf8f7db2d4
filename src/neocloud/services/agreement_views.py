"""Reading agreements: one, a list, recorded availability, the capacity release, value.

Kept apart from the use cases that change agreements so that a read command imports neither
the file parser nor billing (bench/startup.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from neocloud.domain.agreements.model import CapacityAgreement
from neocloud.domain.billing.recognition import RevenueMonth, revenue_schedule
from neocloud.domain.billing.value import DealValue, deal_value
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Moment, resolve
from neocloud.services.context import Context
from neocloud.services.observability import use_case

if TYPE_CHECKING:  # protocols for type checking only: importing them costs start-up time
    from neocloud.services.ports import UnitOfWork


@use_case("agreement.get")
def get_agreement(uow: UnitOfWork, key: str) -> CapacityAgreement:
    with uow:
        return uow.agreements.get(key)


@dataclass(frozen=True)
class AgreementDetails:
    """An agreement with what is recorded about it, read in one transaction."""

    agreement: CapacityAgreement
    availability: list[tuple[str, Decimal, datetime]]
    """(period, ratio, recorded at) of every availability recorded, in period order."""
    release: tuple[datetime, str] | None
    """When the agreement's capacity is released (its service ended early), and why."""


@use_case("agreement.details")
def agreement_details(uow: UnitOfWork, key: str) -> AgreementDetails:
    with uow:
        agreement = uow.agreements.get(key)
        site = agreement.terms.site
        releases = [(at, why) for k, _, at, why in uow.agreements.releases(site) if k == key]
        return AgreementDetails(
            agreement, uow.agreements.availabilities(key), releases[0] if releases else None
        )


@use_case("agreement.list")
def list_agreements(
    uow: UnitOfWork, *, site: str | None = None, tenant: str | None = None
) -> list[CapacityAgreement]:
    with uow:
        return [uow.agreements.get(k) for k in uow.agreements.all_keys(site=site, tenant=tenant)]


@use_case("agreement.value")
def value_agreement(
    uow: UnitOfWork, ctx: Context, key: str, as_of: Moment | None = None
) -> DealValue:
    """What the deal is worth at ``as_of`` (a date: local midnight in its billing zone)."""
    with uow:
        agreement = uow.agreements.get(key)
        billed = [i.total for i in uow.invoices.list(key)]
    when = resolve(as_of, agreement.terms.billing_timezone, "as_of") if as_of else ctx.clock.now()
    return deal_value(agreement, when, billed)


@use_case("economics.revenue")
def revenue(uow: UnitOfWork, key: str) -> tuple[CapacityAgreement, list[RevenueMonth]]:
    """The agreement's months: billed, recognized both ways, balance, backlog both ways."""
    with uow:
        agreement = uow.agreements.get(key)
    if agreement.signed_at is None:
        raise InvalidInput.single(
            "agreement", key, "is a draft: it has no revenue or backlog until it is signed"
        )
    return agreement, revenue_schedule(agreement)


@use_case("agreement.recorded_availability")
def recorded_availability(uow: UnitOfWork, key: str, period: str) -> tuple[Decimal, str] | None:
    """The availability recorded for the agreement's month and where it came from."""
    with uow:
        uow.agreements.get(key)
        return uow.agreements.recorded_availability(key, period)
