"""Facts (all waves) -> every mart, the comparisons, headlines, dictionary and the SQL copy.

Each table is its own asset in the lineage graph, yet all come out of one step (a
multi_asset with can_subset): tabulating is milliseconds, a process start is not.
"""

from collections.abc import Iterator

import dagster as dg
import pyarrow as pa
from dagster import AssetExecutionContext

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.defs.checks import asset_key, check_results, check_specs
from koryu_pipeline.defs.fingerprints import fingerprints, present_partitions
from koryu_pipeline.defs.ingest_assets import OWNERS, table_spec
from koryu_pipeline.defs.lineage import column_lineages
from koryu_pipeline.defs.metadata import headlines_markdown, table_metadata
from koryu_pipeline.defs.plan import current_inputs, marts_record
from koryu_pipeline.defs.progress import progress
from koryu_pipeline.ingest import cache
from koryu_pipeline.ingest.readers import misnamed_waves, set_aside_line
from koryu_pipeline.marts.build import MartTables, build_marts
from koryu_pipeline.marts.checks import MART_CHECKS
from koryu_pipeline.marts.comparisons import waves_note
from koryu_pipeline.settings import Settings
from koryu_pipeline.warehouse.frames import to_table
from koryu_pipeline.warehouse.parquet import (
    parquet_bytes,
    prune_partitions,
    table_path,
    write_atomic,
)
from koryu_pipeline.warehouse.publish import digest_bytes, partitions_on_disk, publish_marts
from koryu_pipeline.warehouse.read import read_facts
from koryu_pipeline.warehouse.tables import (
    EXPOSURES,
    HEADLINES,
    QUESTION_RESULTS,
    REPORT_DIR,
    SQL_COPY,
    WAVES,
    mart_tables,
    sql_tables,
    table_registry,
    wave_tables,
)

SQL_KEY = asset_key(SQL_COPY)
# The results summary, one asset per file the personnel bureaus open.
REPORT_KINDS = {"html": {"html"}, "pptx": {"powerpoint"}, "xlsx": {"excel"}}
REPORT_KEYS = {kind: dg.AssetKey(["report", kind]) for kind in REPORT_KINDS}
REPORT_DOCS = {
    "html": "The results summary (結果概要) as one self-contained HTML file: a cover computed "
    "from the data, then one section per slide with its headline, chart and base; prints one "
    "slide per A4-landscape page.",
    "pptx": "The results summary as PowerPoint: the same slides, with native, editable charts.",
    "xlsx": "集計表: every question and comparison as its own sheet (counts, bases, percentages, "
    "intervals), with a contents sheet.",
}


def waves_explanation(marts: MartTables) -> str:
    """Why marts/comparisons/waves holds what it holds (empty on one wave, by design)."""
    return waves_note(marts[QUESTION_RESULTS][0], marts[WAVES][0])


def build_marts_asset(codebook: Codebook) -> dg.AssetsDefinition:
    registry = table_registry(codebook)
    specs = mart_tables(registry)
    copied = sql_tables(registry)
    lineages = column_lineages(codebook, registry)
    sql_spec = dg.AssetSpec(
        key=SQL_KEY,
        description="The SQL copy: the facts, the quarantine and every mart, each as its own "
        "table at KORYU_SQL_URL (SQLite by default), in one transaction and only where the "
        "content changed (the facts per wave).",
        group_name="publish",
        kinds={"sqlalchemy", "sql"},
        owners=OWNERS,
        deps=[asset_key(s.key) for s in copied],
        skippable=True,
    )

    report_deps = [
        asset_key(s.key)
        for s in specs
        if s.group in ("marts_questions", "comparisons") or s.key == HEADLINES
    ]
    report_specs = [
        dg.AssetSpec(
            key=REPORT_KEYS[kind],
            description=REPORT_DOCS[kind]
            + f" <warehouse>/{REPORT_DIR}/koryu_results_<wave>.{kind}",
            group_name="report",
            kinds=kinds,
            owners=OWNERS,
            deps=report_deps,
            skippable=True,
        )
        for kind, kinds in REPORT_KINDS.items()
    ]

    @dg.multi_asset(
        name="build_marts",
        specs=[*(table_spec(s) for s in specs), sql_spec, *report_specs],
        check_specs=check_specs(specs),
        can_subset=True,
        description="Tabulate every question of both forms from the facts (all waves), "
        "compare the surveys, word the headlines, and publish the SQL copy.",
    )
    def build_marts_asset(
        context: AssetExecutionContext, settings: Settings
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        say = progress(context)
        present = present_partitions(fingerprints(settings.raw))
        gone = prune_partitions(
            codebook,
            settings.warehouse,
            [s.key for s in wave_tables(table_registry(codebook))],
            lambda i, w: (i, w) in present,
        )
        if gone:
            say(f"marts: removed partitions whose exports are gone: {gone}")
        cache.prune_folders(settings.warehouse, present)
        for folder, files in misnamed_waves(settings.raw).items():
            context.log.warning(f"set aside: {set_aside_line(folder, files)}")
        respondents, answers, exposures = read_facts(codebook, settings.warehouse)
        say(f"marts: tabulating {len(respondents)} responses of every wave")
        marts = build_marts(codebook, respondents, answers, exposures, settings.suppress_below)
        selected = context.selected_asset_keys
        rewritten = 0
        digests: dict[str, str] = {}
        arrow: dict[str, tuple[pa.Table, pa.Schema]] = {}
        for key, (frame, schema) in marts.items():
            if asset_key(key) not in selected and SQL_KEY not in selected:
                continue
            table = to_table(frame, schema)
            data = parquet_bytes(table)  # serialised once: the file, and the SQL digest
            digests[key] = digest_bytes(data)
            arrow[key] = (table, schema)
            if asset_key(key) not in selected:
                continue
            path = table_path(settings.warehouse, key)
            changed = write_atomic(path, data)
            rewritten += changed
            extra: dict[str, object] = {}
            if key == HEADLINES:
                extra["headlines"] = headlines_markdown(frame)
            if key == WAVES:
                extra["explanation"] = waves_explanation(marts)
            if key in lineages:
                extra["dagster/column_lineage"] = lineages[key]
            yield dg.MaterializeResult(
                asset_key=asset_key(key),
                metadata=table_metadata(table, str(path), rewritten=changed, **extra),
            )
        say(f"marts: {rewritten} of {len(marts)} mart files rewritten (the rest unchanged)")

        tables = {key: frame for key, (frame, _) in marts.items()}
        tables[EXPOSURES] = exposures
        yield from check_results(
            codebook, specs, tables, MART_CHECKS, context.selected_asset_check_keys
        )

        wanted = {kind for kind, key in REPORT_KEYS.items() if key in selected}
        if wanted:
            # imported here: the report's libraries cost a second and only this branch needs them
            from koryu_pipeline.report import build_report

            paths = build_report(codebook, tables, settings.warehouse / REPORT_DIR)
            for kind in sorted(wanted):
                yield dg.MaterializeResult(
                    asset_key=REPORT_KEYS[kind],
                    metadata={
                        "path": dg.MetadataValue.path(str(paths[kind])),
                        "bytes": paths[kind].stat().st_size,
                    },
                )

        if SQL_KEY in selected:
            # the facts and quarantine as the partitions on disk are, read back per wave
            partitioned = {
                s.key: (s.schema, partitions_on_disk(codebook, settings.warehouse, s.key, s.schema))
                for s in copied
                if s.partitioned
            }
            result = publish_marts(
                settings.sql, arrow, digests, partitioned=partitioned, specs=registry
            )
            say(
                f"SQL copy at {result.url_safe}: {len(result.replaced)} tables replaced, "
                f"{len(result.unchanged)} unchanged, "
                f"{len(result.partitions_replaced)} fact partitions replaced"
            )
            inputs = current_inputs(settings.raw, settings.warehouse, settings.sql)
            yield dg.MaterializeResult(
                asset_key=SQL_KEY,
                metadata={
                    **marts_record(inputs),  # the marts' marker: what they were built from
                    "url": result.url_safe,
                    "tables": len(marts) + len(partitioned),
                    "tables_replaced": len(result.replaced),
                    "partitions_replaced": dg.MetadataValue.json(result.partitions_replaced),
                    "dagster/row_count": sum(len(f) for f, _ in marts.values()),
                    "replaced": dg.MetadataValue.json(sorted(result.replaced)),
                },
            )

    return build_marts_asset
