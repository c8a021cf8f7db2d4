"""``neocloud serve``: the REST API and the dashboard over HTTP (uvicorn).

With ``--workers N`` uvicorn runs N server processes on one listening socket; each builds
its own application from the environment (``neocloud.api.app:factory``), so every one
reads the same database and settings. One worker is the default: a demo, or a small site.

The workers' socket is bound here, naming TCP: uvicorn's own (``Config.bind_socket``)
leaves the protocol 0, asyncio then leaves Nagle's algorithm on for every connection the
workers accept, and each keep-alive answer after the first waits ~40 ms for the client's
delayed ACK (Kludex/uvicorn#3149, open). One process needs none of this: asyncio binds
the socket itself there.
"""

import os
import socket
from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import console, handles_errors, make_app

if TYPE_CHECKING:
    import uvicorn

MAX_WORKERS = (os.cpu_count() or 1) * 4
FACTORY = "neocloud.api.app:factory"


@handles_errors
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=MAX_WORKERS,
        help="Server processes (more than one per core does not pay: requests are CPU-bound).",
    ),
    access_log: bool = typer.Option(
        True, "--access-log/--no-access-log", help="Log one line per request."
    ),
) -> None:
    """Serve the REST API at http://HOST:PORT/v1 (OpenAPI at /openapi.json; docs/API.md)
    and the dashboard at http://HOST:PORT/."""
    import uvicorn

    app = make_app()
    try:
        app.require_database()  # refuse before any worker starts
    finally:
        app.close()
    config = uvicorn.Config(FACTORY, factory=True, host=host, port=port, workers=workers,
                            log_level="info", access_log=access_log)  # fmt: skip
    plural = "es" if workers > 1 else ""
    console().print(
        f"neocloud API on http://{host}:{port}/v1 (OpenAPI: /openapi.json), "
        f"{workers} process{plural}"
    )
    if workers == 1:
        uvicorn.Server(config).run()
    else:
        _supervise(config, host, port)


def _supervise(config: "uvicorn.Config", host: str, port: int) -> None:
    from uvicorn.supervisors import Multiprocess

    with listening_socket(host, port) as listener:
        Multiprocess(config, sockets=[listener]).run()


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` for worker processes to accept on, its protocol
    named (``IPPROTO_TCP``) so that asyncio sets TCP_NODELAY on what they accept."""
    from neocloud.domain.kernel.errors import InvalidInput

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise InvalidInput.single(
            "--port", port, f"cannot listen on {host}: {exc.strerror}"
        ) from None
    listener.set_inheritable(True)
    return listener
