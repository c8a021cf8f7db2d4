"""A real webhook receiver on loopback for the tests: http.server in a thread.

It verifies every delivery's signature with the secret of the path it came to (as a
receiver would, with ``neocloud.domain.events.signing.verify``) against the test's clock,
and keeps what it got. ``hold`` makes it slow: each request waits until ``release`` is set
(bounded, so a failing test cannot hang).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from neocloud.domain.events import signing

HOLD_BOUND_S = 10.0


@dataclass
class Received:
    path: str
    event_id: str
    kind: str
    attempt: str
    verified: bool
    document: dict[str, Any]


@dataclass
class Receiver:
    now: Callable[[], datetime]
    secrets: dict[str, str] = field(default_factory=dict)  # path -> secret
    status: int = 204
    hold: bool = False
    received: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (on the same port as before once one was taken)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                header = self.headers.get(signing.SIGNATURE_HEADER, "")
                secret = receiver.secrets.get(self.path, "")
                receiver.received.append(
                    Received(
                        self.path,
                        self.headers.get(signing.EVENT_ID_HEADER, ""),
                        self.headers.get(signing.EVENT_KIND_HEADER, ""),
                        self.headers.get(signing.ATTEMPT_HEADER, ""),
                        signing.verify(secret, header, raw, now_s=receiver.now().timestamp()),
                        json.loads(raw),
                    )
                )
                receiver.arrived.set()
                if receiver.hold:
                    receiver.release.wait(HOLD_BOUND_S)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that gave up (timed out) before the answer

        self._server = Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        """Close the port: connections are refused until ``start`` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def event_ids(self, path: str | None = None) -> list[str]:
        return [r.event_id for r in self.received if path is None or r.path == path]
