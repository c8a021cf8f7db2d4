"""A real Slurm controller for tests: munged and slurmctld (Debian's 22.05) in a temp dir.

``slurm_controller(nodes=..., partitions=..., now=...)`` writes a munge key and a
``slurm.conf`` of the caller's node and partition lines into a fresh directory, starts
``munged`` and ``slurmctld -D`` there as the current user, waits (bounded polling) until
``scontrol ping`` says UP, yields a ``SlurmController`` and stops both daemons on the way
out, whether the test passed or not. No slurmd runs: nodes are UNKNOWN, which is all
reservations and partitions need.

The controller's clock: with ``now`` (an aware instant) the daemon and every command run
through ``run`` see that instant, standing still, until ``set_clock`` moves it (libfaketime,
``LD_PRELOAD``, reading the epoch seconds from a file on every call). munged keeps the real
clock, so credentials stay valid.

Times: scontrol reads and prints times in the zone of its own ``TZ``; ``run(tz=...)``
chooses it, and ``reservations()`` reads with ``TZ=UTC`` and returns aware UTC datetimes.

Under ``CI=true`` missing Slurm packages fail the test; elsewhere they skip it.
"""

from __future__ import annotations

import getpass
import glob
import os
import re
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from shutil import which
from typing import IO, NamedTuple

import pytest

COMMANDS = ("slurmctld", "scontrol", "sdiag", "munged", "mungekey", "munge")
PACKAGES = "slurmctld slurm-client munge faketime"
LIBFAKETIME = "/usr/lib/*/faketime/libfaketimeMT.so.1"  # the thread-safe build
ALL_NODES = "PartitionName=all Nodes=ALL Default=YES State=UP"
READY_TIMEOUT_S = 300.0  # the whole 28,160-node site starts in well under this
COMMAND_TIMEOUT_S = 300.0


class Completed(NamedTuple):
    """What a command printed and its exit status."""

    rc: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Reservation:
    """A reservation as the controller holds it; ``start``/``end`` are aware UTC."""

    name: str
    start: datetime
    end: datetime
    nodes: tuple[str, ...]  # expanded, in Slurm's order
    accounts: tuple[str, ...]
    users: tuple[str, ...]
    flags: frozenset[str]
    state: str  # ACTIVE or INACTIVE
    fields: Mapping[str, str]  # every field as scontrol printed it (times in UTC)


class SlurmControllerError(RuntimeError):
    """A daemon did not start or a command failed; the message carries its log."""


def missing_tools() -> list[str]:
    """The commands and libraries the controller needs that this machine lacks."""
    gone = [command for command in COMMANDS if which(command) is None]
    if _libfaketime() is None:
        gone.append("libfaketime")
    return gone


def require_slurm() -> None:
    """Skip the test without Slurm; under ``CI=true`` fail it instead."""
    gone = missing_tools()
    if not gone:
        return
    message = f"a Slurm controller needs {', '.join(gone)} (apt-get install {PACKAGES})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@contextmanager
def slurm_controller(
    *,
    nodes: Sequence[str],
    partitions: Sequence[str] = (ALL_NODES,),
    now: datetime | None = None,
    controller_tz: str = "UTC",
    ready_timeout_s: float = READY_TIMEOUT_S,
) -> Iterator[SlurmController]:
    """A running controller with these ``NodeName=``/``PartitionName=`` lines.

    ``now``: the controller's clock, standing still there (else the real clock).
    ``controller_tz``: slurmctld's ``TZ`` (to show which side's zone scontrol uses).
    """
    require_slurm()
    with tempfile.TemporaryDirectory(prefix="slurm-") as name, ExitStack() as stack:
        root = Path(name)  # short: a unix socket path is at most 107 bytes
        config = _write_config(root, _start_munged(root, stack), nodes, partitions)
        slurm = SlurmController(config, now)
        argv = ["slurmctld", "-D", "-f", str(config)]
        process = _spawn(argv, root / "slurmctld.out", slurm.env | {"TZ": controller_tz}, stack)
        slurm.wait_until_up(process, ready_timeout_s)
        yield slurm


class SlurmController:
    """One running slurmctld: commands, the clock, reservations and partitions read back."""

    def __init__(self, config: Path, now: datetime | None) -> None:
        self.config = config
        self.root = config.parent
        self._clock_file = self.root / "clock" if now is not None else None
        self.env = dict(os.environ) | {"SLURM_CONF": str(config)}  # what commands run with
        if now is not None:
            self._write_clock(now)
            self.env |= _faketime_env(self.root / "clock")

    def run(
        self, argv: Sequence[str], *, tz: str | None = None, timeout_s: float = COMMAND_TIMEOUT_S
    ) -> Completed:
        """Run a Slurm command (``["scontrol", ...]``) against this controller.

        ``tz``: the command's ``TZ`` (scontrol reads and prints times in it); None keeps
        the test process's own.
        """
        env = self.env if tz is None else self.env | {"TZ": tz}
        done = subprocess.run(
            list(argv), env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
        return Completed(done.returncode, done.stdout, done.stderr)

    def check(self, argv: Sequence[str], *, tz: str | None = None) -> str:
        """``run``, refusing a non-zero exit; the command's standard output."""
        done = self.run(argv, tz=tz)
        if done.rc != 0:
            raise SlurmControllerError(f"{' '.join(argv)}: rc {done.rc}: {done.stderr.strip()}")
        return done.stdout

    def set_clock(self, instant: datetime, timeout_s: float = 30.0) -> None:
        """Move the controller's clock to ``instant`` and wait until it reads it."""
        if self._clock_file is None:
            raise SlurmControllerError("the controller runs on the real clock (no now=)")
        self._write_clock(instant)
        _poll(lambda: self.controller_time() == instant, timeout_s, "the clock to move")

    def controller_time(self) -> datetime:
        """The controller's own "now", as sdiag reports it (whole seconds, UTC)."""
        found = re.search(r"^sdiag output at .*\((\d+)\)$", self.check(["sdiag"]), re.M)
        if found is None:
            raise SlurmControllerError("sdiag printed no time")
        return datetime.fromtimestamp(int(found.group(1)), UTC)

    def hostnames(self, hostlist: str) -> tuple[str, ...]:
        """``h[1-2]`` -> ``("h1", "h2")``, by ``scontrol show hostnames``."""
        if hostlist in ("", "(null)"):
            return ()
        return tuple(self.check(["scontrol", "show", "hostnames", hostlist]).split())

    def reservations(self) -> dict[str, Reservation]:
        """Every reservation by name, read with ``TZ=UTC``."""
        text = self.check(["scontrol", "-o", "show", "reservation"], tz="UTC")
        found = (self._reservation(fields) for fields in _records(text))
        return {reservation.name: reservation for reservation in found}

    def partitions(self) -> dict[str, dict[str, str]]:
        """Every partition's fields as scontrol prints them, by name."""
        text = self.check(["scontrol", "-o", "show", "partition"], tz="UTC")
        return {fields["PartitionName"]: fields for fields in _records(text)}

    def wait_until_up(self, process: subprocess.Popen[bytes], timeout_s: float) -> None:
        def up() -> bool:
            if process.poll() is not None:
                raise SlurmControllerError(f"slurmctld exited {process.returncode}" + self._logs())
            return " is UP" in self.run(["scontrol", "ping"]).stdout

        try:
            _poll(up, timeout_s, "slurmctld to answer")
        except TimeoutError as exc:
            raise SlurmControllerError(f"{exc}" + self._logs()) from None

    def _reservation(self, fields: dict[str, str]) -> Reservation:
        return Reservation(
            name=fields["ReservationName"],
            start=_utc(fields["StartTime"]),
            end=_utc(fields["EndTime"]),
            nodes=self.hostnames(fields.get("Nodes", "")),
            accounts=_names(fields.get("Accounts", "")),
            users=_names(fields.get("Users", "")),
            flags=frozenset(_names(fields.get("Flags", ""))),
            state=fields.get("State", ""),
            fields=fields,
        )

    def _write_clock(self, instant: datetime) -> None:
        if instant.utcoffset() is None:
            raise ValueError(f"naive instant {instant!r}: give an aware one")
        assert self._clock_file is not None
        staged = self._clock_file.with_suffix(".new")
        staged.write_text(f"{int(instant.timestamp())}\n")
        staged.replace(self._clock_file)  # a reader sees the old or the new instant, whole

    def _logs(self) -> str:
        """The end of what slurmctld printed (its log, and what came before the log opened)."""
        path = self.root / "slurmctld.out"
        lines = path.read_text(errors="replace").splitlines()[-12:] if path.exists() else []
        return "\n--- slurmctld.out, last lines:\n" + "\n".join(lines)


def _write_config(
    root: Path, munge_socket: Path, nodes: Sequence[str], partitions: Sequence[str]
) -> Path:
    for folder in ("state", "spool"):
        (root / folder).mkdir()
    config = root / "slurm.conf"
    lines = [*_base_config(root, munge_socket), *map(_local, nodes), *partitions]
    config.write_text("\n".join(lines) + "\n")
    return config


def _base_config(root: Path, munge_socket: Path) -> list[str]:
    return [
        "ClusterName=neocloud-test",
        "SlurmctldHost=localhost",
        f"SlurmctldPort={_free_port()}",
        f"SlurmdPort={_free_port()}",  # no slurmd answers there: nodes stay unregistered
        f"SlurmUser={getpass.getuser()}",
        "AuthType=auth/munge",
        f"AuthInfo=socket={munge_socket}",
        "CredType=cred/munge",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'slurmctld.pid'}",
        f"SlurmdPidFile={root / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'slurmctld.log'}",
        "SlurmctldDebug=info",
        "ReturnToService=2",
        "MailProg=/bin/true",
        "MpiDefault=none",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SchedulerType=sched/backfill",
        "SelectType=select/cons_tres",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "JobAcctGatherType=jobacct_gather/none",
        "GresTypes=gpu",  # Gres=gpu:N on a node line needs it; the controller needs no gres.conf
    ]


def _local(node_line: str) -> str:
    """Point every node at 127.0.0.1 unless the line says where it is.

    slurmctld resolves each node's address at start-up and spends 10 s retrying every name
    DNS does not know; one NodeAddr serves a whole hostlist.
    """
    if "nodeaddr=" in node_line.lower() or node_line.startswith("NodeName=DEFAULT"):
        return node_line
    return f"{node_line} NodeAddr=127.0.0.1"


def _start_munged(root: Path, stack: ExitStack) -> Path:
    key, munge_socket = root / "munge.key", root / "munge.socket"
    subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True, capture_output=True)
    key.chmod(0o400)  # munged refuses a key others can read; it runs as us, who own it
    argv = [
        "munged",
        "--foreground",
        "--force",  # lets it run as root
        f"--socket={munge_socket}",
        f"--key-file={key}",
        f"--pid-file={root / 'munged.pid'}",
        f"--seed-file={root / 'munged.seed'}",
    ]
    process = _spawn(argv, root / "munged.log", dict(os.environ), stack)

    def answers() -> bool:
        if process.poll() is not None:
            log = (root / "munged.log").read_text(errors="replace")
            raise SlurmControllerError(f"munged exited {process.returncode}:\n{log}")
        probe = ["munge", "--no-input", f"--socket={munge_socket}"]
        return subprocess.run(probe, capture_output=True, check=False).returncode == 0

    _poll(answers, 30.0, "munged to answer")
    return munge_socket


def _spawn(
    argv: list[str], log: Path, env: Mapping[str, str], stack: ExitStack
) -> subprocess.Popen[bytes]:
    """Start a daemon writing to ``log``; the stack stops it (TERM, then KILL)."""
    out: IO[bytes] = stack.enter_context(log.open("wb"))
    process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=dict(env))
    stack.callback(_stop, process)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:  # slurmctld ignores TERM while it resolves nodes
        process.kill()
        process.wait()


def _poll(ready: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Ask ``ready`` every 50 ms until it says yes; TimeoutError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_s:g} s for {what}")
        time.sleep(0.05)


def _faketime_env(clock_file: Path) -> dict[str, str]:
    library = _libfaketime()
    assert library is not None  # require_slurm() checked
    return {
        "LD_PRELOAD": library,
        "FAKETIME_TIMESTAMP_FILE": str(clock_file),
        # Epoch seconds: the same instant whatever the process's TZ (checked in UTC, Chicago
        # and Tokyo, across DST changes), except in a process that changes its own TZ as it
        # runs (`date -u`), which reads it off by its zone's offset.
        "FAKETIME_FMT": "%s",
        "FAKETIME_NO_CACHE": "1",  # read the file on every call, so set_clock takes at once
        "DONT_FAKE_MONOTONIC": "1",  # timers and timeouts keep running
    }


def _libfaketime() -> str | None:
    found = sorted(glob.glob(LIBFAKETIME))
    return found[0] if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _records(text: str) -> list[dict[str, str]]:
    """``scontrol -o show ...``: one record a line of ``Key=value`` separated by spaces."""
    records = []
    for line in text.splitlines():
        fields: dict[str, str] = {}
        last = ""
        for token in line.split():
            key, equals, value = token.partition("=")
            if equals:
                fields[key], last = value, key
            elif last:  # a value with a space in it
                fields[last] += f" {token}"
        if fields:
            records.append(fields)
    return records


def _names(value: str) -> tuple[str, ...]:
    return () if value in ("", "(null)") else tuple(value.split(","))


def _utc(text: str) -> datetime:
    """A time scontrol printed under ``TZ=UTC`` (``2026-08-01T05:00:00``)."""
    return datetime.fromisoformat(f"{text}+00:00")
