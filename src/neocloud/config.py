"""Settings from the environment (``NEOCLOUD_*``), with embedded defaults.

NEOCLOUD_HOME          data directory (default ~/.neocloud): the SQLite file lives here
NEOCLOUD_TELEMETRY_DIR the telemetry store (Parquet files; default $NEOCLOUD_HOME/telemetry)
NEOCLOUD_DATABASE_URL  SQLAlchemy URL; PostgreSQL e.g. postgresql+psycopg://user@host/db
NEOCLOUD_ACTOR         who the audit log names for CLI actions (default: the OS user)
NEOCLOUD_CRITICAL_XIDS Xids that make a GPU unavailable for SLA metering, comma-separated
                       (default 48,63,64,74,79,92,94,95: docs/METERING.md)
NEOCLOUD_LOCK_TIMEOUT_S  seconds a command waits for a lock another command holds before it
                       says the database is busy (default 30; 0.1 to 600)
NEOCLOUD_LOG_LEVEL     DEBUG, INFO, WARNING or ERROR (default WARNING): the least severe log
                       record the CLI writes to standard error; INFO adds one record per use
                       case (its name, outcome, duration in ms and scalar arguments)
NEOCLOUD_LOG_FORMAT    text or json (default text); json writes one object per line: ts
                       (aware UTC, ISO 8601), level, logger, message, use_case, outcome,
                       duration_ms, arguments
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from neocloud.domain.kernel.errors import InvalidInput, Problem
from neocloud.domain.kernel.money import to_decimal
from neocloud.domain.kernel.text import check_text

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    actor: str
    now: str | None = None
    lock_timeout_s: Decimal = Decimal(30)
    telemetry_dir: Path | None = None
    critical_xids: frozenset[int] | None = None  # None: the default list

    @property
    def telemetry(self) -> Path:
        """Where the telemetry store lives (docs/TELEMETRY.md)."""
        return self.telemetry_dir or self.home / "telemetry"

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite")


@dataclass(frozen=True)
class LogSettings:
    level: str = "WARNING"
    format: str = "text"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    home = Path(env.get("NEOCLOUD_HOME") or Path.home() / ".neocloud").expanduser()
    url = env.get("NEOCLOUD_DATABASE_URL") or f"sqlite:///{home / 'neocloud.db'}"
    actor = check_text(env.get("NEOCLOUD_ACTOR") or _os_user(), "NEOCLOUD_ACTOR", max_length=200)
    telemetry = env.get("NEOCLOUD_TELEMETRY_DIR")
    return Settings(
        home=home,
        database_url=url,
        actor=actor,
        now=env.get("NEOCLOUD_NOW") or None,
        telemetry_dir=Path(telemetry).expanduser() if telemetry else None,
        lock_timeout_s=_lock_timeout(env.get("NEOCLOUD_LOCK_TIMEOUT_S")),
        critical_xids=_xids(env.get("NEOCLOUD_CRITICAL_XIDS")),
    )


def _xids(text: str | None) -> frozenset[int] | None:
    """``48,79`` -> {48, 79}: whole numbers 1 to 999 in digits, at least one."""
    if not text:
        return None
    items = [item.strip() for item in text.split(",")]
    if not all(item.isascii() and item.isdigit() and 1 <= int(item) <= 999 for item in items):
        raise InvalidInput.single(
            "NEOCLOUD_CRITICAL_XIDS", text, "must be Xid numbers 1 to 999 separated by commas"
        )
    return frozenset(int(item) for item in items)


def _lock_timeout(text: str | None) -> Decimal:
    if not text:
        return Settings.lock_timeout_s
    seconds = to_decimal(text, "NEOCLOUD_LOCK_TIMEOUT_S")
    if not Decimal("0.1") <= seconds <= 600:
        raise InvalidInput.single("NEOCLOUD_LOCK_TIMEOUT_S", text, "must be 0.1 to 600 seconds")
    return seconds


def load_log_settings(env: Mapping[str, str] | None = None) -> LogSettings:
    """NEOCLOUD_LOG_LEVEL and NEOCLOUD_LOG_FORMAT (any case); an unknown value is refused."""
    env = os.environ if env is None else env
    level = env.get("NEOCLOUD_LOG_LEVEL") or LogSettings.level
    format_ = env.get("NEOCLOUD_LOG_FORMAT") or LogSettings.format
    problems = [
        Problem(name, value, f"must be one of {', '.join(allowed)}")
        for name, value, allowed in (
            ("NEOCLOUD_LOG_LEVEL", level, LOG_LEVELS),
            ("NEOCLOUD_LOG_FORMAT", format_, LOG_FORMATS),
        )
        if value.casefold() not in (a.casefold() for a in allowed)
    ]
    if problems:
        raise InvalidInput(problems)
    return LogSettings(level=level.upper(), format=format_.lower())


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
