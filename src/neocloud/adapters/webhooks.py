"""Webhook deliveries over HTTP (httpx): one POST, a bounded timeout, no redirects.

The response's body is never read (only its status line and headers), so an endpoint that
answers slowly or at length costs at most the timeout. A redirect is not followed: the
subscription names where events go, and a 3xx counts as not delivered.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from neocloud.domain.events.webhooks import SendResult

TIMEOUT_S = 10.0
USER_AGENT = "neocloud-webhooks/1"


class HttpxWebhookSender:
    def __init__(self, timeout_s: float = TIMEOUT_S) -> None:
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s), follow_redirects=False, trust_env=False
        )

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
        try:
            with self._client.stream("POST", url, content=body, headers=sent) as response:
                return SendResult(response.status_code)
        except httpx.TimeoutException as exc:
            return SendResult(None, f"timed out ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            return SendResult(
                None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            )

    def close(self) -> None:
        self._client.close()
