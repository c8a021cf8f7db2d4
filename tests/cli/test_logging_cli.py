"""Logging at the CLI's edge: NEOCLOUD_LOG_LEVEL / NEOCLOUD_LOG_FORMAT, one record per use case."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import pytest

from neocloud.cli.logs import configure_logging
from neocloud.config import LogSettings
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.services import capacity

CONVERT = ["capacity", "convert", "--gpus", "1000", "--model", "H100", "--pue", "1.3"]


@pytest.fixture
def neocloud_logger() -> Iterator[logging.Logger]:
    """The ``neocloud`` logger, put back as it was (configure_logging changes it)."""
    logger = logging.getLogger("neocloud")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield logger
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


def test_json_logging_writes_one_object_per_use_case(neocloud_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(LogSettings("INFO", "json"), stream)
    configure_logging(LogSettings("INFO", "json"), stream)  # again: still one handler
    capacity.convert_for_model("H100", pue=Decimal("1.3"), gpus=1000)
    with pytest.raises(InvalidInput):
        capacity.convert_for_model("H900", pue=Decimal("1.3"), gpus=1000)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["use_case"], first["outcome"]) == ("capacity.convert_for_model", "ok")
    assert (second["outcome"], second["arguments"]["model"]) == ("invalid_input", "H900")
    offset = datetime.fromisoformat(first["ts"]).utcoffset()
    assert offset is not None and offset.total_seconds() == 0


def test_the_level_filters(neocloud_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(LogSettings("WARNING", "text"), stream)
    capacity.convert_for_model("H100", pue=Decimal("1.3"), gpus=1000)
    with pytest.raises(InvalidInput):
        capacity.convert_for_model("H900", pue=Decimal("1.3"), gpus=1000)
    assert stream.getvalue() == ""  # use cases that end ok or refused are INFO


def neocloud(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real entry point (``run``), in a process of its own."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEOCLOUD_LOG_")}
    return subprocess.run(
        [sys.executable, "-m", "neocloud.cli", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        check=False,
    )


def test_the_command_line_logs_json_on_stderr_and_prints_the_same() -> None:
    quiet = neocloud(*CONVERT)
    logged = neocloud(*CONVERT, NEOCLOUD_LOG_LEVEL="info", NEOCLOUD_LOG_FORMAT="json")
    assert quiet.returncode == logged.returncode == 0
    assert quiet.stderr == ""
    assert logged.stdout == quiet.stdout
    (line,) = logged.stderr.splitlines()
    record = json.loads(line)
    assert record["logger"] == "neocloud.use_case" and record["level"] == "INFO"
    assert record["use_case"] == "capacity.convert_for_model" and record["outcome"] == "ok"
    assert record["arguments"] == {"model": "H100", "pue": "1.3", "gpus": 1000}


def test_a_bad_log_level_is_refused_like_bad_input() -> None:
    refused = neocloud(*CONVERT, NEOCLOUD_LOG_LEVEL="loud")
    assert refused.returncode == 2
    assert refused.stderr == (
        "error: NEOCLOUD_LOG_LEVEL='loud': must be one of DEBUG, INFO, WARNING, ERROR\n"
    )
    assert refused.stdout == ""
