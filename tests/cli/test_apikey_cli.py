"""``neocloud apikey create|list|revoke`` end to end on each database, and the key working
(then not) against the API."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from neocloud.api.app import create_app
from neocloud.bootstrap import app as make_app
from neocloud.config import load_settings
from tests.cli.test_agreements_cli import DEAL
from tests.cli.test_cli import neocloud


def test_create_list_revoke(loaded: dict[str, str]) -> None:
    cli_env = loaded  # the reference fleet
    code, _, err = neocloud(cli_env, "apikey", "create", "--role", "tenant", "--tenant",
                            "frontier-lab")  # fmt: skip
    assert code == 2  # no agreement names the tenant yet: a typo would make a blind key
    assert "tenant='frontier-lab': no agreement names this tenant" in err
    assert neocloud(cli_env, "agreement", "create", DEAL)[0] == 0
    code, out, err = neocloud(cli_env, "apikey", "create", "--role", "tenant", "--tenant",
                              "frontier-lab", "--expires", "2099-01-01", "--json")  # fmt: skip
    assert code == 0, err
    made = json.loads(out)
    assert made["key"].startswith(f"nck_{made['key_id']}_") and len(made["key"]) == 4 + 17 + 43
    assert (made["role"], made["tenant"], made["label"]) == (
        "tenant",
        "frontier-lab",
        "frontier-lab key",
    )
    assert made["expires_at"] == "2099-01-01T00:00:00+00:00"  # a bare date: midnight UTC
    code, out, _ = neocloud(cli_env, "apikey", "list", "--json")
    (listed,) = json.loads(out)
    assert listed["status"] == "active" and "key" not in listed  # never shown again

    with make_app(load_settings(cli_env)) as app:  # the key works against the API
        client = TestClient(create_app(app))
        bearer = {"Authorization": f"Bearer {made['key']}"}
        assert client.get("/v1/agreements", headers=bearer).status_code == 200
        code, out, _ = neocloud(cli_env, "apikey", "revoke", made["key_id"])
        assert code == 0 and f"API key {made['key_id']} revoked" in out
        assert client.get("/v1/agreements", headers=bearer).status_code == 401

    code, _, err = neocloud(cli_env, "apikey", "revoke", made["key_id"])
    assert code == 4 and "already revoked" in err
    code, out, _ = neocloud(cli_env, "apikey", "list", "--json")
    assert json.loads(out)[0]["status"] == "revoked"


def test_a_bad_request_names_each_field(cli_env: dict[str, str]) -> None:
    assert neocloud(cli_env, "init")[0] == 0
    code, _, err = neocloud(cli_env, "apikey", "create", "--role", "root", "--tenant", "lab-a")
    assert code == 2
    assert "role='root'" in err
    code, _, err = neocloud(
        cli_env, "apikey", "create", "--role", "admin", "--expires", "2001-01-01"
    )
    assert code == 2 and "expires=" in err and "must be after now" in err
    code, _, err = neocloud(cli_env, "apikey", "revoke", "0000000000000000")
    assert code == 3
