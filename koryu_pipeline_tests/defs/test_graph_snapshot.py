"""A snapshot of the asset graph (keys, deps, groups, kinds, descriptions, checks, columns),
as dagster-open-platform keeps one: any change to the graph shows up as a reviewed diff of
snapshots/asset_graph.json. Regenerate with KORYU_UPDATE_SNAPSHOTS=1 after a deliberate change."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.defs import build_defs
from koryu_pipeline.settings import Settings

SNAPSHOT = Path(__file__).with_name("snapshots") / "asset_graph.json"


def graph_snapshot() -> dict[str, Any]:
    graph = build_defs(get_codebook(), Settings()).resolve_asset_graph()
    out: dict[str, Any] = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        schema = node.metadata.get("dagster/column_schema")
        out[key.to_user_string()] = {
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "description": node.description,
            "partitioned": node.partitions_def is not None,
            "checks": sorted(k.name for k in node.check_keys),
            "columns": [c.name for c in schema.columns] if schema else [],
        }
    return out


def test_asset_graph_matches_snapshot() -> None:
    current = graph_snapshot()
    if os.environ.get("KORYU_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, ensure_ascii=False, indent=1) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    assert sorted(current) == sorted(expected), "asset keys changed"
    for key, node in current.items():
        assert node == expected[key], key


def test_every_column_of_every_table_is_described() -> None:
    graph = build_defs(get_codebook(), Settings()).resolve_asset_graph()
    tables = 0
    for key in graph.get_all_asset_keys():
        schema = graph.get(key).metadata.get("dagster/column_schema")
        if schema is None:
            continue
        tables += 1
        bare = [c.name for c in schema.columns if not c.description]
        assert not bare, (key.to_user_string(), bare)
    assert tables == 39  # every table of the registry carries its column schema
