"""Raw exports (external, partitioned by wave) -> facts and quarantine, in one step.

One multi_asset reads, validates (pandera) and normalises every export of a wave, so a wave
costs one process start however many tables it writes; its checks run in the same step.
"""

from collections.abc import Iterator

import dagster as dg
import pandas as pd
import pandera.pandas as pandera
import pyarrow as pa
from dagster import AssetExecutionContext

from koryu_pipeline.codebook import Codebook, get_codebook
from koryu_pipeline.defs.metadata import definition_metadata, table_metadata
from koryu_pipeline.defs.partitions import WAVES
from koryu_pipeline.defs.plan import DIGEST, input_digests
from koryu_pipeline.defs.resources import KoryuPaths
from koryu_pipeline.ingest import (
    FACT_TABLES,
    STAGING_TABLES,
    fact_schemas,
    ingest_wave,
    table_schema,
    write_wave_facts,
)
from koryu_pipeline.validation.fact_schemas import fact_schema, personal_data_found
from koryu_pipeline.warehouse.parquet import PART_FILE, read_partition

OWNERS = ["team:koryu-data"]
EXPORT_KINDS = {"msforms_xlsx": {"excel", "msforms"}, "googleforms_csv": {"csv", "googleforms"}}

TABLE_DOCS = {
    "staging/parsed": "Every row of every readable export as the readers give it: one column "
    "per codebook field (labels NFKC-normalised; multi answers as lists), submission time in "
    "UTC, personal columns dropped. One schema per instrument. 読み込んだ全行。",
    "staging/validated": "The accepted responses, wide, with their respondent_id: every "
    "pandera rule passed, duplicates and superseded submissions removed. 受理された回答。",
    "facts/respondents": "One row per accepted response, with the respondent attributes of its "
    "form. 受理された回答1件につき1行。",
    "facts/answers": "One row per respondent × question × item × chosen option. "
    "回答者×設問×項目×選択肢につき1行。",
    "facts/exposures": "One row per respondent × question × item: shown by the routing, "
    "answered. The bases of every mart. 設問の提示・回答の有無。",
    "quarantine/rejections": "One row per rule a rejected response (or file) broke: file, row, "
    "rule, column, value, message. 不受理の記録。",
    "quarantine/files": "Per raw export: rows, accepted, rejected (accepted + rejected = rows). "
    "ファイル別の受理・不受理件数。",
}


def asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("/"))


def raw_specs() -> list[dg.AssetSpec]:
    """The exports dropped under <raw>/<instrument>/<wave>/: produced outside Dagster."""
    specs = []
    for instrument in get_codebook().instruments:
        forms = [f for f in get_codebook().forms if f.instrument == instrument]
        export = forms[-1].export
        specs.append(
            dg.AssetSpec(
                key=dg.AssetKey(["raw", instrument, "exports"]),
                description=f"{forms[-1].title}: the {export} exports under "
                f"<KORYU_RAW_DIR>/{instrument}/<wave>/ (personal columns are dropped on read).",
                group_name="raw",
                kinds=EXPORT_KINDS[export],
                owners=OWNERS,
                partitions_def=WAVES,
            )
        )
    return specs


# raw -> staging/parsed -> staging/validated -> facts; the quarantine comes from parsing
UPSTREAM = {
    "staging/parsed": None,  # the raw exports
    "staging/validated": "staging/parsed",
    "facts/respondents": "staging/validated",
    "facts/answers": "staging/validated",
    "facts/exposures": "staging/validated",
    "quarantine/rejections": "staging/parsed",
    "quarantine/files": "staging/parsed",
}
TABLES = tuple(UPSTREAM)


def _union_schema(schemas: list[pa.Schema]) -> pa.Schema:
    """One column list over the instruments' staging schemas (for the UI's column schema)."""
    fields: dict[str, pa.Field] = {}
    for schema in schemas:
        for f in schema:
            fields.setdefault(f.name, f)
    return pa.schema(list(fields.values()))


def _static_schema(table: str) -> pa.Schema:
    """A table's columns for the asset definition: a staging table's are the union over the
    instruments' latest forms."""
    cb = get_codebook()
    if table not in STAGING_TABLES:
        return fact_schemas(cb)[table]
    latest = {f.instrument: f for f in sorted(cb.forms, key=lambda f: f.wave)}
    return _union_schema(
        [table_schema(cb, table, f.instrument, f.wave) for _, f in sorted(latest.items())]
    )


def _fact_specs() -> list[dg.AssetSpec]:
    raw = [s.key for s in raw_specs()]
    return [
        dg.AssetSpec(
            key=asset_key(t),
            description=TABLE_DOCS[t] + f" Parquet at <warehouse>/{t}/instrument=…/wave=…/.",
            group_name=t.split("/")[0],
            kinds={"parquet", "pandas", "pandera"},
            owners=OWNERS,
            deps=[asset_key(up)] if (up := UPSTREAM[t]) else raw,
            metadata=definition_metadata(_static_schema(t)),
            partitions_def=WAVES,
            skippable=True,
        )
        for t in TABLES
    ]


def _check_specs() -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(
            "pandera_schema",
            asset=asset_key(t),
            description="The written partition validates against the table's pandera schema.",
            blocking=True,
        )
        for t in FACT_TABLES
    ]
    specs.append(
        dg.AssetCheckSpec(
            "row_conservation",
            asset=asset_key("quarantine/files"),
            description="For every raw file: accepted + rejected = rows in the file, and the "
            "accepted rows are exactly facts/respondents.",
            blocking=True,
        )
    )
    specs.append(
        dg.AssetCheckSpec(
            "no_personal_data",
            asset=asset_key("facts/respondents"),
            description="No メール / 名前 column and no e-mail address anywhere in the wave's "
            "facts or quarantine.",
            blocking=True,
        )
    )
    return specs


@dg.multi_asset(
    name="ingest_wave",
    specs=_fact_specs(),
    check_specs=_check_specs(),
    partitions_def=WAVES,
    can_subset=True,
    description="Read every export of a wave, validate it with pandera, and normalise it into "
    "the fact tables; bad rows and files go to the quarantine.",
)
def ingest_wave_asset(
    context: AssetExecutionContext, paths: KoryuPaths
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    codebook = get_codebook()
    wave = context.partition_key
    facts = ingest_wave(codebook, paths.raw, wave)
    digest = input_digests(paths.raw, paths.warehouse, paths.sql)[0].get(wave, "")
    selected = [t for t in TABLES if asset_key(t) in context.selected_asset_keys]
    changed = write_wave_facts(codebook, paths.warehouse, facts, tuple(selected))
    schemas = {
        t: _union_schema([table_schema(codebook, t, i, wave) for i in facts.instruments()])
        if t in STAGING_TABLES
        else fact_schemas(codebook)[t]
        for t in TABLES
    }

    files = facts.table("quarantine/files")
    for row in files.itertuples(index=False):
        context.log.info(
            f"{row.source_file}: {row.rows} rows -> {row.accepted} accepted, {row.rejected} "
            f"rejected{' (whole file)' if row.file_rejected else ''}"
        )
    rejections = facts.table("quarantine/rejections")
    rule_counts = (
        rejections.groupby("rule").size().sort_index().to_dict() if not rejections.empty else {}
    )
    if rule_counts:
        context.log.warning(f"wave {wave} rejections by rule: {rule_counts}")

    for table in selected:
        frame = facts.table(table)
        if frame.empty:
            frame = schemas[table].empty_table().to_pandas()
        extra: dict[str, object] = {
            DIGEST: digest,
            "partitions_rewritten": len(changed[table]),
            "instruments": ", ".join(facts.instruments()),
        }
        if table == "quarantine/files":
            extra["per_file"] = dg.MetadataValue.json(files.to_dict(orient="records"))
        if table == "quarantine/rejections":
            extra["rejections_by_rule"] = dg.MetadataValue.json(rule_counts)
        yield dg.MaterializeResult(
            asset_key=asset_key(table),
            metadata=table_metadata(
                frame,
                str(paths.warehouse / table / f"instrument=*/wave={wave}" / PART_FILE),
                **extra,
            ),
        )
        if (
            dg.AssetCheckKey(asset_key(table), "pandera_schema")
            in context.selected_asset_check_keys
        ):
            written = [
                read_partition(paths.warehouse, table, i, wave, schemas[table])
                for i in facts.instruments()
            ]
            on_disk = pd.concat(written, ignore_index=True) if written else frame
            yield _pandera_check(codebook, table, on_disk, schemas[table])

    check_keys = context.selected_asset_check_keys
    if dg.AssetCheckKey(asset_key("quarantine/files"), "row_conservation") in check_keys:
        accepted = int(files["accepted"].sum()) if not files.empty else 0
        respondents = len(facts.table("facts/respondents"))
        bad = files[files["accepted"] + files["rejected"] != files["rows"]] if len(files) else files
        yield dg.AssetCheckResult(
            asset_key=asset_key("quarantine/files"),
            check_name="row_conservation",
            passed=bool(bad.empty and accepted == respondents),
            metadata={
                "files": len(files),
                "rows": int(files["rows"].sum()) if len(files) else 0,
                "accepted": accepted,
                "facts/respondents rows": respondents,
                "unbalanced_files": ", ".join(bad["source_file"]) if len(bad) else "",
            },
        )
    if dg.AssetCheckKey(asset_key("facts/respondents"), "no_personal_data") in check_keys:
        found = {t: cols for t in TABLES if (cols := personal_data_found(facts.table(t)))}
        yield dg.AssetCheckResult(
            asset_key=asset_key("facts/respondents"),
            check_name="no_personal_data",
            passed=not found,
            metadata={"columns_with_personal_data": dg.MetadataValue.json(found)},
        )


def _pandera_check(
    codebook: Codebook, table: str, frame: pd.DataFrame, schema: pa.Schema
) -> dg.AssetCheckResult:
    try:
        fact_schema(codebook, table, schema).validate(frame, lazy=True)
        return dg.AssetCheckResult(
            asset_key=asset_key(table),
            check_name="pandera_schema",
            passed=True,
            metadata={"rows": len(frame)},
        )
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
        return dg.AssetCheckResult(
            asset_key=asset_key(table),
            check_name="pandera_schema",
            passed=False,
            metadata={
                "failures": len(cases),
                "first_failures": dg.MetadataValue.md(f"```\n{cases.head(10)}\n```"),
            },
        )
