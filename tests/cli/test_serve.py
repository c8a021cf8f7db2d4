"""``neocloud serve``: uvicorn worker processes, each with the application built from the
environment (``neocloud.api.app:factory``), over the one database; a key revoked through
the CLI is refused by every worker on the next request."""

from __future__ import annotations

import asyncio
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from neocloud.cli.serve import listening_socket
from neocloud.domain.kernel.errors import InvalidInput
from tests.cli.test_cli import neocloud

NEOCLOUD = str(Path(sys.executable).parent / "neocloud")
START_BOUND_S = 60  # an upper bound on the start, not a measurement


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def started_workers(server: subprocess.Popen[bytes], workers: int) -> list[int]:
    """Read uvicorn's log until ``workers`` processes say their start is complete: their ids."""
    assert server.stderr is not None
    fd, log = server.stderr.fileno(), b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while log.count(b"Application startup complete") < workers:
            assert selector.select(timeout=START_BOUND_S), f"the server is silent: {log!r}"
            chunk = os.read(fd, 65536)
            assert chunk, f"the server stopped (exit {server.wait()}): {log.decode()}"
            log += chunk
    return [int(pid) for pid in re.findall(rb"Started server process \[(\d+)\]", log)]


@pytest.fixture
def served(cli_env: dict[str, str]) -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    """Two workers on a free port; the base URL, an auditor key and the server process."""
    assert neocloud(cli_env, "init")[0] == 0
    code, out, _ = neocloud(cli_env, "apikey", "create", "--role", "auditor", "--json")
    assert code == 0
    port = free_port()
    command = [NEOCLOUD, "serve", "--port", str(port), "--workers", "2", "--no-access-log"]
    env = {**os.environ, **cli_env}
    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, bufsize=0
    ) as server:
        try:
            workers = started_workers(server, 2)
            assert len(set(workers)) == 2 and server.pid not in workers
            for pid in workers:  # each a child of the server process
                stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                assert int(stat[1]) == server.pid
            yield f"http://127.0.0.1:{port}", json.loads(out)["key"], server
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGINT)
                server.wait(timeout=30)


def test_workers_answer_and_a_revoked_key_is_refused_by_each(
    served: tuple[str, str, subprocess.Popen[bytes]], cli_env: dict[str, str]
) -> None:
    base, key, server = served
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
        for _ in range(8):  # new connections: the kernel spreads them over both workers
            answer = client.get("/v1/sites", headers={"Connection": "close"})
            assert answer.status_code == 200 and answer.json()["items"] == []
        code, _, _ = neocloud(cli_env, "apikey", "revoke", key.split("_")[1])  # nck_<id>_<secret>
        assert code == 0
        for _ in range(8):
            answer = client.get("/v1/sites", headers={"Connection": "close"})
            assert answer.status_code == 401
            assert answer.headers["content-type"] == "application/problem+json"
    server.send_signal(signal.SIGINT)
    assert server.wait(timeout=30) == 0


def test_serve_without_a_database_refuses_before_starting(tmp_path: Path) -> None:
    env = {"NEOCLOUD_HOME": str(tmp_path / "empty"), "NEOCLOUD_DATABASE_URL": ""}
    code, out, err = neocloud(env, "serve", "--workers", "2")
    assert code == 3  # not_found
    assert "no neocloud database" in err and "neocloud init" in err
    assert "neocloud API on" not in out


def test_workers_are_bounded(cli_env: dict[str, str]) -> None:
    code, _, err = neocloud(cli_env, "serve", "--workers", "0")
    assert code == 2 and "--workers" in err


def test_connections_accepted_by_workers_have_nagle_off() -> None:
    """asyncio sets TCP_NODELAY only on sockets whose protocol is IPPROTO_TCP; uvicorn's
    own socket for workers says 0 (Kludex/uvicorn#3149), and each keep-alive answer then
    waits for the client's delayed ACK."""
    listener = listening_socket("127.0.0.1", 0)
    assert listener.proto == socket.IPPROTO_TCP
    accepted: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def connect_once() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        async with server:
            reader, writer = await asyncio.open_connection(*listener.getsockname())
            await reader.read()  # the probe closes it
            writer.close()

    asyncio.run(connect_once())
    assert accepted == [1]


def test_a_port_taken_is_refused_naming_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InvalidInput, match="--port") as refused:
            listening_socket("127.0.0.1", port)
    assert refused.value.problems[0].value == port
