"""``neocloud events`` and ``neocloud webhook`` end to end on each database, delivering to
a real receiver on loopback (the worker runs on the system clock here: one pass, no wait)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.cli.test_cli import neocloud
from tests.conftest import EXAMPLES
from tests.webhook_receiver import Receiver

DEAL = str(EXAMPLES / "agreements" / "memphis-lease.yaml")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(now=lambda: datetime.now(UTC))
    found.start()
    yield found
    found.stop()


def test_events_and_webhooks(loaded: dict[str, str], receiver: Receiver) -> None:
    env = {**loaded, "NEOCLOUD_NOW": "2026-06-02T12:00:00Z"}
    code, out, _ = neocloud(env, "webhook", "add", "--url", receiver.base + "/ops", "--json")
    assert code == 0
    added = json.loads(out)
    assert added["id"] == 1 and added["tenant"] is None and added["secret"].startswith("whsec_")
    receiver.secrets["/ops"] = added["secret"]
    code, out, _ = neocloud(env, "webhook", "list", "--json")
    assert code == 0 and "whsec_" not in out and json.loads(out)[0]["url"] == added["url"]

    assert neocloud(env, "agreement", "create", DEAL)[0] == 0
    assert neocloud(env, "agreement", "sign", "memphis-lease", "--at", "2026-05-03")[0] == 0
    code, out, _ = neocloud(env, "events", "list", "--json")
    listed = json.loads(out)
    assert [(e["id"], e["kind"]) for e in listed] == [
        (1, "agreement.signed"),
        (2, "agreement.ramp_milestone"),  # May 1
        (3, "agreement.ramp_milestone"),  # June 1: due by June 2
    ]
    assert listed[0]["occurred_at"] == "2026-05-03T05:00:00Z"  # midnight CDT
    code, out, _ = neocloud(
        env, "events", "list", "--since", "2", "--kind", "agreement.ramp_milestone"
    )
    assert code == 0 and "2026-06-01T05:00:00Z" in out and "2026-05-01T05:00:00Z" not in out
    assert "no events match" in neocloud(env, "events", "list", "--tenant", "other-lab")[1]
    code, out, _ = neocloud({**env, "NEOCLOUD_NOW": "2026-07-02T00:00:00Z"}, "events", "scan")
    assert code == 0 and "event 4 agreement.ramp_milestone" in out and "1 new event" in out
    assert (
        "0 new events"
        in neocloud({**env, "NEOCLOUD_NOW": "2026-07-02T00:00:00Z"}, "events", "scan")[1]
    )

    code, out, _ = neocloud(env, "webhook", "deliver")
    assert code == 0 and "4 delivered, 0 to retry, 0 given up" in out
    assert sorted(receiver.event_ids()) == ["1", "2", "3", "4"]
    assert all(r.verified for r in receiver.received)
    code, out, _ = neocloud(env, "webhook", "deliveries", "--status", "delivered", "--json")
    assert [(d["event"], d["attempts"], d["last_status_code"]) for d in json.loads(out)] == [
        (e, 1, 204) for e in (1, 2, 3, 4)
    ]
    code, out, _ = neocloud(env, "webhook", "remove", "1")
    assert code == 0 and "webhook 1 removed; 0 pending deliveries given up" in out
    assert neocloud(env, "webhook", "remove", "1")[0] == 4  # conflict: removed already


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["webhook", "add", "--url", "https://u:p@example.com/"], "url"),
        (["webhook", "add", "--url", "https://example.com/", "--kind", "invoice.paid"], "kind"),
        (["webhook", "deliveries", "--status", "lost"], "--status"),
        (["events", "list", "--kind", "nope"], "--kind"),
        (["events", "list", "--limit", "0"], "limit"),
        (["webhook", "deliver", "--timeout", "0"], "timeout"),
    ],
)
def test_bad_input_names_the_field(loaded: dict[str, str], args: list[str], field: str) -> None:
    code, _out, err = neocloud(loaded, *args)
    assert code == 2 and f"{field}=" in err
    assert neocloud(loaded, "webhook", "list", "--json")[1].strip() == "[]"
