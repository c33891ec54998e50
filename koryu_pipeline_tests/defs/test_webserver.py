"""`make ui` for real: dagster-webserver on a loopback port, asked through its GraphQL API
for the asset graph. Every asset key of the definitions must be there with its upstream
keys, group, kinds and description, and the checks must be listed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from koryu_pipeline.definitions import defs

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

QUERY = """
{
  assetNodes {
    assetKey { path }
    dependencyKeys { path }
    groupName
    kinds
    description
    owners { ... on TeamAssetOwner { team } }
    assetChecksOrError { ... on AssetChecks { checks { name } } }
  }
}
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, query: str) -> dict:
    req = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_webserver_serves_the_whole_lineage(tmp_path: Path) -> None:
    port = _port()
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_webserver",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        nodes = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(proc.stderr.read().decode()[-3000:] if proc.stderr else "exited")
            try:
                data = _post(url, QUERY).get("data") or {}
                nodes = data.get("assetNodes")
                if nodes:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert nodes, "the webserver never answered with the asset graph"
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    served = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    graph = defs().resolve_asset_graph()
    expected = {k.to_user_string(): k for k in graph.get_all_asset_keys()}
    assert set(served) == set(expected)
    for name, key in expected.items():
        node = served[name]
        upstream = {"/".join(d["path"]) for d in node["dependencyKeys"]}
        assert upstream == {p.to_user_string() for p in graph.get(key).parent_keys}, name
        assert node["description"], name
        assert node["groupName"], name
        assert node["kinds"], name

    # the lineage runs from the raw exports, parsed, validated, to the facts and the SQL copy
    def upstream_of(name: str) -> set[str]:
        return {"/".join(d["path"]) for d in served[name]["dependencyKeys"]}

    assert upstream_of("staging/parsed") == {"raw/ministry/exports", "raw/hires/exports"}
    assert upstream_of("staging/validated") == {"staging/parsed"}
    assert upstream_of("facts/answers") == {"staging/validated"}
    assert "facts/answers" in upstream_of("marts/questions/ministry/q04")
    assert "marts/headlines" in {"/".join(d["path"]) for d in served["sql/marts"]["dependencyKeys"]}
    assert served["facts/answers"]["owners"] == [{"team": "koryu-data"}]
    checks = {c["name"] for n in nodes for c in (n["assetChecksOrError"] or {}).get("checks", [])}
    assert {"row_conservation", "pandera_schema", "no_personal_data", "bases_match_facts"} <= checks
