"""Fixtures shared by the CLI tests."""

from __future__ import annotations

import pytest

from tests.cli.test_cli import neocloud
from tests.conftest import EXAMPLES


@pytest.fixture
def loaded(cli_env: dict[str, str]) -> dict[str, str]:
    assert neocloud(cli_env, "init")[0] == 0
    code, out, _ = neocloud(cli_env, "fleet", "import", str(EXAMPLES / "fleet.yaml"))
    assert code == 0, out
    assert "imported site memphis-1: 4 halls, 3,370 racks, 28,160 nodes, 216,640 GPUs" in out
    return cli_env
