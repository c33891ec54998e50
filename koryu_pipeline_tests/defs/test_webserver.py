"""`make ui` for real: dagster-webserver on a loopback port, asked through its GraphQL API
for the asset graph. Every asset key of the definitions must be there with its upstream
keys, group, kinds and description, and the checks must be listed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from koryu_pipeline.definitions import defs
from koryu_pipeline.instance import write_instance_yaml
from koryu_pipeline_tests.webserver import post, webserver

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


def test_webserver_serves_the_whole_lineage(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    write_instance_yaml(home)
    with webserver({**os.environ, "DAGSTER_HOME": str(home)}) as base:
        nodes = post(f"{base}/graphql", QUERY)["data"]["assetNodes"]

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
    assert upstream_of("marts/questions/ministry/q04") == {"facts/answers", "facts/exposures"}
    # the marts read the marts they combine, not the facts again
    questions = {n for n in served if n.startswith("marts/questions/")}
    assert upstream_of("marts/question_results") == questions
    assert upstream_of("marts/comparisons/support_gap") == {
        "marts/questions/hires/support_wishes",
        "marts/questions/ministry/q13",
    }
    assert upstream_of("marts/comparisons/waves") == {"marts/question_results"}
    headlines = upstream_of("marts/headlines")
    assert "marts/comparisons/support_gap" in headlines
    assert "marts/questions/ministry/q01" in headlines and headlines <= questions | {
        "marts/comparisons/support_gap"
    }
    assert upstream_of("data_dictionary") == set()
    assert "marts/headlines" in {"/".join(d["path"]) for d in served["sql/marts"]["dependencyKeys"]}
    assert served["facts/answers"]["owners"] == [{"team": "koryu-data"}]
    checks = {c["name"] for n in nodes for c in (n["assetChecksOrError"] or {}).get("checks", [])}
    assert {"row_conservation", "pandera_schema", "no_personal_data", "bases_match_facts"} <= checks
