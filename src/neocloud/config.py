"""Settings from the environment (``NEOCLOUD_*``), with embedded defaults.

NEOCLOUD_HOME          data directory (default ~/.neocloud): the SQLite file lives here
NEOCLOUD_DATABASE_URL  SQLAlchemy URL; PostgreSQL e.g. postgresql+psycopg://user@host/db
NEOCLOUD_ACTOR         who the audit log names for CLI actions (default: the OS user)
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    actor: str
    now: str | None = None

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    home = Path(env.get("NEOCLOUD_HOME") or Path.home() / ".neocloud").expanduser()
    url = env.get("NEOCLOUD_DATABASE_URL") or f"sqlite:///{home / 'neocloud.db'}"
    actor = env.get("NEOCLOUD_ACTOR") or _os_user()
    return Settings(home=home, database_url=url, actor=actor, now=env.get("NEOCLOUD_NOW") or None)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
