"""What every request passes before a route: the body limit, the caller's key, and
Idempotency-Key on POST (a pure ASGI middleware, outermost after Starlette's own).

* The body is read up to ``limit`` bytes while it arrives; past it the answer is 413 and
  nothing more is read (a Content-Length past it is refused before reading at all).
* ``Authorization: Bearer nck_...`` is checked by ``services/access.authenticate`` on the
  system clock (``app.wall``). The caller (or the refusal) is left in the scope for the
  routes' guard (``deps.py``): a route that needs no key (``/openapi.json``) ignores it.
* A POST with ``Idempotency-Key`` from an authenticated caller is answered from the stored
  response when the same key and the same request came before (``services/idempotency``);
  otherwise the key is reserved, the route runs, and its answer is kept (5xx answers are
  not: the key is released so that a retry runs again).
* Anything a route raises that no handler knows is a 500 problem saying it is a bug, with
  the traceback in the log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from neocloud.api.problems import error_response, internal_error, problem
from neocloud.domain.access.idempotency import HEADER, StoredResponse, fingerprint, redact
from neocloud.domain.kernel.errors import NeocloudError, Unauthenticated
from neocloud.services import access, idempotency

if TYPE_CHECKING:
    from starlette.responses import Response

    from neocloud.bootstrap import App
    from neocloud.domain.access.policy import Principal

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BODY_LIMIT = 1024 * 1024
"""The largest request body taken, in bytes (1 MiB; an agreement file is a few KiB)."""
UNIQUE = (b"authorization", b"idempotency-key", b"if-match", b"content-type")
"""Headers a request may carry once only."""
PRINCIPAL = "neocloud.principal"
AUTH_ERROR = "neocloud.auth_error"


class TooLarge(Exception):
    pass


class Gate:
    def __init__(self, app: ASGIApp, *, neocloud: App, limit: int = BODY_LIMIT) -> None:
        self.app = app
        self.neocloud = neocloud
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        twice = [n for n in UNIQUE if sum(k.lower() == n for k, _ in scope["headers"]) > 1]
        try:
            body = await self._body(headers, receive)
        except TooLarge:
            await problem(
                "too_large",
                f"the request body is over {self.limit:,} bytes",
                instance=path,
                headers={"Connection": "close"},
            )(scope, receive, send)
            return
        replay = _replaying(body, receive)
        if twice:  # which one would count? proxies and frameworks disagree: refuse both
            await problem(
                "malformed",
                f"the {twice[0].decode()} header is sent more than once; send it once",
                instance=path,
            )(scope, replay, send)
            return
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if body and path.startswith("/v1/") and not _json(media):
            await problem(
                "unsupported_media_type",
                f"the body is sent as {media or 'no Content-Type'!r}; send it as "
                "application/json (Content-Type: application/json)",
                instance=path,
            )(scope, replay, send)
            return
        try:
            await self._authenticate(scope, headers)
            key = headers.get(HEADER.lower())
            principal = scope.get(PRINCIPAL)
            if scope["method"] == "POST" and key is not None and principal is not None:
                await self._idempotent(scope, replay, send, principal, key, body, headers)
            else:
                await _guarded(self.app, scope, replay, send)
        except NeocloudError as exc:
            await error_response(exc, path)(scope, replay, send)
        except Exception as exc:  # authentication or the idempotency store failing: a bug
            await internal_error(exc, path)(scope, replay, send)

    async def _body(self, headers: dict[str, str], receive: Receive) -> bytes:
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            raise TooLarge
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                raise TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _authenticate(self, scope: Scope, headers: dict[str, str]) -> None:
        given = headers.get("authorization")
        if given is None:
            return
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            scope[AUTH_ERROR] = Unauthenticated("use Authorization: Bearer <API key>")
            return
        app = self.neocloud
        try:
            scope[PRINCIPAL] = await run_in_threadpool(
                access.authenticate, app.uow(), token.strip(), app.wall.now()
            )
        except Unauthenticated as refused:
            scope[AUTH_ERROR] = refused

    async def _idempotent(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        who: Principal,
        key: str,
        body: bytes,
        headers: dict[str, str],
    ) -> None:
        app = self.neocloud
        query = scope.get("query_string", b"").decode("latin-1")
        if_match = headers.get("if-match", "")
        digest = fingerprint("POST", scope.get("path", ""), query, body, if_match)
        stored = await run_in_threadpool(
            idempotency.recall_or_reserve, app.uow(), who.key_id, key, digest, app.wall.now()
        )
        if stored is not None:
            await _replay(stored)(scope, receive, send)
            return
        captured = _Capture(send, scope.get("path", ""))
        try:
            await _guarded(self.app, scope, receive, captured)
        finally:
            answer = captured.stored(digest, app)
            if answer is None or answer.status_code >= 500:
                await run_in_threadpool(idempotency.release, app.uow(), who.key_id, key)
            else:
                await run_in_threadpool(idempotency.remember, app.uow(), who.key_id, key, answer)
        await captured.flush()


async def _guarded(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the app; what escapes it is a bug: a 500 problem (if nothing was sent yet)."""
    started = False

    async def tracking(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, receive, tracking)
    except Exception as exc:
        if started:
            raise
        await internal_error(exc, scope.get("path"))(scope, receive, send)


def _json(media: str) -> bool:
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def _replay(stored: StoredResponse) -> Response:
    from starlette.responses import Response

    return Response(
        stored.body,
        status_code=stored.status_code,
        media_type=stored.content_type or None,
        headers={"Idempotent-Replayed": "true"},
    )


class _Capture:
    """Holds a response back until its answer is stored, then sends it."""

    def __init__(self, send: Send, path: str) -> None:
        self.send = send
        self.path = path
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    def stored(self, digest: str, app: App) -> StoredResponse | None:
        start = next((m for m in self.messages if m["type"] == "http.response.start"), None)
        if start is None:
            return None
        content_type = ""
        for name, value in start.get("headers", []):
            if name.lower() == b"content-type":
                content_type = value.decode("latin-1")
        body = b"".join(
            m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"
        )
        status, path = int(start["status"]), self.path
        text = redact(path, status, body.decode("utf-8", "replace"))
        return StoredResponse(digest, status, text, content_type, app.wall.now())

    async def flush(self) -> None:
        for message in self.messages:
            await self.send(message)
