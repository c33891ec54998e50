"""The codebook: both forms as data, loaded and validated once.

Every other module (readers, pandera schemas, fact tables, marts, headlines, the demo
generator) is generated from the objects defined here; nothing downstream names a question.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml

EntryType = Literal["text", "single", "multi", "top3", "likert"]
CHOICE_TYPES: frozenset[str] = frozenset({"single", "multi", "top3", "likert"})
MULTI_TYPES: frozenset[str] = frozenset({"multi", "top3"})
CODEBOOK_DIR = Path(__file__).parent
FORMS_DIR = CODEBOOK_DIR / "forms"


class CodebookError(ValueError):
    """A form file that does not describe a consistent form."""


def normalise_text(value: str) -> str:
    """NFKC plus whitespace folding: the key every header and label is matched on."""
    return " ".join(unicodedata.normalize("NFKC", value).split())


@dataclass(frozen=True)
class Option:
    code: int  # 1-based position in the form's option list
    label: str  # verbatim Japanese label
    reconstructed: bool = False
    # False for an answer that says nothing about the question's subject (その他, 分からない等,
    # 特になし, ...): tabulated like any other, never named as a finding
    substantive: bool = True

    @property
    def key(self) -> str:
        return normalise_text(self.label)


@dataclass(frozen=True)
class Item:
    item_id: str  # "<entry id>_<1-based position>"
    sort: int
    label: str
    reconstructed: bool = False


@dataclass(frozen=True)
class Field:
    """One export column: an entry, or one item of a likert entry."""

    column: str  # column id in the wide frame: entry id, or item id
    entry: Entry
    item: Item | None

    @property
    def header(self) -> str:
        return self.item.label if self.item else self.entry.header


@dataclass(frozen=True)
class Entry:
    id: str
    header: str
    type: EntryType
    options: tuple[Option, ...] = ()
    items: tuple[Item, ...] = ()
    required: bool = False
    asked_if: tuple[tuple[str, tuple[str, ...]], ...] = ()
    max_choices: int | None = None
    exclusive: tuple[str, ...] = ()
    slide: int | None = None
    title: str | None = None
    reconstructed: bool = False

    @property
    def is_choice(self) -> bool:
        return self.type in CHOICE_TYPES

    @property
    def is_multi(self) -> bool:
        return self.type in MULTI_TYPES

    @property
    def is_attribute(self) -> bool:
        """Respondent attributes (organisation, screening, demographics) go to
        facts/respondents; everything else is a question and goes to facts/answers."""
        return self.slide is None and self.type in ("text", "single")

    @cached_property
    def option_by_key(self) -> dict[str, Option]:
        return {o.key: o for o in self.options}

    @cached_property
    def exclusive_keys(self) -> frozenset[str]:
        return frozenset(normalise_text(x) for x in self.exclusive)

    @cached_property
    def non_substantive_codes(self) -> frozenset[int]:
        return frozenset(o.code for o in self.options if not o.substantive)

    def unit_code(self, ref: str | int) -> int | None:
        """The unit a codebook reference names: a likert item's position, or an option's
        code; by 1-based number or by (NFKC-normalised) label. None if there is none."""
        units = (
            [(i.sort, i.label) for i in self.items]
            if self.type == "likert"
            else [(o.code, o.label) for o in self.options]
        )
        if isinstance(ref, int) and not isinstance(ref, bool):
            return ref if any(code == ref for code, _ in units) else None
        key = normalise_text(str(ref))
        return next((code for code, label in units if normalise_text(label) == key), None)


@dataclass(frozen=True)
class Crosswalk:
    id: str
    slide: int | None
    question: str
    to_instrument: str
    to_question: str
    pairs: tuple[tuple[str, str], ...]  # (this form's label, target form's label)


def wave_number(wave: str | int) -> int:
    """A wave as the warehouse stores it: the survey year as an integer. The codebook, the raw
    folders and Dagster's partitions key waves by their text ("2023"); every table holds the
    number, since hive readers turn a `wave=2023` folder into one."""
    text = str(wave)
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"a wave is a survey year (digits only), not {text!r}")
    return int(text)


@dataclass(frozen=True)
class Mirror:
    """A dispatch question and the hiring question that asks the same thing of the other
    direction of the exchange, with the units (likert items, or options) that mean the same
    on both sides. Pairs are by meaning, not by label: 「更なる交流派遣に積極的である」 pairs
    with 「更なる交流採用に積極的である」."""

    questions: tuple[str, str]
    pairs: tuple[tuple[str | int, str | int], ...]  # (reference on side a, on side b)


@dataclass(frozen=True)
class Form:
    instrument: str
    wave: str  # the survey year as text, as folders and partition keys spell it
    title: str
    export: Literal["msforms_xlsx", "googleforms_csv"]
    opens: date
    closes: date
    timezone: str
    entries: tuple[Entry, ...]
    crosswalks: tuple[Crosswalk, ...] = ()
    mirrors: tuple[Mirror, ...] = ()
    # entries identifying a respondent who may submit again (the latest submission wins)
    supersede_on: tuple[str, ...] = ()
    source: str = ""

    @cached_property
    def entry_by_id(self) -> dict[str, Entry]:
        return {e.id: e for e in self.entries}

    def entry(self, entry_id: str) -> Entry:
        return self.entry_by_id[entry_id]

    @cached_property
    def fields(self) -> tuple[Field, ...]:
        """The export's answer columns, in form order."""
        out: list[Field] = []
        for e in self.entries:
            if e.type == "likert":
                out.extend(Field(i.item_id, e, i) for i in e.items)
            else:
                out.append(Field(e.id, e, None))
        return tuple(out)

    @property
    def attributes(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.is_attribute)

    @property
    def questions(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if not e.is_attribute)


@dataclass(frozen=True, eq=False)  # identity hash: one loaded codebook, cached by it
class Codebook:
    forms: tuple[Form, ...]

    @cached_property
    def _index(self) -> dict[tuple[str, str], Form]:
        return {(f.instrument, f.wave): f for f in self.forms}

    @property
    def instruments(self) -> tuple[str, ...]:
        return tuple(sorted({f.instrument for f in self.forms}))

    def form(self, instrument: str, wave: str) -> Form:
        try:
            return self._index[(instrument, str(wave))]
        except KeyError:
            known = ", ".join(f"{i}/{w}" for i, w in sorted(self._index))
            raise CodebookError(
                f"no form for {instrument}/{wave} in the codebook (known: {known}); "
                f"add koryu_pipeline/codebook/forms/{instrument}_{wave}.yaml "
                f"(it may `extends: {instrument}_<earlier wave>`)"
            ) from None

    def has_form(self, instrument: str, wave: str) -> bool:
        return (instrument, str(wave)) in self._index

    def waves(self, instrument: str) -> tuple[str, ...]:
        return tuple(sorted(f.wave for f in self.forms if f.instrument == instrument))


# --------------------------------------------------------------------------- loading


def _option(raw: Any, code: int, where: str) -> Option:
    if isinstance(raw, str):
        return Option(code, raw)
    if isinstance(raw, dict) and isinstance(raw.get("text"), str):
        substantive = raw.get("substantive", True)
        if not isinstance(substantive, bool):
            raise CodebookError(f"{where}: option {code} substantive must be true or false")
        return Option(code, raw["text"], bool(raw.get("reconstructed", False)), substantive)
    raise CodebookError(f"{where}: option {code} must be a string or {{text: ...}}")


def _ref(raw: Any) -> str | int:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else str(raw)


def _mirror(raw: Any, where: str) -> Mirror:
    if not isinstance(raw, dict) or not isinstance(raw.get("questions"), list):
        raise CodebookError(
            f"{where}: a mirror is {{questions: [<dispatch id>, <hiring id>], pairs: [[a, b], "
            f"...]}}, got {raw!r}"
        )
    questions = raw["questions"]
    if len(questions) != 2:
        raise CodebookError(f"{where}: mirror {questions} must name exactly two questions")
    pairs = raw.get("pairs") or []
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise CodebookError(f"{where}: mirror {questions[0]}<->{questions[1]} pairs must be [a, b]")
    return Mirror(
        questions=(str(questions[0]), str(questions[1])),
        pairs=tuple((_ref(a), _ref(b)) for a, b in pairs),
    )


def _entry(raw: dict[str, Any], scales: dict[str, tuple[str, ...]], where: str) -> Entry:
    eid = raw.get("id")
    if not isinstance(eid, str) or not eid:
        raise CodebookError(f"{where}: entry without an id")
    where = f"{where}: entry {eid}"
    etype = raw.get("type")
    if etype not in ("text", "single", "multi", "top3", "likert"):
        raise CodebookError(f"{where}: unknown type {etype!r}")
    scale = raw.get("scale")
    raw_options = raw.get("options")
    if scale is not None:
        if scale not in scales:
            raise CodebookError(f"{where}: unknown scale {scale!r}")
        raw_options = list(scales[scale])
    options = tuple(_option(o, i, where) for i, o in enumerate(raw_options or [], start=1))
    items: tuple[Item, ...] = ()
    if etype == "likert":
        items = tuple(
            Item(f"{eid}_{i}", i, o.label, o.reconstructed)
            for i, o in enumerate(
                (_option(x, n, where) for n, x in enumerate(raw.get("items") or [], 1)), 1
            )
        )
    header = raw.get("header")
    if header is None and etype == "likert":
        header = raw.get("title", eid)  # ms forms heads likert columns by item text alone
    if not isinstance(header, str):
        raise CodebookError(f"{where}: missing header")
    asked: list[tuple[str, tuple[str, ...]]] = []
    for k, v in (raw.get("asked_if") or {}).items():
        vals = (v,) if isinstance(v, str) else tuple(v)
        asked.append((k, vals))
    max_choices = raw.get("max_choices")
    if max_choices is None and etype == "top3":
        max_choices = 3
    if etype == "single":
        max_choices = 1
    return Entry(
        id=eid,
        header=header,
        type=etype,
        options=options,
        items=items,
        required=bool(raw.get("required", False)),
        asked_if=tuple(asked),
        max_choices=max_choices,
        exclusive=tuple(raw.get("exclusive") or ()),
        slide=raw.get("slide"),
        title=raw.get("title"),
        reconstructed=bool(raw.get("reconstructed", False)),
    )


# libyaml's safe loader when PyYAML was built with it (the wheels are): ~10x faster
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path) -> Any:
    """Safe-load one YAML file of the codebook folder."""
    with Path(path).open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_LOADER)


def _read_yaml(path: Path) -> dict[str, Any]:
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise CodebookError(f"{path.name}: not a mapping")
    return data


def _resolve(name: str, raw_by_name: dict[str, dict[str, Any]], seen: tuple[str, ...] = ()):
    raw = raw_by_name[name]
    parent = raw.get("extends")
    if not parent:
        return raw
    if parent in seen or parent not in raw_by_name:
        raise CodebookError(f"{name}.yaml: cannot extend {parent!r}")
    merged = dict(_resolve(parent, raw_by_name, (*seen, name)))
    merged.update({k: v for k, v in raw.items() if k != "extends"})
    return merged


def _form(name: str, raw: dict[str, Any]) -> Form:
    where = f"{name}.yaml"
    scales = {k: tuple(v) for k, v in (raw.get("scales") or {}).items()}
    fielded = raw.get("fielded") or {}
    try:
        opens = date.fromisoformat(str(fielded["opens"]))
        closes = date.fromisoformat(str(fielded["closes"]))
    except (KeyError, ValueError) as exc:
        raise CodebookError(f"{where}: fielded needs opens/closes dates ({exc})") from None
    entries = tuple(_entry(e, scales, where) for e in raw.get("entries") or [])
    crosswalks = tuple(
        Crosswalk(
            id=c["id"],
            slide=c.get("slide"),
            question=c["question"],
            to_instrument=c["to"]["instrument"],
            to_question=c["to"]["question"],
            pairs=tuple((str(k), str(v)) for k, v in c["pairs"].items()),
        )
        for c in raw.get("crosswalks") or []
    )
    form = Form(
        instrument=str(raw["instrument"]),
        wave=str(raw["wave"]),
        title=str(raw.get("title", "")),
        export=raw["export"],
        opens=opens,
        closes=closes,
        timezone=str(fielded.get("timezone", "Asia/Tokyo")),
        entries=entries,
        crosswalks=crosswalks,
        mirrors=tuple(_mirror(m, where) for m in raw.get("mirrors") or []),
        supersede_on=tuple(str(x) for x in raw.get("supersede_on") or ()),
        source=where,
    )
    return form


def _mirror_problems(m: Mirror, entries: dict[str, Entry], where: str) -> list[str]:
    a, b = m.questions
    name = f"{where}: mirror {a}<->{b}"
    if a not in entries or b not in entries:
        return [f"{name} names an unknown entry"]
    ea, eb = entries[a], entries[b]
    if not (ea.is_choice and eb.is_choice) or (ea.type == "likert") != (eb.type == "likert"):
        return [f"{name} pairs a {ea.type} with a {eb.type} question"]
    if not m.pairs:
        return [f"{name} lists no pairs: name the items or options that mean the same"]
    problems: list[str] = []
    used: tuple[dict[int, int], dict[int, int]] = ({}, {})
    for row, refs in enumerate(m.pairs, start=1):
        for side, (entry, ref) in enumerate(zip((ea, eb), refs, strict=True)):
            code = entry.unit_code(ref)
            unit = "item" if entry.type == "likert" else "option"
            if code is None:
                problems.append(f"{name} pair {row}: {entry.id} has no {unit} {ref!r}")
            elif code in used[side]:
                problems.append(
                    f"{name} pair {row}: {entry.id} {unit} {ref!r} is already paired "
                    f"(pair {used[side][code]})"
                )
            else:
                used[side][code] = row
    return problems


def validate_codebook(cb: Codebook) -> None:
    """Raise CodebookError listing every inconsistency found."""
    problems: list[str] = []
    for f in cb.forms:
        where = f.source or f"{f.instrument}_{f.wave}"
        if f.export not in ("msforms_xlsx", "googleforms_csv"):
            problems.append(f"{where}: unknown export {f.export!r}")
        if not (f.wave.isascii() and f.wave.isdigit()):
            problems.append(f"{where}: wave must be the survey year (digits), not {f.wave!r}")
        if f.opens > f.closes:
            problems.append(f"{where}: fielding window opens after it closes")
        seen: dict[str, Entry] = {}
        for e in f.entries:
            if e.id in seen:
                problems.append(f"{where}: duplicate entry id {e.id}")
            if e.is_choice and not e.options:
                problems.append(f"{where}: {e.id} has no options")
            if e.type == "likert" and not e.items:
                problems.append(f"{where}: likert {e.id} has no items")
            keys = [o.key for o in e.options]
            if len(set(keys)) != len(keys):
                problems.append(f"{where}: {e.id} repeats an option label")
            if not e.exclusive_keys <= set(keys):
                problems.append(f"{where}: {e.id} exclusive option not among its options")
            if e.max_choices is not None and e.options and e.max_choices > len(e.options):
                problems.append(f"{where}: {e.id} max_choices exceeds its options")
            for dep, values in e.asked_if:
                src = seen.get(dep)
                if src is None:
                    problems.append(f"{where}: {e.id} is routed on {dep}, not an earlier entry")
                    continue
                if src.type == "likert":  # its answers are per item: no one column to route on
                    problems.append(f"{where}: {e.id} is routed on likert {dep}")
                    continue
                bad = [v for v in values if normalise_text(v) not in src.option_by_key]
                if bad:
                    problems.append(f"{where}: {e.id} routed on unknown {dep} options {bad}")
            seen[e.id] = e
        for col in f.supersede_on:
            if col not in seen:
                problems.append(f"{where}: supersede_on names unknown entry {col}")
        for m in f.mirrors:
            problems += _mirror_problems(m, seen, where)
        for cw in f.crosswalks:
            src = seen.get(cw.question)
            if src is None:
                problems.append(f"{where}: crosswalk {cw.id} names unknown {cw.question}")
                continue
            targets = [t for t in cb.forms if t.instrument == cw.to_instrument and t.wave == f.wave]
            for t in targets:
                tq = t.entry_by_id.get(cw.to_question)
                if tq is None:
                    problems.append(f"{where}: crosswalk target {cw.to_question} unknown")
                    continue
                for a, b in cw.pairs:
                    if normalise_text(a) not in src.option_by_key:
                        problems.append(f"{where}: crosswalk label {a!r} not in {src.id}")
                    if normalise_text(b) not in tq.option_by_key:
                        problems.append(f"{where}: crosswalk label {b!r} not in {tq.id}")
    if problems:
        raise CodebookError("invalid codebook:\n  " + "\n  ".join(problems))


def load_codebook(*dirs: Path) -> Codebook:
    """Load every `<instrument>_<wave>.yaml` in the package's forms folder (and any extra
    folders given, later ones overriding earlier ones by file name), then validate."""
    raw_by_name: dict[str, dict[str, Any]] = {}
    for d in (FORMS_DIR, *dirs):
        for path in sorted(Path(d).glob("*.yaml")):
            raw_by_name[path.stem] = _read_yaml(path)
    forms: list[Form] = []
    for name in sorted(raw_by_name):
        forms.append(_form(name, _resolve(name, raw_by_name)))
    cb = Codebook(tuple(forms))
    validate_codebook(cb)
    return cb
