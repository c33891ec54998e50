"""The table registry: every warehouse table, described once.

What a table *is* -- its path, columns (Arrow type, whether a value is required, ja/en
description), description, asset group, partitioning, unique key, row order and checks --
is written here and nowhere else (PUDL's RESOURCE_METADATA is the model). The pandera
schemas of the facts, the Dagster asset specs and their column schemas, the data
dictionary, the SQL copy's column types and `docs/warehouse.md`'s table list are all
derived from it.

Static tables are listed as data below; the per-question and breakdown marts, the staging
tables and `facts/respondents` follow from the codebook (`table_registry(codebook)`).
Column descriptions come from the catalogue `columns.yaml` beside this file.

Arrow fields stay nullable in the files whatever `required` says: `required` is a rule the
checks enforce, and a file's bytes must not change when a rule does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd

from koryu_pipeline.codebook import Codebook, Entry, Form
from koryu_pipeline.codebook.model import CODEBOOK_DIR, load_yaml

CATALOGUE_PATH = Path(__file__).with_name("columns.yaml")
UTC_US = pa.timestamp("us", tz="UTC")
PARTITION_COLUMNS = ("instrument", "wave")
# The survey year, one integer type in every table and the SQL copy: hive readers turn the
# folder `wave=2023` into an integer (pyarrow int32, DuckDB BIGINT, polars Int64), which a
# string column would not join (pandas silently finds no rows; polars refuses). int32 is
# what pyarrow, and so pandas, infers.
WAVE_TYPE = pa.int32()


# --------------------------------------------------------------------------- the types


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    required: bool = False  # never null (checked); the Arrow field stays nullable
    description_ja: str | None = None
    description_en: str | None = None

    @property
    def description(self) -> str:
        return " / ".join(d for d in (self.description_en, self.description_ja) if d)


@dataclass(frozen=True)
class CheckSpec:
    """A check declared on a table; its plain function lives with the stage that builds
    the table (ingest/checks.py, marts/checks.py) under the same name."""

    name: str
    description: str
    blocking: bool = False


@dataclass(frozen=True)
class CheckOutcome:
    """What a check function returns; the Dagster layer maps it to an AssetCheckResult."""

    passed: bool
    metadata: dict[str, Any] = field(default_factory=dict)


Tables = Mapping[str, "pd.DataFrame"]
# A check function: (codebook, the checked table's key, the tables it may read) -> outcome
CheckFn = Callable[[Codebook, str, Tables], CheckOutcome]


@dataclass(frozen=True)
class TableSpec:
    key: str  # warehouse-relative path, e.g. "facts/answers"; also the asset key
    description: str
    group: str
    columns: tuple[Column, ...]
    partitioned: bool = False  # hive-partitioned instrument=…/wave=…
    unique: tuple[str, ...] = ()  # the columns that identify a row
    sort_by: tuple[str, ...] = ()
    checks: tuple[CheckSpec, ...] = ()
    deps: tuple[str, ...] = ()  # table keys (or raw asset paths) it is computed from
    kinds: frozenset[str] = frozenset({"parquet", "pandas"})
    in_dictionary: bool = True

    @property
    def schema(self) -> pa.Schema:
        return schema_of(self.columns)

    @property
    def file_schema(self) -> pa.Schema:
        return file_schema(self.schema) if self.partitioned else self.schema

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


Registry = dict[str, TableSpec]


def file_schema(schema: pa.Schema) -> pa.Schema:
    """A partitioned table's schema as stored in its files: the partition columns live in
    the path only (as Spark and pyarrow write them), or hive readers refuse the dataset."""
    return pa.schema([f for f in schema if f.name not in PARTITION_COLUMNS])


def schema_of(columns: Iterable[Column]) -> pa.Schema:
    return pa.schema([(c.name, c.type) for c in columns])


def _cols(spec: Iterable[tuple[str, pa.DataType]], required: Iterable[str] = ()) -> list[Column]:
    must = set(required)
    return [Column(n, t, n in must) for n, t in spec]


# --------------------------------------------------------------------------- facts


STAGING_PARSED = "staging/parsed"
STAGING_VALIDATED = "staging/validated"
RESPONDENTS = "facts/respondents"
ANSWERS = "facts/answers"
EXPOSURES = "facts/exposures"
REJECTIONS = "quarantine/rejections"
FILES = "quarantine/files"
STAGING_TABLES = (STAGING_PARSED, STAGING_VALIDATED)
FACT_TABLES = (RESPONDENTS, ANSWERS, EXPOSURES, REJECTIONS, FILES)
WAVE_TABLES = STAGING_TABLES + FACT_TABLES  # what one wave's ingest writes
RAW = "raw/{instrument}/exports"  # the external raw-export assets

ANSWERS_COLUMNS = _cols(
    [
        ("respondent_id", pa.string()),
        ("instrument", pa.string()),
        ("wave", WAVE_TYPE),
        ("question_id", pa.string()),
        ("question_sort", pa.int16()),
        ("item_id", pa.string()),
        ("item_label", pa.string()),
        ("item_sort", pa.int16()),
        ("option_code", pa.int16()),
        ("option_label", pa.string()),
        ("option_sort", pa.int16()),
    ],
    required=("respondent_id", "question_id", "option_code", "option_label"),
)
EXPOSURES_COLUMNS = _cols(
    [
        ("respondent_id", pa.string()),
        ("instrument", pa.string()),
        ("wave", WAVE_TYPE),
        ("question_id", pa.string()),
        ("item_id", pa.string()),
        ("shown", pa.bool_()),
        ("answered", pa.bool_()),
    ],
    required=("respondent_id", "question_id", "shown", "answered"),
)
REJECTIONS_COLUMNS = _cols(
    [
        ("instrument", pa.string()),
        ("wave", WAVE_TYPE),
        ("source_file", pa.string()),
        ("source_row", pa.int32()),
        ("rule", pa.string()),
        ("column", pa.string()),
        ("value", pa.string()),
        ("message", pa.string()),
    ],
    required=("source_file", "rule", "message"),
)
FILES_COLUMNS = _cols(
    [
        ("instrument", pa.string()),
        ("wave", WAVE_TYPE),
        ("source_file", pa.string()),
        ("rows", pa.int32()),
        ("accepted", pa.int32()),
        ("rejected", pa.int32()),
        ("file_rejected", pa.bool_()),
    ],
    required=("source_file", "rows", "accepted", "rejected"),
)

ANSWERS_SCHEMA = schema_of(ANSWERS_COLUMNS)
EXPOSURES_SCHEMA = schema_of(EXPOSURES_COLUMNS)
REJECTIONS_SCHEMA = schema_of(REJECTIONS_COLUMNS)
FILES_SCHEMA = schema_of(FILES_COLUMNS)

_PANDERA = CheckSpec(
    "pandera_schema",
    "The written partition validates against the table's pandera schema.",
    blocking=True,
)
_FACT_KINDS = frozenset({"parquet", "pandas", "pandera"})


def _partition_note(key: str) -> str:
    # code spans: the UI renders descriptions as markdown, where <warehouse> would vanish
    return (
        f" Parquet at `<warehouse>/{key}/instrument=…/wave=…/`, and whole in one file with "
        f"instrument and wave as columns at `<warehouse>/{key}.parquet`."
    )


def wide_schema(form: Form, validated: bool) -> pa.Schema:
    """The staging tables of one form: the readers' wide frame (`staging/parsed`, every row
    of every readable export) and the accepted responses (`staging/validated`, with
    respondent_id). One column per codebook field: a label (string), or the chosen labels
    (list<string>)."""
    fields: list[tuple[str, pa.DataType]] = [("instrument", pa.string()), ("wave", WAVE_TYPE)]
    if validated:
        fields.append(("respondent_id", pa.string()))
    fields += [
        ("source_file", pa.string()),
        ("source_row", pa.int32()),
        ("submitted_at", UTC_US),
        ("response_key", pa.string()),
    ]
    for f in form.fields:
        fields.append((f.column, pa.list_(pa.string()) if f.entry.is_multi else pa.string()))
    return pa.schema(fields)


def attribute_entries(codebook: Codebook) -> list[Entry]:
    """Respondent attributes over all forms, first appearance order, one per id."""
    seen: dict[str, Entry] = {}
    for form in sorted(codebook.forms, key=lambda f: (f.instrument, f.wave)):
        for e in form.attributes:
            seen.setdefault(e.id, e)
    return list(seen.values())


def _respondents_columns(codebook: Codebook) -> list[Column]:
    fields: list[tuple[str, pa.DataType]] = [
        ("respondent_id", pa.string()),
        ("instrument", pa.string()),
        ("wave", WAVE_TYPE),
        ("submitted_at", UTC_US),
    ]
    for e in attribute_entries(codebook):
        fields.append((e.id, pa.string()))
        if e.is_choice:
            fields.append((f"{e.id}_code", pa.int16()))
    fields += [("source_file", pa.string()), ("source_row", pa.int32())]
    return _cols(fields, required=("respondent_id", "instrument", "wave", "submitted_at"))


def _union(schemas: Iterable[pa.Schema]) -> list[Column]:
    """One column list over several schemas, first appearance order."""
    out: dict[str, pa.DataType] = {}
    for schema in schemas:
        for f in schema:
            out.setdefault(f.name, f.type)
    return _cols(out.items())


def _fact_specs(codebook: Codebook) -> list[TableSpec]:
    latest = {f.instrument: f for f in sorted(codebook.forms, key=lambda f: f.wave)}
    raw = tuple(RAW.format(instrument=i) for i in codebook.instruments)

    def staging(validated: bool) -> list[Column]:
        forms = [f for _, f in sorted(latest.items())]
        return _union(wide_schema(f, validated) for f in forms)

    def fact(key: str, doc: str, columns: list[Column], deps: tuple[str, ...], **kw: Any):
        return TableSpec(
            key=key,
            description=doc + _partition_note(key),
            group=key.split("/")[0],
            columns=tuple(columns),
            partitioned=True,
            deps=deps,
            kinds=_FACT_KINDS,
            **kw,
        )

    return [
        fact(
            STAGING_PARSED,
            "Every row of every readable export as the readers give it: one column per "
            "codebook field (labels NFKC-normalised; multi answers as lists), submission time "
            "in UTC, personal columns dropped. One schema per instrument. 読み込んだ全行。",
            staging(False),
            raw,
            in_dictionary=False,
        ),
        fact(
            STAGING_VALIDATED,
            "The accepted responses, wide, with their respondent_id: every pandera rule "
            "passed, duplicates and superseded submissions removed. 受理された回答。",
            staging(True),
            (STAGING_PARSED,),
            in_dictionary=False,
        ),
        fact(
            RESPONDENTS,
            "One row per accepted response, with the respondent attributes of its form. "
            "受理された回答1件につき1行。",
            _respondents_columns(codebook),
            (STAGING_VALIDATED,),
            unique=("respondent_id",),
            checks=(
                _PANDERA,
                CheckSpec(
                    "no_personal_data",
                    "No メール / 名前 column, e-mail address or telephone number anywhere in "
                    "the wave's tables, staging included; tested on the tables before they "
                    "are written too (then nothing of the wave is written).",
                    blocking=True,
                ),
            ),
        ),
        fact(
            ANSWERS,
            "One row per respondent × question × item × chosen option. "
            "回答者×設問×項目×選択肢につき1行。",
            ANSWERS_COLUMNS,
            (STAGING_VALIDATED,),
            unique=("respondent_id", "question_id", "item_id", "option_code"),
            checks=(_PANDERA,),
        ),
        fact(
            EXPOSURES,
            "One row per respondent × question × item: shown by the routing, answered. The "
            "bases of every mart. 設問の提示・回答の有無。",
            EXPOSURES_COLUMNS,
            (STAGING_VALIDATED,),
            checks=(_PANDERA,),
        ),
        fact(
            REJECTIONS,
            "One row per rule a rejected response (or file) broke: file, row, rule, column, "
            "value, message. 不受理の記録。",
            REJECTIONS_COLUMNS,
            (STAGING_PARSED,),
            checks=(_PANDERA,),
        ),
        fact(
            FILES,
            "Per raw export: rows, accepted, rejected (accepted + rejected = rows). "
            "ファイル別の受理・不受理件数。",
            FILES_COLUMNS,
            (STAGING_PARSED,),
            checks=(
                _PANDERA,
                CheckSpec(
                    "row_conservation",
                    "For every raw file: accepted + rejected = rows in the file, and the "
                    "accepted rows are exactly facts/respondents.",
                    blocking=True,
                ),
            ),
        ),
    ]


# --------------------------------------------------------------------------- marts

QUESTIONS_PREFIX = "marts/questions"
BREAKDOWNS_PREFIX = "marts/breakdowns"
COMPARISONS_PREFIX = "marts/comparisons"
QUESTION_RESULTS = "marts/question_results"
SUPPORT_GAP = f"{COMPARISONS_PREFIX}/support_gap"
DISPATCH_VS_HIRING = f"{COMPARISONS_PREFIX}/dispatch_vs_hiring"
WAVES = f"{COMPARISONS_PREFIX}/waves"
HEADLINES = "marts/headlines"
DATA_DICTIONARY = "data_dictionary"
SQL_COPY = "sql/marts"  # the SQL copy, an asset though not a Parquet table
REPORT_DIR = "report"  # <warehouse>/report/: the results summary's files
FACT_INPUTS = (RESPONDENTS, ANSWERS, EXPOSURES)  # what the breakdowns are computed from
QUESTION_INPUTS = (ANSWERS, EXPOSURES)  # a question table needs no respondent attributes
HEADLINE_RULES = CODEBOOK_DIR / "headlines.yaml"

# The contract's columns first, in its order; then what we add (additions only, ever).
# One column set for every question whatever its type, so question_results is a plain
# concatenation: the likert-only columns are null for choice questions.
QUESTION_COLUMNS = _cols(
    [
        ("instrument", pa.string()),
        ("wave", WAVE_TYPE),
        ("question_id", pa.string()),
        ("item_id", pa.string()),
        ("item_label", pa.string()),
        ("option_code", pa.int16()),
        ("option_label", pa.string()),
        ("option_sort", pa.int16()),
        ("n", pa.int32()),
        ("base_n", pa.int32()),
        ("shown_n", pa.int32()),
        ("pct", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("suppressed", pa.bool_()),
        ("positive_pct", pa.float64()),
        ("negative_pct", pa.float64()),
        ("positive_pct_excl_dk", pa.float64()),
        ("pct_of_responses", pa.float64()),
        ("positive_n", pa.int32()),
        ("negative_n", pa.int32()),
        ("dont_know_n", pa.int32()),
        ("question_type", pa.string()),
        ("question_sort", pa.int16()),
        ("slide", pa.int16()),
        ("title", pa.string()),
        ("item_sort", pa.int16()),
        # issue 10: the likert summaries' Wilson 95% intervals, in percent
        ("positive_ci_low", pa.float64()),
        ("positive_ci_high", pa.float64()),
        ("negative_ci_low", pa.float64()),
        ("negative_ci_high", pa.float64()),
    ]
)
QUESTION_SORT = ("wave", "item_sort", "option_sort")
RESULTS_SORT = ("instrument", "wave", "question_sort", "item_sort", "option_sort")

# A breakdown cell is a question cell within one group of respondents (or all of them).
BREAKDOWN_COLUMNS = [
    *QUESTION_COLUMNS[:3],
    *_cols(
        [
            ("attribute", pa.string()),
            ("group_code", pa.int16()),
            ("group_label", pa.string()),
            ("group_sort", pa.int16()),
        ]
    ),
    *QUESTION_COLUMNS[3:],
    *_cols([("is_total", pa.bool_()), ("suppression", pa.string())]),  # issue 10
]
BREAKDOWN_SORT = ("wave", "question_sort", "group_sort", "item_sort", "option_sort")

# Every percentage (or interval bound, in percent) a question table carries.
PERCENT_COLUMNS = (
    "pct",
    "ci_low",
    "ci_high",
    "positive_pct",
    "negative_pct",
    "positive_pct_excl_dk",
    "pct_of_responses",
    "positive_ci_low",
    "positive_ci_high",
    "negative_ci_low",
    "negative_ci_high",
)
# Columns that reveal what a small group answered: withheld (null) in a suppressed cell.
WITHHELD_COLUMNS = ("n", *PERCENT_COLUMNS, "positive_n", "negative_n", "dont_know_n")

SUPPORT_GAP_COLUMNS = _cols(
    [
        ("wave", WAVE_TYPE),
        ("hires_option_label", pa.string()),
        ("ministry_option_label", pa.string()),
        ("hires_n", pa.int32()),
        ("hires_base_n", pa.int32()),
        ("hires_pct", pa.float64()),
        ("ministry_n", pa.int32()),
        ("ministry_base_n", pa.int32()),
        ("ministry_pct", pa.float64()),
        ("gap_pct_points", pa.float64()),
        ("gap_ci_low", pa.float64()),
        ("gap_ci_high", pa.float64()),
        ("hires_rank", pa.int16()),
        ("hires_option_code", pa.int16()),
        ("ministry_option_code", pa.int16()),
        ("crosswalk_id", pa.string()),
        ("slide", pa.int16()),
        ("hires_instrument", pa.string()),
        ("hires_question_id", pa.string()),
        ("ministry_instrument", pa.string()),
        ("ministry_question_id", pa.string()),
    ]
)
DISPATCH_VS_HIRING_COLUMNS = _cols(
    [
        ("instrument", pa.string()),
        ("wave", WAVE_TYPE),
        ("dispatch_question_id", pa.string()),
        ("hiring_question_id", pa.string()),
        ("measure", pa.string()),
        ("label", pa.string()),
        ("dispatch_item_id", pa.string()),
        ("hiring_item_id", pa.string()),
        ("dispatch_option_code", pa.int16()),
        ("hiring_option_code", pa.int16()),
        ("dispatch_n", pa.int32()),
        ("dispatch_base_n", pa.int32()),
        ("dispatch_pct", pa.float64()),
        ("hiring_n", pa.int32()),
        ("hiring_base_n", pa.int32()),
        ("hiring_pct", pa.float64()),
        ("diff_pct_points", pa.float64()),
        ("diff_ci_low", pa.float64()),
        ("diff_ci_high", pa.float64()),
        ("pair_sort", pa.int16()),
        ("row_sort", pa.int16()),
        ("dispatch_label", pa.string()),
        ("hiring_label", pa.string()),
        ("dispatch_shown_n", pa.int32()),
        ("hiring_shown_n", pa.int32()),
        ("dispatch_routing", pa.string()),
        ("hiring_routing", pa.string()),
        ("bases_differ_by_routing", pa.bool_()),
    ]
)
WAVES_COLUMNS = _cols(
    [
        ("instrument", pa.string()),
        ("question_id", pa.string()),
        ("item_id", pa.string()),
        ("item_label", pa.string()),
        ("option_code", pa.int16()),
        ("option_label", pa.string()),
        ("wave", WAVE_TYPE),
        ("previous_wave", WAVE_TYPE),
        ("n", pa.int32()),
        ("base_n", pa.int32()),
        ("pct", pa.float64()),
        ("previous_n", pa.int32()),
        ("previous_base_n", pa.int32()),
        ("previous_pct", pa.float64()),
        ("diff_pct_points", pa.float64()),
        ("diff_ci_low", pa.float64()),
        ("diff_ci_high", pa.float64()),
        ("question_sort", pa.int16()),
        ("item_sort", pa.int16()),
        ("option_sort", pa.int16()),
    ]
)
HEADLINES_COLUMNS = _cols(
    [
        ("wave", WAVE_TYPE),
        ("slide", pa.int16()),
        ("title", pa.string()),
        ("headline", pa.string()),
        ("sources", pa.string()),  # the marts the figures came from, e.g. "ministry/q01"
        # what the headline rests on, as JSON text (DuckDB: json_extract / unnest)
        ("figures", pa.string()),
        ("conditions", pa.string()),
        ("conditions_checked", pa.int16()),
        ("conditions_failed", pa.int16()),
    ]
)
DATA_DICTIONARY_COLUMNS = _cols(
    [
        ("table", pa.string()),
        ("column", pa.string()),
        ("type", pa.string()),
        ("description_ja", pa.string()),
        ("description_en", pa.string()),
        ("position", pa.int16()),
        # `table` and `column` again, under the names the SQL copy gives them (reserved
        # words in SQL); the Parquet keeps the first two for the readers of the contract
        ("table_name", pa.string()),
        ("column_name", pa.string()),
        ("sql_table", pa.string()),
        ("sql_column", pa.string()),
        ("table_description", pa.string()),
    ]
)

SUPPORT_GAP_SORT = ("crosswalk_id", "wave", "hires_option_code")
DISPATCH_VS_HIRING_SORT = ("instrument", "wave", "pair_sort", "row_sort")
WAVES_SORT = ("instrument", "wave", "question_sort", "item_sort", "option_sort")
HEADLINES_SORT = ("wave", "slide")
DATA_DICTIONARY_SORT = ("table", "position")

# The static marts' Arrow schemas, for the modules that build them.
QUESTION_SCHEMA = schema_of(QUESTION_COLUMNS)
BREAKDOWN_SCHEMA = schema_of(BREAKDOWN_COLUMNS)
SUPPORT_GAP_SCHEMA = schema_of(SUPPORT_GAP_COLUMNS)
DISPATCH_VS_HIRING_SCHEMA = schema_of(DISPATCH_VS_HIRING_COLUMNS)
WAVES_SCHEMA = schema_of(WAVES_COLUMNS)
HEADLINES_SCHEMA = schema_of(HEADLINES_COLUMNS)
DATA_DICTIONARY_SCHEMA = schema_of(DATA_DICTIONARY_COLUMNS)

_MART_CHECKS = {
    "pct_range": "Percentages and interval bounds within 0–100.",
    "base_le_shown": "n ≤ base_n ≤ shown_n: nobody answers a question the routing did not show.",
    "single_choice_sums": "A single-choice question's (or likert item's) option counts sum to "
    "its base.",
    "bases_match_facts": "Every base_n and shown_n equals a recount from facts/exposures.",
    # a breakdown's two figure checks as one: every check is three events in Dagster's log
    "figures_valid": "Percentages within 0–100 and n ≤ base_n ≤ shown_n in every cell "
    "that is not suppressed, and no withheld cell the only unknown behind its total (the "
    "total less the other groups would give it back).",
}


def _mart_check(name: str) -> CheckSpec:
    return CheckSpec(name, _MART_CHECKS[name])


def question_key(instrument: str, question_id: str) -> str:
    return f"{QUESTIONS_PREFIX}/{instrument}/{question_id}"


def breakdown_key(instrument: str, attribute: str) -> str:
    return f"{BREAKDOWNS_PREFIX}/{instrument}/{attribute}"


def instrument_questions(codebook: Codebook, instrument: str) -> list[str]:
    """Question ids of an instrument over all its waves: the latest form's order, then any
    question only earlier waves asked (its table keeps the history)."""
    ids: list[str] = []
    for wave in reversed(codebook.waves(instrument)):
        for e in codebook.form(instrument, wave).questions:
            if e.is_choice and e.id not in ids:
                ids.append(e.id)
    return ids


def question_table_keys(codebook: Codebook) -> list[str]:
    """Every per-question table, from the codebook alone (no data needed)."""
    return [
        question_key(instrument, qid)
        for instrument in codebook.instruments
        for qid in instrument_questions(codebook, instrument)
    ]


def routing_ids(form: Form) -> set[str]:
    return {dep for e in form.entries for dep, _ in e.asked_if}


def breakdown_attributes(codebook: Codebook, instrument: str) -> list[str]:
    """Attribute ids to break `instrument` down by, in form order, over all its waves: the
    single-choice respondent attributes that do not route the questionnaire (splitting by a
    screening question only repeats the routing)."""
    ids: list[str] = []
    for wave in reversed(codebook.waves(instrument)):
        form = codebook.form(instrument, wave)
        routing = routing_ids(form)
        for e in form.attributes:
            if e.type == "single" and e.id not in routing and e.id not in ids:
                ids.append(e.id)
    return ids


def breakdown_table_keys(codebook: Codebook) -> list[str]:
    return [
        breakdown_key(instrument, attr)
        for instrument in codebook.instruments
        for attr in breakdown_attributes(codebook, instrument)
    ]


def _question_description(codebook: Codebook, key: str) -> str:
    _, _, instrument, qid = key.split("/")
    form = [f for f in codebook.forms if f.instrument == instrument][-1]
    e = form.entry(qid)
    slide = f"slide {e.slide}, " if e.slide else ""
    return (
        f"{e.title or e.header} ({instrument} {qid}, {slide}{e.type}): per wave × item × "
        "option n, base_n, shown_n, pct with its Wilson 95% interval (its checks run on "
        "marts/question_results, of which it is a slice)."
    )


def _existing(keys: Iterable[str], known: Iterable[str]) -> tuple[str, ...]:
    """`keys` in first-appearance order, without repeats, keeping only tables that exist."""
    have = set(known)
    return tuple(k for k in dict.fromkeys(keys) if k in have)


def comparison_inputs(codebook: Codebook) -> dict[str, tuple[str, ...]]:
    """The question tables each cross-survey comparison reads: support_gap the two sides of
    every crosswalk, dispatch_vs_hiring both questions of every mirror pair."""
    questions = question_table_keys(codebook)
    gap = [
        key
        for form in codebook.forms
        for cw in form.crosswalks
        for key in (
            question_key(form.instrument, cw.question),
            question_key(cw.to_instrument, cw.to_question),
        )
    ]
    mirrors = [
        question_key(form.instrument, q)
        for form in codebook.forms
        for mirror in form.mirrors
        for q in mirror.questions
    ]
    return {
        SUPPORT_GAP: _existing(gap, questions),
        DISPATCH_VS_HIRING: _existing(mirrors, questions),
    }


def headline_inputs(codebook: Codebook, rules_path: Path = HEADLINE_RULES) -> tuple[str, ...]:
    """The marts the headline rules (codebook/headlines.yaml) take their figures from."""
    keys: list[str] = []
    for slide in (load_yaml(rules_path) or {}).get("slides") or []:
        for sentence in slide.get("sentences") or []:
            source = sentence.get("source") or {}
            if "comparison" in source:
                keys.append(f"{COMPARISONS_PREFIX}/{source['comparison']}")
            elif "instrument" in source and "question" in source:
                keys.append(question_key(source["instrument"], source["question"]))
    return _existing(keys, [*question_table_keys(codebook), SUPPORT_GAP, DISPATCH_VS_HIRING])


def _mart_specs(codebook: Codebook) -> list[TableSpec]:
    # Lineage says what each table is read from: the question tables from the facts, the
    # rest from the question tables they combine (all in one step, so this costs no run).
    def mart(key: str, group: str, description: str, columns: list[Column], **kw: Any):
        return TableSpec(
            key=key, description=description, group=group, columns=tuple(columns), **kw
        )

    questions = question_table_keys(codebook)
    compared = comparison_inputs(codebook)
    specs = [
        mart(
            key,
            "marts_questions",
            _question_description(codebook, key),
            QUESTION_COLUMNS,
            sort_by=QUESTION_SORT,
            deps=QUESTION_INPUTS,
        )
        for key in questions
    ]
    specs.append(
        mart(
            QUESTION_RESULTS,
            "marts",
            "Every per-question table in one, for BI tools.",
            QUESTION_COLUMNS,
            sort_by=RESULTS_SORT,
            deps=tuple(questions),
            checks=tuple(
                _mart_check(n)
                for n in ("pct_range", "base_le_shown", "single_choice_sums", "bases_match_facts")
            ),
        )
    )
    specs += [
        mart(
            key,
            "marts_breakdowns",
            f"{key}: breakdown by respondent attribute; small cells suppressed.",
            BREAKDOWN_COLUMNS,
            sort_by=BREAKDOWN_SORT,
            deps=FACT_INPUTS,
            checks=(_mart_check("figures_valid"),),
        )
        for key in breakdown_table_keys(codebook)
    ]
    specs += [
        mart(
            SUPPORT_GAP,
            "comparisons",
            "Slide 14: each hires wish beside the ministry support it pairs with (crosswalk), "
            "gap in percentage points with a Newcombe 95% interval.",
            SUPPORT_GAP_COLUMNS,
            sort_by=SUPPORT_GAP_SORT,
            deps=compared[SUPPORT_GAP],
        ),
        mart(
            DISPATCH_VS_HIRING,
            "comparisons",
            "The mirrored dispatch and hiring questions (q01↔q09, q02↔q10, q04↔q11, q07↔q16, "
            "q07_reasons↔q16_reasons, q08_age↔q17_age): one row per item or option pair the "
            "codebook's mirrors list by meaning, with both shares and bases, the difference "
            "in points with its Newcombe 95% interval, and whether the bases differ by routing.",
            DISPATCH_VS_HIRING_COLUMNS,
            sort_by=DISPATCH_VS_HIRING_SORT,
            deps=compared[DISPATCH_VS_HIRING],
        ),
        mart(
            WAVES,
            "comparisons",
            "Each option's pct beside the previous wave of the same instrument, with the "
            "difference and its Newcombe 95% interval. Empty, by design, while the warehouse "
            "holds a single wave of each instrument: it fills when a second wave is ingested.",
            WAVES_COLUMNS,
            sort_by=WAVES_SORT,
            deps=(QUESTION_RESULTS,),  # every question of every wave
        ),
        mart(
            HEADLINES,
            "report",
            "One finding per slide and wave, worded as the results summary words it, computed "
            "from the marts by the rules in codebook/headlines.yaml; an interpretive clause "
            "(a gap, a contrast, 次いで, an order, 最多) is asserted only when its condition "
            "holds on the marts, and the figures, bands and conditions behind each headline "
            "are stored beside it.",
            HEADLINES_COLUMNS,
            sort_by=HEADLINES_SORT,
            deps=headline_inputs(codebook),
        ),
        mart(
            DATA_DICTIONARY,
            "report",
            "Every published table and column, with type and descriptions in Japanese and English.",
            DATA_DICTIONARY_COLUMNS,
            sort_by=DATA_DICTIONARY_SORT,
            # written from this registry, not from any table's data: no upstream asset
        ),
    ]
    return specs


# --------------------------------------------------------------------------- descriptions


@cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> dict[str, Any]:
    data = load_yaml(path)
    return {"tables": data.get("tables") or {}, "columns": data.get("columns") or {}}


def describe_column(
    table: str, column: str, catalogue: Mapping[str, Any] | None = None
) -> tuple[str | None, str | None]:
    """(ja, en) for a column of a table; None where the catalogue has nothing. A table
    pattern (glob) overrides the column's general description."""
    cat = catalogue or load_catalogue()
    for pattern, cols in cat["tables"].items():
        if fnmatch(table, pattern) and column in cols:
            d = cols[column]
            return d.get("ja"), d.get("en")
    d = cat["columns"].get(column)
    if d:
        return d.get("ja"), d.get("en")
    if column.endswith("_code"):
        base = describe_column(table, column.removesuffix("_code"), cat)
        if base[0] and base[1]:
            return f"{base[0]}（コード）", f"{base[1]} (code)"
    return None, None


def field_descriptions(codebook: Codebook) -> dict[str, tuple[str, str]]:
    """The staging tables' answer columns, described from the forms themselves: column id ->
    (the question as the form asks it, what the column holds)."""
    out: dict[str, tuple[str, str]] = {}
    for form in sorted(codebook.forms, key=lambda f: (f.instrument, f.wave)):
        for f in form.fields:
            e = f.entry
            ja = f"{e.title or e.header}" + (f"：{f.item.label}" if f.item else "")
            held = "the chosen labels (a list)" if e.is_multi else "the answer as exported"
            item = f", item {f.item.sort}" if f.item else ""
            en = f"{form.instrument} {e.id}{item} ({e.type}): {held}, NFKC-normalised"
            out.setdefault(f.column, (ja, en))
    return out


def _described(spec: TableSpec, fields: Mapping[str, tuple[str, str]]) -> TableSpec:
    cols = []
    for c in spec.columns:
        ja, en = describe_column(spec.key, c.name)
        if ja is None and spec.key in STAGING_TABLES and c.name in fields:
            ja, en = fields[c.name]
        cols.append(replace(c, description_ja=ja, description_en=en))
    return replace(spec, columns=tuple(cols))


# --------------------------------------------------------------------------- the registry


@cache
def table_registry(codebook: Codebook) -> Registry:
    """Every warehouse table, in build order: a wave's tables, then the marts."""
    specs = [*_fact_specs(codebook), *_mart_specs(codebook)]
    fields = field_descriptions(codebook)
    return {s.key: _described(s, fields) for s in specs}


def wave_tables(registry: Registry) -> list[TableSpec]:
    return [s for s in registry.values() if s.partitioned]


def mart_tables(registry: Registry) -> list[TableSpec]:
    return [s for s in registry.values() if not s.partitioned]


def sql_tables(registry: Registry) -> list[TableSpec]:
    """What the SQL copy holds: every table of the data dictionary -- facts, quarantine,
    marts, the dictionary itself. The staging tables (one schema per form) stay in Parquet."""
    return [s for s in registry.values() if s.in_dictionary]


def partition_schema(codebook: Codebook, table: str, instrument: str, wave: str) -> pa.Schema:
    """A wave table's schema for one instrument: the staging tables' follow its form."""
    if table in STAGING_TABLES:
        return wide_schema(codebook.form(instrument, wave), table == STAGING_VALIDATED)
    return table_registry(codebook)[table].schema


def schemas(registry: Registry, keys: Iterable[str] | None = None) -> dict[str, pa.Schema]:
    chosen = registry.values() if keys is None else (registry[k] for k in keys)
    return {s.key: s.schema for s in chosen}
