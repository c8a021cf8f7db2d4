"""Writing a file whole or not at all (documents, reports, charts)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def replace_file(path: Path, data: bytes) -> None:
    """``data`` into a temporary file beside ``path``, flushed to disk, then renamed over
    it: a full disk or a file-size limit leaves the old file (if any) as it was. The file
    keeps its mode; a new one gets what ``open`` would give it."""
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else _default_mode()
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as f:
        try:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            os.chmod(f.name, mode)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(f.name)
            raise
    os.replace(f.name, path)


def _default_mode() -> int:
    """0o666 less the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
