"""Webhook signatures: HMAC-SHA256 over ``f"{timestamp}.{raw body}"`` with the
subscription's secret, sent as ``Neocloud-Signature: t=<unix seconds>,v1=<hex>``.

The timestamp is signed with the body, so a captured delivery replayed later fails the
receiver's tolerance check (five minutes unless it says otherwise). ``verify`` is what a
receiver calls (docs/EVENTS.md has an example); it compares in constant time and accepts
any of several ``v1`` values (a secret being rotated).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Neocloud-Signature"
EVENT_ID_HEADER = "Neocloud-Event-Id"  # the same for every attempt: dedupe on it
EVENT_KIND_HEADER = "Neocloud-Event-Kind"
ATTEMPT_HEADER = "Neocloud-Delivery-Attempt"
TOLERANCE_S = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``b"<timestamp>." + body`` under ``secret`` (UTF-8)."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str, header: str, body: bytes, *, now_s: float, tolerance_s: int = TOLERANCE_S
) -> bool:
    """Whether ``header`` (the Neocloud-Signature value) signs ``body`` under ``secret``
    with a timestamp within ``tolerance_s`` seconds of ``now_s`` (the receiver's clock, Unix
    seconds). ``body`` must be the raw bytes received, before any JSON parsing."""
    timestamp, candidates = _parse(header)
    if timestamp is None or abs(now_s - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, c) for c in candidates)


def _parse(header: str) -> tuple[int | None, list[str]]:
    timestamp, candidates = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    return timestamp, candidates
