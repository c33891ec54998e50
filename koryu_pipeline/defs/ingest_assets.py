"""Raw exports (external, partitioned by wave) -> staging, facts and quarantine, in one step.

One multi_asset reads, validates (pandera) and normalises every export of a wave, so a wave
costs one process start however many tables it writes; each table goes to the wave's writer
as it is made (`warehouse.parquet.WaveWriter`), and its checks run in the same step, on the
tables read back from disk. The tables, their lineage and their checks are the registry's
(warehouse/tables.py).
"""

from collections.abc import Iterator

import dagster as dg
from dagster import AssetExecutionContext

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.defs.checks import asset_key, check_results, check_specs
from koryu_pipeline.defs.metadata import definition_metadata, table_metadata
from koryu_pipeline.defs.plan import DIGEST, current_inputs, wave_record
from koryu_pipeline.defs.progress import progress
from koryu_pipeline.ingest.checks import FACT_CHECKS, written_tables
from koryu_pipeline.ingest.wave import ingest_wave
from koryu_pipeline.settings import Settings
from koryu_pipeline.warehouse.parquet import (
    PART_FILE,
    PersonalDataError,
    WaveWriter,
    prune_partitions,
)
from koryu_pipeline.warehouse.tables import (
    FILES,
    RAW,
    REJECTIONS,
    RESPONDENTS,
    TableSpec,
    table_registry,
    wave_tables,
)

OWNERS = ["team:koryu-data"]
EXPORT_KINDS = {"msforms_xlsx": {"excel", "msforms"}, "googleforms_csv": {"csv", "googleforms"}}


def raw_specs(codebook: Codebook, partitions: dg.PartitionsDefinition) -> list[dg.AssetSpec]:
    """The exports dropped under <raw>/<instrument>/<wave>/: produced outside Dagster."""
    specs = []
    for instrument in codebook.instruments:
        latest = [f for f in codebook.forms if f.instrument == instrument][-1]
        specs.append(
            dg.AssetSpec(
                key=asset_key(RAW.format(instrument=instrument)),
                description=f"{latest.title}: the {latest.export} exports under "
                f"<KORYU_RAW_DIR>/{instrument}/<wave>/ (personal columns are dropped on read).",
                group_name="raw",
                kinds=EXPORT_KINDS[latest.export],
                owners=OWNERS,
                partitions_def=partitions,
            )
        )
    return specs


def table_spec(spec: TableSpec, **extra: object) -> dg.AssetSpec:
    """A registry table as a Dagster asset spec (the marts step uses it too)."""
    return dg.AssetSpec(
        key=asset_key(spec.key),
        description=spec.description,
        group_name=spec.group,
        kinds=set(spec.kinds),
        owners=OWNERS,
        deps=[asset_key(d) for d in spec.deps],
        metadata=definition_metadata(spec),
        skippable=True,
        **extra,  # type: ignore[arg-type]
    )


def build_ingest_asset(
    codebook: Codebook, partitions: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    specs = wave_tables(table_registry(codebook))

    @dg.multi_asset(
        name="ingest_wave",
        specs=[table_spec(s, partitions_def=partitions) for s in specs],
        check_specs=check_specs(specs),
        partitions_def=partitions,
        can_subset=True,
        description="Read every export of a wave, validate it with pandera, and normalise it "
        "into the fact tables; bad rows and files go to the quarantine.",
    )
    def ingest_wave_asset(
        context: AssetExecutionContext, settings: Settings
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        wave = context.partition_key
        say = progress(context)
        # Fingerprinted before reading: an export replaced while it is read makes the next
        # run see a change and read it again, never the reverse.
        inputs = current_inputs(settings.raw, settings.warehouse, settings.sql)
        digest = inputs.wave_digests.get(wave, "")
        selected = [s for s in specs if asset_key(s.key) in context.selected_asset_keys]
        try:
            # each table is written as soon as it is made; none reaches its final path
            # before all have passed the personal-data check
            with WaveWriter(codebook, settings.warehouse, wave, [s.key for s in selected]) as out:
                facts = ingest_wave(
                    codebook,
                    settings.raw,
                    wave,
                    progress=say,
                    warehouse=settings.warehouse,
                    sink=out.add,
                )
                changed = out.commit()
        except PersonalDataError as exc:
            # The readers scrub what they keep, so this is a gap in the scrubbing: the write
            # is blocked (nothing was written) and the check fails, blocking the marts.
            context.log.error(f"wave {wave}: {exc}")
            check = dg.AssetCheckKey(asset_key(RESPONDENTS), "no_personal_data")
            if check not in context.selected_asset_check_keys:
                raise dg.Failure(f"wave {wave}: {exc}") from None
            yield dg.AssetCheckResult(
                asset_key=check.asset_key,
                check_name=check.name,
                passed=False,
                description="Personal data in tables about to be written: nothing was written.",
                metadata={"columns_with_personal_data": dg.MetadataValue.json(exc.found)},
            )
            return
        rewritten = sum(len(v) for v in changed.values())
        say(f"wave {wave}: {len(selected)} tables written ({rewritten} files changed)")
        gone = prune_partitions(
            codebook,
            settings.warehouse,
            [s.key for s in selected],
            lambda i, w: w != wave or i in facts.instruments(),
        )
        if gone:
            say(f"wave {wave}: removed partitions whose exports are gone: {gone}")

        files = facts.table(FILES)
        rejections = facts.table(REJECTIONS)
        whole = rejections[rejections["source_row"].isna()] if not rejections.empty else rejections
        reasons = dict(zip(whole["source_file"], whole["message"], strict=True))
        for row in files.itertuples(index=False):
            line = (
                f"{row.source_file}: {row.rows} rows -> {row.accepted} accepted, "
                f"{row.rejected} rejected"
            )
            if row.file_rejected:  # the message says why and what to do
                context.log.warning(f"{line} (whole file) -- {reasons.get(row.source_file, '')}")
            else:
                context.log.info(line)
        rule_counts = (
            rejections.groupby("rule").size().sort_index().to_dict() if not rejections.empty else {}
        )
        if rule_counts:
            context.log.warning(f"wave {wave} rejections by rule: {rule_counts}")

        for spec in selected:
            extra: dict[str, object] = {
                DIGEST: digest,
                "partitions_rewritten": len(changed[spec.key]),
                "instruments": ", ".join(facts.instruments()),
            }
            if spec.key == FILES:  # the wave's marker: what went in, for the plan's reasons
                extra["per_file"] = dg.MetadataValue.json(files.to_dict(orient="records"))
                extra.update(wave_record(inputs, wave))
            if spec.key == REJECTIONS:
                extra["rejections_by_rule"] = dg.MetadataValue.json(rule_counts)
            head = facts.head(spec.key)
            yield dg.MaterializeResult(
                asset_key=asset_key(spec.key),
                metadata=table_metadata(
                    head if len(head.columns) else spec.schema.empty_table().to_pandas(),
                    str(settings.warehouse / spec.key / f"instrument=*/wave={wave}" / PART_FILE),
                    rows=facts.row_count(spec.key),
                    **extra,
                ),
            )
        # the checks see what was written, read back table by table as they ask for it
        tables = written_tables(
            codebook, settings.warehouse, wave, {s.key: facts.made(s.key) for s in specs}
        )
        yield from check_results(
            codebook, specs, tables, FACT_CHECKS, context.selected_asset_check_keys
        )

    return ingest_wave_asset
