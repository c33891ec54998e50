"""The run plan shared by `koryu run` and the nightly schedule."""

from __future__ import annotations

from koryu_pipeline.definitions import defs
from koryu_pipeline.defs.plan import RunPlan, asset_selections


def _plan(stale: list[str], marts: bool) -> RunPlan:
    return RunPlan(
        waves=["2023", "2024"],
        wave_digests={},
        marts_digest="",
        stale_waves=stale,
        marts_stale=marts,
    )


def test_batches() -> None:
    graph = defs().resolve_asset_graph()
    everything, facts_only = asset_selections(graph)
    marts_only = [k for k in everything if k not in facts_only]
    assert facts_only and marts_only
    assert _plan([], False).batches(graph) == []
    assert _plan([], True).batches(graph) == [(None, marts_only)]
    assert _plan(["2023", "2024"], True).batches(graph) == [
        ("2023", facts_only),
        ("2024", everything),
    ]
    assert _plan(["2024"], False).batches(graph) == [("2024", facts_only)]
