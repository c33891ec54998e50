"""Facts (all waves) -> every mart, the comparisons, headlines, dictionary and the SQL copy.

Each table is its own asset in the lineage graph, yet all come out of one step (a
multi_asset with can_subset): tabulating is milliseconds, a process start is not.
"""

from collections.abc import Iterator

import dagster as dg
import pyarrow as pa
from dagster import AssetExecutionContext

from koryu_pipeline.codebook import Codebook, get_codebook
from koryu_pipeline.defs.facts_assets import OWNERS, asset_key
from koryu_pipeline.defs.metadata import definition_metadata, table_metadata
from koryu_pipeline.defs.plan import DIGEST, input_digests
from koryu_pipeline.defs.resources import KoryuPaths
from koryu_pipeline.mart_checks import run_mart_checks
from koryu_pipeline.marts import build_marts, mart_schemas
from koryu_pipeline.publish import digest_bytes, publish_marts
from koryu_pipeline.tabulate import question_table_keys
from koryu_pipeline.warehouse.parquet import parquet_bytes, table_path, to_table, write_atomic
from koryu_pipeline.warehouse.read import read_facts

SQL_KEY = dg.AssetKey(["sql", "marts"])
FACT_DEPS = [asset_key(t) for t in ("facts/respondents", "facts/answers", "facts/exposures")]


def _group(key: str) -> str:
    if key.startswith("marts/questions/"):
        return "marts_questions"
    if key.startswith("marts/breakdowns/"):
        return "marts_breakdowns"
    if key.startswith("marts/comparisons/"):
        return "comparisons"
    if key in ("marts/headlines", "data_dictionary"):
        return "report"
    return "marts"


def _description(codebook: Codebook, key: str) -> str:
    parts = key.split("/")
    if key.startswith("marts/questions/"):
        instrument, qid = parts[2], parts[3]
        form = [f for f in codebook.forms if f.instrument == instrument][-1]
        e = form.entry(qid)
        slide = f"slide {e.slide}, " if e.slide else ""
        return (
            f"{e.title or e.header} ({instrument} {qid}, {slide}{e.type}): per wave × item × "
            "option n, base_n, shown_n, pct with its Wilson 95% interval (its checks run on "
            "marts/question_results, of which it is a slice)."
        )
    return {
        "marts/question_results": "Every per-question table in one, for BI tools.",
        "marts/comparisons/support_gap": "Slide 14: each hires wish beside the ministry support "
        "it pairs with (crosswalk), gap in percentage points with a Newcombe 95% interval.",
        "marts/comparisons/dispatch_vs_hiring": "The mirrored dispatch and hiring questions "
        "(q01↔q09, q02↔q10, q04↔q11, q07↔q16, q08_age↔q17_age) paired by label.",
        "marts/comparisons/waves": "Each option's pct beside the previous wave, with the "
        "difference and its interval (empty while one wave exists).",
        "marts/headlines": "One finding per slide and wave, worded as the results summary "
        "words it, computed from the marts by the rules in codebook/headlines.yaml.",
        "data_dictionary": "Every published table and column, with type and descriptions in "
        "Japanese and English.",
    }.get(key, f"{key}: breakdown by respondent attribute; small cells suppressed.")


def _specs(codebook: Codebook) -> list[dg.AssetSpec]:
    specs = [
        dg.AssetSpec(
            key=asset_key(key),
            description=_description(codebook, key),
            group_name=_group(key),
            kinds={"parquet", "pandas"},
            owners=OWNERS,
            deps=FACT_DEPS,
            metadata=definition_metadata(schema),
            skippable=True,
        )
        for key, schema in mart_schemas(codebook).items()
    ]
    specs.append(
        dg.AssetSpec(
            key=SQL_KEY,
            description="The SQL copy: every mart as its own table at KORYU_SQL_URL "
            "(SQLite by default), replaced in one transaction, only when its content changed.",
            group_name="publish",
            kinds={"sqlalchemy", "sql"},
            owners=OWNERS,
            deps=[asset_key(k) for k in mart_schemas(codebook)],
            skippable=True,
        )
    )
    return specs


# Checks sit on the tables that hold every figure: question_results is the union of the
# per-question tables (a test holds each table to its slice), and each breakdown. Every
# check is three events in Dagster's log, so they are not repeated per question.
CHECKED = ("marts/question_results", "marts/breakdowns/")
CHECK_DOCS = {
    "pct_range": "Percentages and interval bounds within 0–100.",
    "base_le_shown": "n ≤ base_n ≤ shown_n: nobody answers a question the routing did not show.",
    "single_choice_sums": "A single-choice question's (or likert item's) option counts sum to "
    "its base.",
    "bases_match_facts": "Every base_n and shown_n equals a recount from facts/exposures.",
    "figures_valid": "Percentages within 0–100 and n ≤ base_n ≤ shown_n in every cell "
    "that is not suppressed.",
}
# a breakdown's two figure checks are reported as one (each check is three events)
MERGED = {"pct_range": "figures_valid", "base_le_shown": "figures_valid"}


def _checked(key: str) -> bool:
    return key == CHECKED[0] or key.startswith(CHECKED[1])


def _check_specs(codebook: Codebook) -> list[dg.AssetCheckSpec]:
    specs: list[dg.AssetCheckSpec] = []
    for key in mart_schemas(codebook):
        if not _checked(key):
            continue
        if key == CHECKED[0]:
            names = ["pct_range", "base_le_shown", "single_choice_sums", "bases_match_facts"]
        else:
            names = ["figures_valid"]
        specs += [
            dg.AssetCheckSpec(n, asset=asset_key(key), description=CHECK_DOCS[n]) for n in names
        ]
    return specs


def _check_results(
    results: dict[str, tuple[bool, dict]],
) -> dict[tuple[str, str], tuple[bool, dict]]:
    """run_mart_checks names ("check" or "check:<table>") -> (table, check name) -> result,
    a breakdown's figure checks merged into one."""
    out: dict[tuple[str, str], tuple[bool, dict]] = {}
    for name, (passed, meta) in results.items():
        check, _, key = name.partition(":")
        key = key or CHECKED[0]
        if key != CHECKED[0]:
            check_meta = {f"{check}.{k}": v for k, v in meta.items() if k != "description"}
            check = MERGED.get(check, check)
            before_passed, before_meta = out.get((key, check), (True, {}))
            passed, meta = before_passed and passed, {**before_meta, **check_meta}
        out[(key, check)] = (passed, meta)
    return out


@dg.multi_asset(
    name="build_marts",
    specs=_specs(get_codebook()),
    check_specs=_check_specs(get_codebook()),
    can_subset=True,
    description="Tabulate every question of both forms from the facts (all waves), compare "
    "the surveys, word the headlines, and publish the SQL copy.",
)
def build_marts_asset(
    context: AssetExecutionContext, paths: KoryuPaths
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    codebook = get_codebook()
    respondents, answers, exposures = read_facts(codebook, paths.warehouse)
    marts = build_marts(codebook, respondents, answers, exposures, paths.suppress_below)
    selected = context.selected_asset_keys
    rewritten = 0
    digests: dict[str, str] = {}
    arrow: dict[str, tuple[pa.Table, pa.Schema]] = {}
    for key, (frame, schema) in marts.items():
        if asset_key(key) not in selected and SQL_KEY not in selected:
            continue
        table = to_table(frame, schema)
        data = parquet_bytes(table)  # serialised once: the file, and the SQL copy's digest
        digests[key] = digest_bytes(data)
        arrow[key] = (table, schema)
        if asset_key(key) not in selected:
            continue
        path = table_path(paths.warehouse, key)
        changed = write_atomic(path, data)
        rewritten += changed
        yield dg.MaterializeResult(
            asset_key=asset_key(key),
            metadata=table_metadata(table, str(path), rewritten=changed),
        )
    context.log.info(f"{rewritten} of {len(marts)} mart files rewritten (the rest unchanged)")

    wanted = context.selected_asset_check_keys
    to_check = {k: v for k, v in marts.items() if _checked(k)}
    for (key, check), (passed, meta) in _check_results(
        run_mart_checks(to_check, exposures)
    ).items():
        if dg.AssetCheckKey(asset_key(key), check) in wanted:
            yield dg.AssetCheckResult(
                asset_key=asset_key(key),
                check_name=check,
                passed=passed,
                description=CHECK_DOCS[check],
                metadata={
                    k: dg.MetadataValue.json(v) if isinstance(v, list | dict) else v
                    for k, v in meta.items()
                    if k != "description"
                },
            )

    if SQL_KEY in selected:
        result = publish_marts(paths.sql, arrow, digests)
        context.log.info(
            f"SQL copy at {result.url_safe}: {len(result.replaced)} tables replaced, "
            f"{len(result.unchanged)} unchanged"
        )
        yield dg.MaterializeResult(
            asset_key=SQL_KEY,
            metadata={
                DIGEST: input_digests(paths.raw, paths.warehouse, paths.sql)[1],
                "url": result.url_safe,
                "tables": len(marts),
                "tables_replaced": len(result.replaced),
                "dagster/row_count": sum(len(f) for f, _ in marts.values()),
                "replaced": dg.MetadataValue.json(sorted(result.replaced)),
            },
        )


__all__ = ["SQL_KEY", "build_marts_asset", "question_table_keys"]
