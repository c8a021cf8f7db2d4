"""Webhook rules worked by hand: the retry schedule (30 s doubling, capped at 1 h, given up
on the 31st attempt), what an attempt leaves on the delivery, the URL rule and its words,
and the public-address rule for tenants' webhooks (literal addresses, legacy IPv4 forms,
IPv4 inside IPv6, localhost)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from neocloud.domain.events.webhooks import (
    FIRST_RETRY_S,
    MAX_ERROR,
    MAX_RETRY_S,
    MAX_URL,
    RETRY_FOR_S,
    Delivery,
    DeliveryStatus,
    SendResult,
    after_attempt,
    check_public_url,
    check_url,
    parse_status,
    retry_delay_s,
    waited_s,
)
from neocloud.domain.kernel.errors import InvalidInput

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)


def refusal(check: object, url: str, field: str | None = None) -> tuple[str, object, str]:
    """The one problem ``check`` finds in ``url``; ``field`` None: the check's default."""
    with pytest.raises(InvalidInput) as refused:
        check(url) if field is None else check(url, field)  # type: ignore[operator]
    (problem,) = refused.value.problems
    return problem.field, problem.value, problem.message


def test_the_schedule_constants() -> None:
    assert (FIRST_RETRY_S, MAX_RETRY_S, RETRY_FOR_S) == (30, 3600, 86400)
    assert (MAX_URL, MAX_ERROR) == (2000, 500)


def test_the_waits_double_from_30_s_and_stay_at_an_hour() -> None:
    # 30, 60, 120, 240, 480, 960, 1920, then 3840 > 3600: capped
    expected = [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert [retry_delay_s(n) for n in range(1, 11)] == expected
    assert retry_delay_s(21) == retry_delay_s(22) == retry_delay_s(10_000) == 3600


def test_the_time_waited_along_the_schedule() -> None:
    assert waited_s(1) == 0  # the first attempt waited for nothing
    assert waited_s(2) == 30
    assert waited_s(3) == 90
    assert waited_s(4) == 210
    assert waited_s(8) == 30 + 60 + 120 + 240 + 480 + 960 + 1920 == 3810
    assert waited_s(9) == 3810 + 3600 == 7410
    assert waited_s(30) == 3810 + 22 * 3600 == 83010  # < 86,400: tried again
    assert waited_s(31) == 3810 + 23 * 3600 == 86610  # >= 86,400: the last one


def delivery(attempts: int) -> Delivery:
    return Delivery(4, 2, 9, DeliveryStatus.PENDING, attempts, AT)


def test_a_failed_attempt_schedules_the_next_after_its_wait() -> None:
    got = after_attempt(delivery(0), SendResult(500), AT)
    assert got == Delivery(
        4, 2, 9, DeliveryStatus.PENDING, 1, AT + timedelta(seconds=30),
        last_attempt_at=AT, last_status_code=500, last_error=None, delivered_at=None,
    )  # fmt: skip
    third = after_attempt(delivery(2), SendResult(None, "ReadTimeout"), AT)
    assert third.attempts == 3 and third.next_attempt_at == AT + timedelta(seconds=120)
    assert (third.last_status_code, third.last_error) == (None, "ReadTimeout")


def test_the_30th_attempt_is_retried_and_the_31st_given_up() -> None:
    thirtieth = after_attempt(delivery(29), SendResult(502), AT)
    assert thirtieth.status is DeliveryStatus.PENDING
    assert thirtieth.next_attempt_at == AT + timedelta(hours=1)
    last = after_attempt(delivery(30), SendResult(502), AT)
    assert last.status is DeliveryStatus.FAILED and last.next_attempt_at is None
    assert (last.attempts, last.last_attempt_at, last.delivered_at) == (31, AT, None)


def test_a_2xx_delivers_even_on_the_last_attempt() -> None:
    got = after_attempt(delivery(30), SendResult(204), AT)
    assert got == Delivery(
        4, 2, 9, DeliveryStatus.DELIVERED, 31, None,
        last_attempt_at=AT, last_status_code=204, last_error=None, delivered_at=AT,
    )  # fmt: skip


def test_the_error_is_kept_to_500_characters() -> None:
    assert after_attempt(delivery(0), SendResult(None, "e" * 500), AT).last_error == "e" * 500
    assert after_attempt(delivery(0), SendResult(None, "e" * 501), AT).last_error == "e" * 500


def test_only_200_to_299_is_ok() -> None:
    assert SendResult(200).ok and SendResult(299).ok and SendResult(201, "x").ok
    for code in (None, 0, 199, 300, 404, 500):
        assert not SendResult(code).ok


def test_a_delivery_status_is_parsed_or_refused_word_for_word() -> None:
    assert parse_status("pending") is DeliveryStatus.PENDING
    assert parse_status("delivered") is DeliveryStatus.DELIVERED
    assert parse_status("failed", "state") is DeliveryStatus.FAILED
    with pytest.raises(InvalidInput) as refused:
        parse_status("done", "state")
    (problem,) = refused.value.problems
    assert (problem.field, problem.value, problem.message) == (
        "state",
        "done",
        "is not a delivery status (pending, delivered, failed)",
    )
    with pytest.raises(InvalidInput) as default:
        parse_status("Pending")
    assert default.value.problems[0].field == "status"


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com",
        "https://hooks.example.com:443/n?x=1",
        "https://example.com:0/",
        "https://example.com:65535/",
        "https://example.com/" + "a" * (2000 - len("https://example.com/")),  # 2000 exactly
    ],
)
def test_a_good_url_is_returned_as_it_is(url: str) -> None:
    assert check_url(url) == url


LONG = "https://example.com/" + "a" * 1981  # 2001 characters


@pytest.mark.parametrize(
    ("url", "shown", "message"),
    [
        (LONG, LONG[:200] + "...", "is longer than 2000 characters"),
        ("https://exa mple.com/", "https://exa mple.com/",
         "must not contain spaces or control characters"),
        ("https://example.com/\x00", "https://example.com/\x00",
         "must not contain spaces or control characters"),
        ("https://example.com/\u00a0", "https://example.com/\u00a0",
         "must not contain spaces or control characters"),
        ("ftp://example.com/", "ftp://example.com/", "must start with http:// or https://"),
        ("example.com/hook", "example.com/hook", "must start with http:// or https://"),
        ("https://user:pw@example.com/p?q", "https://***@example.com/p?q",
         "must not carry credentials (user:password@): the signature authenticates"),
        ("https://token@example.com", "https://***@example.com",
         "must not carry credentials (user:password@): the signature authenticates"),
        ("https://a@b@example.com/x", "https://***@example.com/x",
         "must not carry credentials (user:password@): the signature authenticates"),
        ("https://u:p@example.com/a@b", "https://***@example.com/a@b",
         "must not carry credentials (user:password@): the signature authenticates"),
        ("https://u:p@example.com/?next=http://x/", "https://***@example.com/?next=http://x/",
         "must not carry credentials (user:password@): the signature authenticates"),
        ("http:///nohost", "http:///nohost", "has no host"),
        ("https://example.com/#frag", "https://example.com/#frag",
         "must not have a #fragment (it is never sent)"),
        ("https://example.com:99999/", "https://example.com:99999/",
         "has a port that is not a number from 0 to 65535"),
        ("https://example.com:http/", "https://example.com:http/",
         "has a port that is not a number from 0 to 65535"),
    ],
)  # fmt: skip
def test_a_bad_url_is_refused_word_for_word(url: str, shown: str, message: str) -> None:
    assert refusal(check_url, url, "target") == ("target", shown, message)


def test_check_url_names_url_by_default() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_url("ftp://x/")
    assert refused.value.problems[0].field == "url"


def test_a_long_url_with_credentials_is_shown_without_them_and_cut() -> None:
    url = "https://user:pw@example.com/" + "a" * 300
    shown = ("https://***@example.com/" + "a" * 300)[:200] + "..."
    assert refusal(check_url, url) == (
        "url", shown, "must not carry credentials (user:password@): the signature authenticates"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),  # the last part fills the bytes left
        ("127.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),  # one 32-bit number
        ("0x7f.0.0.1", "127.0.0.1"),  # hexadecimal
        ("0X7F.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),  # octal
        ("0x7f000001", "127.0.0.1"),
        ("127.16777215", "127.255.255.255"),  # the last part's largest: 256**3 - 1
        ("10.1.2.3", "10.1.2.3"),
        ("10.0x10203", "10.1.2.3"),
        ("10.0.0.9", "10.0.0.9"),  # a one-digit part is decimal, never octal
        ("10.255.1", "10.255.0.1"),  # 255 is a byte
        ("[4000::1]", "4000::1"),  # reserved (ipaddress calls it global)
        ("[ff0e::1]", "ff0e::1"),  # global-scope multicast (global to ipaddress)
        ("0x", "0.0.0.0"),  # "0x" alone is 0 to inet_aton
        ("0", "0.0.0.0"),
        ("00", "0.0.0.0"),
        ("0.0.0.0", "0.0.0.0"),
        ("127.0.0.1.", "127.0.0.1"),  # a trailing dot
        ("192.168.1.1", "192.168.1.1"),
        ("172.16.0.1", "172.16.0.1"),
        ("169.254.169.254", "169.254.169.254"),  # link-local: the cloud metadata address
        ("100.64.0.1", "100.64.0.1"),  # shared address space
        ("224.0.0.1", "224.0.0.1"),  # multicast (ipaddress calls it global)
        ("240.0.0.1", "240.0.0.1"),  # reserved
        ("192.0.2.1", "192.0.2.1"),  # documentation
        ("[::1]", "::1"),
        ("[::]", "::"),
        ("[fe80::1]", "fe80::1"),
        ("[fe80::1%25eth0]", "fe80::1"),  # a zone id
        ("[fc00::1]", "fc00::1"),
        ("[ff02::1]", "ff02::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),  # IPv4-mapped
        ("[::ffff:10.0.0.1]", "::ffff:a00:1"),
        ("[2002:7f00:1::]", "2002:7f00:1::"),  # 6to4 of 127.0.0.1 (global to ipaddress)
        ("[2001::80ff:fffe]", "2001::80ff:fffe"),  # Teredo: client 127.0.0.1 (xor ff..)
        ("[64:ff9b::7f00:1]", "64:ff9b::7f00:1"),  # NAT64 of 127.0.0.1 (global to ipaddress)
        ("[64:ff9b::a00:1]", "64:ff9b::a00:1"),  # NAT64 of 10.0.0.1
    ],
)
def test_a_non_public_address_literal_is_refused(host: str, address: str) -> None:
    url = f"http://{host}/hook"
    assert refusal(check_public_url, url, "webhook") == (
        "webhook",
        url,
        f"names a non-public address ({address}): a tenant's webhook must be public",
    )


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST", "localhost.", "api.localhost", "api.localhost.",
             "localhost:8080"],
)  # fmt: skip
def test_localhost_is_refused(host: str) -> None:
    url = f"http://{host}/hook"
    assert refusal(check_public_url, url) == ("url", url, "names the loopback (localhost)")


@pytest.mark.parametrize(
    "host",
    [
        "hooks.example.com",
        "localhost.example.com",  # a name under another domain
        "notlocalhost",
        "8.8.8.8",
        "134744072",  # 8.8.8.8 as one number
        "0x8.0x8.0x8.0x8",
        "[2606:4700::1111]",
        "[::ffff:8.8.8.8]",
        "[2002:808:808::]",  # 6to4 of 8.8.8.8
        "[2001::f7f7:f7f7]",  # Teredo: client 8.8.8.8 (2001::/23 is not global itself)
        "[64:ff9b::808:808]",  # NAT64 of 8.8.8.8
        # not inet_aton forms, so names (the DNS answers for them at delivery time)
        "1.2.3.4.5",
        "256.0.0.1",
        "1.2.3.256",
        "10.0.0.256",  # 256 is no byte (else 10.0.1.0)
        "9.16777216",  # 256**3 is too much for the last three bytes (else 10.0.0.0)
        "10.0.0.0.0",  # five parts
        "10.0.0.09",  # 09 is no octal number (else 10.0.0.9)
        "127.16777216",
        "08.0.0.1",
        "0xg.0.0.1",
        "127..1",
        "-1",
        "1.-1",
        "\u0661\u0662\u0667.0.0.1",  # Arabic-Indic digits: int() reads them, inet_aton not
    ],
)
def test_a_public_address_or_a_name_is_accepted(host: str) -> None:
    url = f"https://{host}/hook"
    assert check_public_url(url) == url


def test_the_public_rule_checks_the_url_first_and_cuts_a_long_one() -> None:
    assert refusal(check_public_url, "ftp://8.8.8.8/") == (
        "url", "ftp://8.8.8.8/", "must start with http:// or https://"
    )  # fmt: skip
    assert refusal(check_public_url, "ftp://8.8.8.8/", "hook")[0] == "hook"
    url = "http://127.0.0.1/" + "a" * 300
    assert refusal(check_public_url, url) == (
        "url",
        url[:200] + "...",
        "names a non-public address (127.0.0.1): a tenant's webhook must be public",
    )
    exact = "http://10.0.0.1/" + "a" * (200 - len("http://10.0.0.1/"))
    assert refusal(check_public_url, exact)[1] == exact
    assert refusal(check_public_url, exact + "b")[1] == exact + "..."


def test_a_bad_url_is_shown_whole_up_to_200_characters() -> None:
    exact = "ftp://" + "a" * 194
    assert refusal(check_url, exact)[1] == exact
    longer = exact + "b"
    assert refusal(check_url, longer)[1] == exact + "..."


def test_a_malformed_bracketed_host_is_refused_naming_the_url() -> None:
    for url in ("http://[not-v6]/", "http://[::1/", "http://]/"):
        with pytest.raises(InvalidInput) as refused:
            check_url(url)
        assert [str(p) for p in refused.value.problems] == [
            f"url={url!r}: has a malformed host (an IPv6 address goes in [brackets], whole)"
        ]
