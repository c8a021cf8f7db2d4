"""Roles, the one authorization rule and API keys (domain/access), worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from neocloud.domain.access.keys import ApiKey, check_new_key, digest, key_id_of, key_text
from neocloud.domain.access.policy import Area, Principal, Role, Verb, authorize
from neocloud.domain.kernel.errors import Forbidden, InvalidInput, NotFound

T0 = datetime(2027, 1, 1, tzinfo=UTC)
A = Area
# The policy as the issue states it, written out by hand: what each role may read / write.
READS = {
    Role.ADMIN: set(A),
    Role.OPERATOR: set(A) - {A.AUDIT, A.KEYS},
    Role.FINANCE: set(A) - {A.AUDIT, A.KEYS},
    Role.AUDITOR: set(A) - {A.KEYS},
    Role.TENANT: {A.AGREEMENT, A.ALLOCATION, A.METERING, A.BILLING, A.EVENTS},
}
WRITES = {
    Role.ADMIN: set(A),
    Role.OPERATOR: {A.FLEET, A.AGREEMENT, A.ALLOCATION, A.METERING, A.EVENTS},
    Role.FINANCE: {A.BILLING, A.EVENTS},
    Role.AUDITOR: set(),
    Role.TENANT: {A.AGREEMENT, A.EVENTS},  # its own objects only
}


def who(role: Role) -> Principal:
    return Principal("0123456789abcdef", role, "lab-a" if role is Role.TENANT else None)


@pytest.mark.parametrize("role", list(Role))
def test_the_policy_matrix(role: Role) -> None:
    for area in Area:
        for verb, allowed in ((Verb.READ, READS[role]), (Verb.WRITE, WRITES[role])):
            owner = "lab-a" if role is Role.TENANT else None
            if area in allowed:
                authorize(who(role), verb, area, owner)
            else:
                with pytest.raises(Forbidden, match=f"a {role} key may not {verb} {area}"):
                    authorize(who(role), verb, area, owner)


def test_a_tenant_is_told_another_tenants_object_does_not_exist() -> None:
    tenant = who(Role.TENANT)
    authorize(tenant, Verb.READ, Area.BILLING, "lab-a")
    for owner in ("lab-b", None):  # another tenant's, or the operator's own (a site)
        with pytest.raises(NotFound):
            authorize(tenant, Verb.READ, Area.BILLING, owner)
    with pytest.raises(Forbidden):  # a closed area is Forbidden before ownership is asked
        authorize(tenant, Verb.READ, Area.FLEET, "lab-b")
    authorize(who(Role.AUDITOR), Verb.READ, Area.BILLING, "lab-b")  # staff: any tenant's


def test_a_principal_names_a_tenant_exactly_when_it_is_a_tenant() -> None:
    with pytest.raises(InvalidInput):
        Principal("k", Role.TENANT, None)
    with pytest.raises(InvalidInput):
        Principal("k", Role.ADMIN, "lab-a")
    assert Principal("k", Role.FINANCE, label="ana").actor == "ana (api key k, finance)"


def key(**changes: object) -> ApiKey:
    fields: dict[str, object] = {
        "key_id": "0123456789abcdef", "role": Role.ADMIN, "tenant": None, "label": "ops",
        "created_at": T0, "secret_sha256": digest("nck_0123456789abcdef_" + "s" * 43),
    }  # fmt: skip
    fields.update(changes)
    return ApiKey(**fields)  # type: ignore[arg-type]


def test_expiry_is_half_open() -> None:
    ends = T0 + timedelta(days=30)
    k = key(expires_at=ends)
    assert (
        k.active(ends - timedelta(microseconds=1))
        and k.status(ends - timedelta(seconds=1)) == "active"
    )
    assert not k.active(ends) and k.status(ends) == "expired"


def test_revoked_from_the_instant_of_revocation() -> None:
    at = T0 + timedelta(hours=5)
    k = key(revoked_at=at)
    assert k.active(at - timedelta(microseconds=1))
    assert not k.active(at) and k.status(at) == "revoked"
    # revoked before it would have expired: it says revoked
    assert key(revoked_at=at, expires_at=at + timedelta(hours=1)).status(at) == "revoked"


def test_a_key_matches_only_its_own_text() -> None:
    text = "nck_0123456789abcdef_" + "s" * 43
    k = key()
    assert k.matches(text)
    assert not k.matches(text[:-1] + "t")
    assert key_id_of(text) == "0123456789abcdef"
    assert key_id_of("nck_0123456789abcde_" + "s" * 43) is None  # 15 hex digits
    assert key_id_of(text + "s") is None
    assert key_text("00ff", "x") == "nck_00ff_x"
    # the SHA-256 of "abc" (FIPS 180-2, appendix B.1)
    assert digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_a_new_key_is_checked_whole() -> None:
    assert check_new_key("tenant", "lab-a", "lab a", T0, None) is Role.TENANT
    with pytest.raises(InvalidInput) as refused:
        check_new_key("root", None, " ", T0, T0)
    fields = [p.field for p in refused.value.problems]
    assert fields == ["role", "label", "expires"]
    with pytest.raises(InvalidInput) as refused:
        check_new_key("tenant", None, "x", T0, None)
    assert [p.field for p in refused.value.problems] == ["tenant"]
    with pytest.raises(InvalidInput) as refused:
        check_new_key("admin", "lab-a", "x", T0, None)
    assert [(p.field, p.value) for p in refused.value.problems] == [("tenant", "lab-a")]


def test_refusals_are_said_word_for_word() -> None:
    with pytest.raises(InvalidInput) as refused:
        Principal("k", Role.TENANT, None)
    assert [str(p) for p in refused.value.problems] == [
        "tenant=None: a tenant key names one tenant; other roles name none"
    ]
    with pytest.raises(InvalidInput) as refused:
        Principal("k", Role.OPERATOR, "lab-a")
    assert [(p.field, p.value) for p in refused.value.problems] == [("tenant", "lab-a")]
    with pytest.raises(NotFound) as missing:
        authorize(who(Role.TENANT), Verb.READ, Area.BILLING, "lab-b")
    assert missing.value.message == "no such billing object"
    with pytest.raises(InvalidInput) as refused:
        check_new_key("root", "Lab A", "\x07" + "x" * 200, T0, T0, expires_field="expires_at")
    assert [str(p) for p in refused.value.problems] == [
        "role='root': must be one of admin, operator, finance, auditor, tenant",
        "tenant='Lab A': invalid name: lower-case letters, digits, '.', '_' or '-', 1-63 "
        "characters, alphanumeric at both ends",
        "label='\\x07" + "x" * 200 + "': must be 1-200 printable characters, not blank",
        "expires_at='2027-01-01T00:00:00+00:00': must be after now (2027-01-01T00:00:00+00:00)",
    ]
    with pytest.raises(InvalidInput) as refused:
        check_new_key("tenant", None, "x", T0, None)
    assert [str(p) for p in refused.value.problems] == [
        "tenant=None: a tenant key must name its tenant (--tenant)"
    ]
    with pytest.raises(InvalidInput) as refused:
        check_new_key("finance", "lab-a", "x", T0, None)
    assert [str(p) for p in refused.value.problems] == [
        "tenant='lab-a': only a tenant key names a tenant, not finance"
    ]


def test_label_and_expiry_at_their_edges() -> None:
    assert check_new_key("admin", None, "x" * 200, T0, T0 + timedelta(microseconds=1)) is Role.ADMIN
    for label in ("x" * 201, "", "   ", "tab\there"):
        with pytest.raises(InvalidInput):
            check_new_key("admin", None, label, T0, None)


def test_key_instants_must_be_aware_utc() -> None:
    naive = datetime(2026, 12, 15, 9, 0)
    for name in ("created_at", "expires_at", "revoked_at"):
        with pytest.raises(InvalidInput) as refused:
            key(**{name: naive})
        assert refused.value.problems[0].field == name
    moved = key(expires_at=datetime(2027, 1, 1, 3, 0, tzinfo=timezone(timedelta(hours=3))))
    assert moved.expires_at == datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    assert moved.expires_at.tzinfo is UTC
