"""The use-case log record: its fields on success and failure, and its JSON and text lines."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from neocloud.config import LogSettings, load_log_settings
from neocloud.domain.kernel.errors import InvalidInput, NotFound
from neocloud.domain.kernel.quantities import PowerBasis
from neocloud.services import capacity, observability
from neocloud.services.observability import JsonFormatter, TextFormatter, use_case

SIGNED = datetime(2026, 5, 3, 15, tzinfo=UTC)
SIGNED_EPOCH_S = 1_777_820_400  # 20,576 days from 1970-01-01 to 2026-05-03, x 86,400, + 15 h


@use_case("test.sign")
def sign(key: str, share: Decimal, *, at: datetime, basis: PowerBasis, doc: dict[str, str]) -> str:
    return f"{key} signed"


@use_case("test.missing")
def missing(key: str) -> None:
    raise NotFound(f"agreement {key!r} does not exist")


@use_case("test.broken")
def broken(n: int) -> float:
    return 1 / n


@pytest.fixture(autouse=True)
def _info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=observability.LOGGER)


@pytest.fixture
def stepping(monkeypatch: pytest.MonkeyPatch) -> None:
    """perf_counter reads 10.0 s, then 10.25 s: every call takes 250 ms, no sleeping."""
    readings = iter([10.0, 10.25])
    clock = SimpleNamespace(perf_counter=lambda: next(readings))
    monkeypatch.setattr(observability, "time", clock)


def test_ok_with_its_scalar_arguments(caplog: pytest.LogCaptureFixture, stepping: None) -> None:
    doc = {"whole": "document"}
    result = sign("memphis-lease", Decimal("0.85"), at=SIGNED, basis=PowerBasis.IT, doc=doc)
    assert result == "memphis-lease signed"
    (record,) = caplog.records
    assert record.name == "neocloud.use_case" and record.levelno == logging.INFO
    assert record.use_case == "test.sign"  # type: ignore[attr-defined]
    assert record.outcome == "ok"  # type: ignore[attr-defined]
    assert record.duration_ms == 250.0  # type: ignore[attr-defined]
    assert record.arguments == {  # type: ignore[attr-defined]
        "key": "memphis-lease",
        "share": "0.85",
        "at": "2026-05-03T15:00:00+00:00",
        "basis": "it",
    }  # the document is left out
    assert record.getMessage() == "test.sign ok in 250.00 ms"


def test_a_refusal_is_logged_with_its_code_and_raised_unchanged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(NotFound) as raised:
        missing("nope")
    assert raised.value.message == "agreement 'nope' does not exist"
    (record,) = caplog.records
    assert record.levelno == logging.INFO
    assert (record.outcome, record.arguments) == ("not_found", {"key": "nope"})  # type: ignore[attr-defined]


def test_an_unexpected_exception_is_an_error_named_by_its_class(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(ZeroDivisionError):
        broken(0)
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert record.outcome == "ZeroDivisionError"  # type: ignore[attr-defined]


def test_long_text_is_cut(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(NotFound):
        missing("x" * 300)
    assert caplog.records[0].arguments == {"key": "x" * 200 + "…"}  # type: ignore[attr-defined]


def test_a_wrong_call_fails_as_it_would_undecorated(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(TypeError) as decorated:
        missing()  # type: ignore[call-arg]
    with pytest.raises(TypeError) as plain:
        missing.__wrapped__()  # type: ignore[attr-defined]
    assert str(decorated.value) == str(plain.value)
    (record,) = caplog.records
    assert (record.outcome, record.arguments) == ("TypeError", {})  # type: ignore[attr-defined]


def test_a_service_returns_what_it_returned_undecorated(caplog: pytest.LogCaptureFixture) -> None:
    undecorated = capacity.convert_for_model.__wrapped__  # type: ignore[attr-defined]
    # 1,000 x 700 W x 1.3 = 0.91 MW IT; x PUE 1.3 = 1.183 MW facility
    result = capacity.convert_for_model("H100", pue=Decimal("1.3"), gpus=1000)
    assert result == undecorated("H100", pue=Decimal("1.3"), gpus=1000)
    assert result.facility_power.mw == Decimal("1.183")
    (record,) = caplog.records
    assert record.use_case == "capacity.convert_for_model"  # type: ignore[attr-defined]
    assert record.arguments == {"model": "H100", "pue": "1.3", "gpus": 1000}  # type: ignore[attr-defined]


def _record(**fields: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "neocloud.use_case", logging.INFO, __file__, 1, "msg %s", ("x",), None
    )
    record.created = SIGNED_EPOCH_S + 0.5
    record.__dict__.update(fields)
    return record


def test_json_lines_carry_utc_time_level_logger_message_and_fields() -> None:
    line = JsonFormatter().format(
        _record(use_case="u", outcome="ok", duration_ms=1.5, arguments={"gpus": 1000})
    )
    assert json.loads(line) == {
        "ts": "2026-05-03T15:00:00.500000+00:00",
        "level": "INFO",
        "logger": "neocloud.use_case",
        "message": "msg x",
        "use_case": "u",
        "outcome": "ok",
        "duration_ms": 1.5,
        "arguments": {"gpus": 1000},
    }
    assert "\n" not in line


def test_json_of_a_plain_record_and_of_a_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record(exc_info=sys.exc_info())
    data = json.loads(JsonFormatter().format(record))
    assert set(data) == {"ts", "level", "logger", "message", "exc"}
    assert data["exc"].endswith("ValueError: boom")


def test_text_lines() -> None:
    line = TextFormatter().format(_record(arguments={"site": "memphis-1", "gpus": 10}))
    assert (
        line
        == "2026-05-03T15:00:00.500+00:00 INFO neocloud.use_case msg x site='memphis-1' gpus=10"
    )


def test_log_settings_from_the_environment() -> None:
    assert load_log_settings({}) == LogSettings("WARNING", "text")
    assert load_log_settings({"NEOCLOUD_LOG_LEVEL": "info", "NEOCLOUD_LOG_FORMAT": "JSON"}) == (
        LogSettings("INFO", "json")
    )
    with pytest.raises(InvalidInput) as refused:
        load_log_settings({"NEOCLOUD_LOG_LEVEL": "loud", "NEOCLOUD_LOG_FORMAT": "xml"})
    assert [(p.field, p.value) for p in refused.value.problems] == [
        ("NEOCLOUD_LOG_LEVEL", "loud"),
        ("NEOCLOUD_LOG_FORMAT", "xml"),
    ]
