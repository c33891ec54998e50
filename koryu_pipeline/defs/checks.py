"""Asset checks from the registry: each table's declared checks become AssetCheckSpecs, and
the plain check functions' outcomes become AssetCheckResults. Nothing else happens here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import dagster as dg

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.warehouse.tables import CheckFn, CheckOutcome, Tables, TableSpec


def asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("/"))


def check_specs(specs: Iterable[TableSpec]) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            c.name, asset=asset_key(s.key), description=c.description, blocking=c.blocking
        )
        for s in specs
        for c in s.checks
    ]


def _metadata(outcome: CheckOutcome) -> dict[str, Any]:
    return {
        k: dg.MetadataValue.json(v) if isinstance(v, list | dict) else v
        for k, v in outcome.metadata.items()
    }


def check_results(
    codebook: Codebook,
    specs: Iterable[TableSpec],
    tables: Tables,
    functions: Mapping[str, CheckFn],
    selected: Iterable[dg.AssetCheckKey],
) -> Iterator[dg.AssetCheckResult]:
    """Run the selected checks of `specs` on `tables` and report them."""
    wanted = set(selected)
    for spec in specs:
        for check in spec.checks:
            if dg.AssetCheckKey(asset_key(spec.key), check.name) not in wanted:
                continue
            outcome = functions[check.name](codebook, spec.key, tables)
            yield dg.AssetCheckResult(
                asset_key=asset_key(spec.key),
                check_name=check.name,
                passed=outcome.passed,
                description=check.description,
                metadata=_metadata(outcome),
            )
