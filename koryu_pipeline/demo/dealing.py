"""Dealing answers and submission times to responses, from the calibration's counts.

Counts are dealt exactly (no sampling noise); only who gets which answer, and when they submit,
is random, from the caller's seeded `random.Random`. The order of draws from it fixes every
byte of the demo exports, so a change here shows in `data/raw/` (see the package docstring).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from koryu_pipeline.codebook import Entry, Form, normalise_text
from koryu_pipeline.demo.calibration import (
    EXPECTED_ACCEPTED,
    EXPECTED_VARIANTS,
    FAMILY,
    GIVEN,
    HIRES_COUNTS,
    HIRES_LATE_ROW,
    HIRES_TOO_MANY_ROW,
    HOLIDAYS,
    LINK_SENT,
    MINISTRY_COUNTS,
    N_PARTIAL,
    ORGANISATIONS,
    REPLACEMENT_ID,
    SATISFACTION_WEIGHTS,
    SUPERSEDED_ID,
    SUPERSEDED_ORG,
    UNKNOWN_OPTION_ID,
    UNKNOWN_OPTION_ORG,
)

# ---------------------------------------------------------------------------- answers

Value = str | tuple[str, ...] | None


@dataclass(eq=False)  # identity: two respondents may give the same answers
class Response:
    answers: dict[str, Value]  # field column (entry id or likert item id) -> canonical value
    submitted: datetime | None = None
    started: datetime | None = None
    email: str | None = None
    name: str | None = None
    raw: dict[str, str] = field(default_factory=dict)  # column -> cell text overriding render
    terminated: bool = True  # MS Forms ends every multi cell with ';'


def _routed(entry: Entry, answers: dict[str, Value]) -> bool:
    return all(
        isinstance(answers.get(dep), str)
        and normalise_text(str(answers[dep])) in {normalise_text(v) for v in values}
        for dep, values in entry.asked_if
    )


def _deal_single(
    rng: random.Random, labels: Sequence[str], counts: Sequence[int], n: int
) -> list[str | None]:
    """Exactly counts[i] copies of labels[i], the rest blank, in random order."""
    if len(counts) != len(labels) or sum(counts) > n:
        raise ValueError(f"counts {counts} do not fit {len(labels)} options / base {n}")
    pool: list[str | None] = [lab for lab, c in zip(labels, counts, strict=True) for _ in range(c)]
    pool += [None] * (n - len(pool))
    rng.shuffle(pool)
    return pool


def _deal_multi(
    rng: random.Random, entry: Entry, counts: Sequence[int], n: int
) -> list[tuple[str, ...]]:
    """n choice sets with exactly counts[i] respondents choosing option i: an exclusive option is
    chosen alone, everyone chooses at least one, nobody more than max_choices."""
    if len(counts) != len(entry.options):
        raise ValueError(f"{entry.id}: {len(counts)} counts for {len(entry.options)} options")
    excl = [o for o in entry.options if o.key in entry.exclusive_keys]
    other = [o for o in entry.options if o.key not in entry.exclusive_keys]
    count = {o.label: c for o, c in zip(entry.options, counts, strict=True)}
    alone = [(o.label,) for o in excl for _ in range(count[o.label])]
    rest = n - len(alone)
    total = sum(count[o.label] for o in other)
    cap = min(entry.max_choices or len(other), len(other))
    if rest < 0 or not rest <= total <= rest * cap:
        raise ValueError(f"{entry.id}: counts {counts} cannot be dealt to {n} respondents")
    for _attempt in range(200):
        # how many options each respondent picks: at least one, at most cap
        load = [1] * rest
        for _ in range(total - rest):
            i = rng.choice([j for j in range(rest) if load[j] < cap])
            load[i] += 1
        chosen: list[set[str]] = [set() for _ in range(rest)]
        ok = True
        # Ryser's construction: biggest options first, to those with most picks left
        for o in sorted(other, key=lambda o: -count[o.label]):
            order = sorted(range(rest), key=lambda j: (-load[j], rng.random()))[: count[o.label]]
            if any(load[j] == 0 for j in order):
                ok = False
                break
            for j in order:
                load[j] -= 1
                chosen[j].add(o.label)
        if ok:
            sets = [tuple(o.label for o in entry.options if o.label in s) for s in chosen]
            out = alone + sets
            rng.shuffle(out)
            return out
    raise ValueError(f"{entry.id}: could not deal counts {counts}")


def _deal_questions(
    rng: random.Random,
    form: Form,
    responses: list[Response],
    counts: dict[str, tuple[int, ...]],
    skip: frozenset[str] = frozenset(),
    before: Callable[[str], None] | None = None,
) -> None:
    """Fill every entry not in `skip`, in form order, for the respondents it is routed to."""
    for entry in form.entries:
        if entry.id in skip:
            continue
        if before:
            before(entry.id)
        routed = [r for r in responses if _routed(entry, r.answers)]
        blank = [r for r in responses if r not in routed]  # identity: eq=False
        if entry.type == "likert":
            assert entry.items
            for item in entry.items:
                labels = [o.label for o in entry.options]
                for r, v in zip(
                    routed,
                    _deal_single(rng, labels, counts[item.item_id], len(routed)),
                    strict=True,
                ):
                    r.answers[item.item_id] = v
                for r in blank:
                    r.answers[item.item_id] = None
            continue
        labels = [o.label for o in entry.options]
        if entry.type == "single":
            values: list = _deal_single(rng, labels, counts[entry.id], len(routed))
        else:
            values = _deal_multi(rng, entry, counts[entry.id], len(routed))
        for r, v in zip(routed, values, strict=True):
            r.answers[entry.id] = v
        for r in blank:
            r.answers[entry.id] = None


def _random_answers(rng: random.Random, form: Form, answers: dict[str, Value]) -> None:
    """Plausible, valid answers for a defect row (not part of the calibration)."""
    for entry in form.questions:
        routed = _routed(entry, answers)
        labels = [o.label for o in entry.options]
        if entry.type == "likert":
            for item in entry.items:
                answers[item.item_id] = rng.choice(labels[2:5]) if routed else None
        elif not routed:
            answers[entry.id] = None
        elif entry.type == "single":
            answers[entry.id] = rng.choice(labels)
        else:
            excl = [o.label for o in entry.options if o.key in entry.exclusive_keys]
            other = [lab for lab in labels if lab not in excl]
            if excl and rng.random() < 0.2:
                answers[entry.id] = (rng.choice(excl),)
            else:
                k = rng.randint(1, min(3, entry.max_choices or 3))
                picked = set(rng.sample(other, k))
                answers[entry.id] = tuple(lab for lab in labels if lab in picked)


# ---------------------------------------------------------------------------- times


def _working_days(first: date, last: date) -> list[date]:
    days = [first + timedelta(d) for d in range((last - first).days + 1)]
    return [d for d in days if d.weekday() < 5 and d not in HOLIDAYS]


def _times(
    rng: random.Random,
    days: Sequence[date],
    weights: Sequence[float],
    n: int,
    start: time,
    end: time,
) -> list[datetime]:
    """n distinct, sorted times (whole seconds) on the given days between start and end."""
    out: set[datetime] = set()
    lo = start.hour * 3600 + start.minute * 60
    hi = end.hour * 3600 + end.minute * 60
    while len(out) < n:
        day = rng.choices(days, weights)[0]
        t = datetime.combine(day, time()) + timedelta(seconds=rng.randrange(lo, hi))
        if t >= LINK_SENT:  # keeps every accepted time on the opening day in UTC as well
            out.add(t)
    return sorted(out)


# ---------------------------------------------------------------------------- ministry


def ministry_responses(rng: random.Random, form: Form) -> list[Response]:
    """The 51 rows of the final export, in submission (ID) order; the first N_PARTIAL were
    submitted before the partial export was taken."""
    keys = [
        (name, otype, line or None)
        for name, otype, lines in ORGANISATIONS
        for line in (lines or ("",))
    ]
    assert len(keys) == EXPECTED_ACCEPTED["ministry"], len(keys)
    rng.shuffle(keys)
    # put the organisation that answers twice at the replacement's place
    defect_ids = (SUPERSEDED_ID, UNKNOWN_OPTION_ID)
    accepted_ids = [i for i in range(1, len(keys) + len(defect_ids) + 1) if i not in defect_ids]
    target = next(k for k in keys if (k[0], k[2]) == SUPERSEDED_ORG)
    j, t = accepted_ids.index(REPLACEMENT_ID), keys.index(target)
    keys[j], keys[t] = keys[t], keys[j]

    # screening: 12 do both, 4 only dispatch, 22 only hire, 11 neither -> 16 and 34
    screening = [("はい", "はい")] * 12 + [("はい", "いいえ")] * 4
    screening += [("いいえ", "はい")] * 22 + [("いいえ", "いいえ")] * 11
    rng.shuffle(screening)
    attr_ids = ("org_name", "org_type", "personnel_line", "s_dispatch", "s_hire")
    accepted = [
        Response(dict(zip(attr_ids, (name, otype, line, d, h), strict=True)))
        for (name, otype, line), (d, h) in zip(keys, screening, strict=True)
    ]

    by_id = dict(zip(accepted_ids, accepted, strict=True))
    pinned_q07 = form.entry("q07").options[2].label  # the one label with parentheses
    pin_id = next(v.row for v in EXPECTED_VARIANTS if v.kind == "halfwidth_parentheses")

    def pin(entry_id: str) -> None:
        # q07 is dealt but q07_reasons (routed on it) not yet: swap q07 answers so the
        # variant row holds the label with parentheses; counts are unchanged
        if entry_id != "q07_reasons":
            return
        me = by_id[pin_id]
        if me.answers["q07"] != pinned_q07:
            other = next(r for r in accepted if r.answers["q07"] == pinned_q07)
            me.answers["q07"], other.answers["q07"] = other.answers["q07"], me.answers["q07"]

    attrs = frozenset(e.id for e in form.attributes)
    _deal_questions(rng, form, accepted, MINISTRY_COUNTS, skip=attrs, before=pin)

    # the defect rows: valid responses except for what makes them defects
    replacement = by_id[REPLACEMENT_ID]
    superseded = Response({k: replacement.answers[k] for k in attrs})
    while True:
        _random_answers(rng, form, superseded.answers)
        if superseded.answers != replacement.answers:
            break
    name, otype = UNKNOWN_OPTION_ORG
    typo = Response(dict(zip(attr_ids, (name, otype, None, "はい", "いいえ"), strict=True)))
    _random_answers(rng, form, typo.answers)
    typo.raw["q06"] = "役職段階;年令;"

    rows = [by_id.get(i) for i in range(1, len(accepted_ids) + len(defect_ids) + 1)]
    rows[SUPERSEDED_ID - 1], rows[UNKNOWN_OPTION_ID - 1] = superseded, typo
    out = [r for r in rows if r is not None]

    # submission times: the first 20 before the partial export of 2023-11-30 morning
    early = _working_days(date(2023, 11, 8), date(2023, 11, 29))
    late = _working_days(date(2023, 12, 1), date(2023, 12, 21))
    times = _times(rng, early, [1.0] * len(early), N_PARTIAL, time(9, 30), time(19))
    times += _times(rng, late, [1.0] * len(late), len(out) - N_PARTIAL, time(9, 30), time(19))
    people = rng.sample([(f, g) for f in FAMILY for g in GIVEN], len(out))
    for r, t, (fam, giv) in zip(out, times, people, strict=True):
        r.submitted = t
        # 6-75 minutes to fill in, but not opened before the links went out
        r.started = max(t - timedelta(seconds=rng.randint(6 * 60, 75 * 60)), LINK_SENT)
        r.email = f"{giv[1]}.{fam[1]}@example.go.jp"
        r.name = f"{fam[0]} {giv[0]}"
    # the same person answers again for the superseded organisation
    superseded.email, superseded.name = replacement.email, replacement.name
    return out


# ---------------------------------------------------------------------------- hires


def hires_responses(rng: random.Random, form: Form) -> tuple[list[Response], list[Response]]:
    """(main file rows, CP932 batch rows), each in timestamp order."""
    n = EXPECTED_ACCEPTED["hires"]
    accepted = [Response({}) for _ in range(n)]
    for eid in ("host_org_type", "age_band", "industry"):
        labels = [o.label for o in form.entry(eid).options]
        for r, v in zip(accepted, _deal_single(rng, labels, HIRES_COUNTS[eid], n), strict=True):
            r.answers[eid] = v
    sat = form.entry("satisfaction")
    for r in accepted:
        for item in sat.items:
            w = SATISFACTION_WEIGHTS[item.item_id]
            r.answers[item.item_id] = rng.choices([o.label for o in sat.options], w)[0]
    wishes = form.entry("support_wishes")
    dealt = _deal_multi(rng, wishes, HIRES_COUNTS["support_wishes"], n)
    for r, v in zip(accepted, dealt, strict=True):
        r.answers["support_wishes"] = v

    agency = form.entry("host_org_type").options[1].label
    main = [r for r in accepted if r.answers["host_org_type"] != agency]
    batch = [r for r in accepted if r.answers["host_org_type"] == agency]

    # defect (c): a valid response except for a fourth wish
    too_many = Response(dict(main[0].answers))
    too_many.answers["support_wishes"] = tuple(o.label for o in wishes.options[:4])
    main.insert(HIRES_TOO_MANY_ROW - 1, too_many)
    # defect (f): a valid response submitted four days after the close
    late = Response(dict(main[-1].answers))
    late.answers["support_wishes"] = tuple(o.label for o in wishes.options[:3:2])
    late.answers["industry"] = form.entry("industry").options[0].label

    # most answers come in the first week and just before the deadline
    days = [date(2023, 11, 8) + timedelta(d) for d in range(44)]
    weights = [3.0 if d < 7 else 2.0 if d >= 39 else 1.0 for d in range(44)]
    times = _times(rng, days, weights, len(main) + len(batch), time(7), time(23, 30))
    batch_idx = set(rng.sample(range(len(times)), len(batch)))
    main_times = [t for i, t in enumerate(times) if i not in batch_idx]
    batch_times = [t for i, t in enumerate(times) if i in batch_idx]
    for r, t in zip(main, main_times, strict=True):
        r.submitted = t
    for r, t in zip(batch, batch_times, strict=True):
        r.submitted = t
    late.submitted = datetime(2023, 12, 25, 10, 12, 45)
    main.append(late)
    assert len(main) == HIRES_LATE_ROW
    return main, batch
