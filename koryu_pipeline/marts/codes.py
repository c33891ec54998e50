"""The facts as integer codes, counted without joins.

Every figure of the marts rests on three counts per question cell (instrument, wave,
question, item) -- exposures shown (shown_n), shown and answered (base_n), and respondents
choosing an option among those routed to the cell who answered it (n) -- over everyone or
per group of a respondent attribute. Joining the facts on string keys, and repeating every
exposure once per attribute of its respondent, costs time and memory in proportion to facts
x attributes (~12M rows at 1M responses). So the facts are coded once (`code_facts`):

- respondents: one integer code space for the three tables (read_facts' shared categories
  are it; other frames are factorised);
- cells: an integer into the distinct cells of the facts (a few hundred rows: the only place
  where their strings are kept);
- groups: respondents alike in every attribute (the same group, or none, in each) form one
  class, an array indexed by respondent code gives each respondent's class, and each row is
  counted once per class (`count_groups`); an attribute's groups are sums of classes.

and the counts are `np.bincount`s over combined codes (`Counts`). They are what the joins
gave, in any order of the facts and with any duplicates: an exposure row counts once per
row (and per membership row of its respondent, by group), n counts distinct respondents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

NO_ITEM = ""  # join key for questions without items (item_id is null there)
CELL_KEYS = ["instrument", "wave", "question_id", "_item"]
_FACT_CELL = ["instrument", "wave", "question_id", "item_id"]
# Codes whose combinations fit an array this long are combined by position, not hashed.
_DENSE = 1 << 22

IntArray = npt.NDArray[np.int64]
Codes = npt.NDArray[np.integer]  # per-row codes: as narrow as they come (int8 .. int64)
BoolArray = npt.NDArray[np.bool_]


def item_key(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), NO_ITEM).astype(str)


def truthy(s: pd.Series) -> BoolArray:
    """A boolean column as numpy, null as False."""
    return s.fillna(False).astype(bool).to_numpy()


def column_codes(s: pd.Series) -> tuple[Codes, pd.Index]:
    """Integer codes of a column (-1 for null) and the values they stand for: a
    categorical's own codes, an integer column's offsets from its least value when they
    span little, else factorised."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy(), s.cat.categories
    if pd.api.types.is_integer_dtype(s.dtype) and s.notna().any():
        low, high = int(s.min()), int(s.max())
        if high - low < _DENSE:
            codes = s.to_numpy(dtype=np.int64, na_value=low)
            codes -= low
            if s.hasnans:
                codes[s.isna().to_numpy()] = -1
            return codes, pd.Index(np.arange(low, high + 1)).astype(s.dtype)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return codes, pd.Index(uniques)


def _value(values: pd.Index, codes: IntArray) -> pd.Series:
    """The values of `codes` (-1: null) in the dtype of `values`."""
    if len(values) == 0:
        return pd.Series([None] * len(codes), dtype=object)
    taken = pd.Series(values.take(np.maximum(codes, 0)))
    return taken.where(pd.Series(codes >= 0)) if (codes < 0).any() else taken


def _compact(key: IntArray, space: int) -> tuple[Codes, IntArray]:
    """Codes 0..k-1 of the k distinct values of `key` (all in [0, space)), and those values
    (sorted when `space` is small enough to go by position; else in order of appearance)."""
    if space <= _DENSE:
        uniques = np.flatnonzero(np.bincount(key, minlength=space))
        remap = np.full(space, -1, np.int32 if len(uniques) < 2**31 else np.int64)
        remap[uniques] = np.arange(len(uniques))
        return remap[key], uniques
    codes, found = pd.factorize(key)
    return codes, np.asarray(found, dtype=np.int64)


def cell_codes(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[Codes, pd.DataFrame]:
    """Per row of `frame` the code of its combination of `columns`, and the distinct
    combinations (a frame of `columns`, one row per code)."""
    parts = [column_codes(frame[c]) for c in columns]
    key = np.zeros(len(frame), np.int64)
    space = 1
    for codes, values in parts:
        key *= len(values) + 1
        key += codes
        key += 1  # null (-1) is 0 here
        space *= len(values) + 1
    combo, rest = _compact(key, space)
    del key
    decoded: dict[str, pd.Series] = {}
    for name, (_, values) in reversed(list(zip(columns, parts, strict=True))):
        rest, code = np.divmod(rest, len(values) + 1)
        decoded[name] = _value(values, code - 1)
    return combo, pd.DataFrame({c: decoded[c] for c in columns})


def _cells(combos: pd.DataFrame) -> pd.DataFrame:
    """A facts frame's distinct cells keyed as the skeleton keys them (`_item`)."""
    out = combos.drop(columns="item_id").assign(_item=item_key(combos["item_id"]))
    return out[CELL_KEYS]


def _recode(s: pd.Series, space: pd.Index) -> Codes:
    """Codes of the values of `s` in `space` (unique values), -1 where absent or null."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy()
        categories = s.cat.categories
        if categories is space or categories.equals(space):
            return codes
        where = np.append(space.get_indexer(categories), -1)  # code -1 -> the last: absent
        return where[codes]
    return space.get_indexer(s).astype(np.int64)


def _unique(values: IntArray) -> IntArray:
    """The distinct integers of `values`, sorted (by position when they span little)."""
    if len(values) == 0:
        return np.zeros(0, np.int64)
    low, high = int(values.min()), int(values.max())
    if high - low < _DENSE:
        return np.flatnonzero(np.bincount(values - low)) + low
    return np.unique(values)


def _position(sorted_values: IntArray, values: Codes) -> Codes:
    """Index of each of `values` in `sorted_values`, -1 where absent: by position in a table
    when they span little (option and group codes), else by binary search."""
    if len(sorted_values) == 0:
        return np.full(len(values), -1, np.int64)
    low, high = int(sorted_values[0]), int(sorted_values[-1])
    if high - low < _DENSE:
        table = np.full(high - low + 3, -1, np.int32)  # a slot below and above the range
        table[sorted_values - low + 1] = np.arange(len(sorted_values))
        at = np.clip(values.astype(np.int64, copy=False), low - 1, high + 1)
        at -= low - 1
        return table[at]
    at = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return np.where(sorted_values[at] == values, at, -1).astype(np.int64)


def _distinct_sorted(keys: IntArray) -> IntArray:
    """`keys` sorted (in place: they are the caller's scratch), each once. A stable sort:
    the facts are stored by respondent, so keys led by the respondent code come nearly
    sorted, which it sorts in about linear time."""
    keys.sort(kind="stable")
    if len(keys) > 1:
        return keys[np.r_[True, keys[1:] != keys[:-1]]]
    return keys


# --------------------------------------------------------------------------- groups


def layers(parts: Sequence[tuple[Codes, IntArray]], size: int) -> list[IntArray]:
    """Membership rows (respondent codes, group indexes), in parts, as layers: arrays
    indexed by respondent code giving a group index (-1: none), so that a layer holds each
    respondent once. A part goes to the first layer where its respondents are all free; a
    respondent's second row within a part (a duplicated id) to a further one."""
    out: list[IntArray] = []
    for respondent, group in parts:
        keep = respondent >= 0
        respondent, group = respondent[keep], group[keep]
        if len(respondent) == 0:
            continue
        if np.bincount(respondent, minlength=size).max() <= 1:
            pieces = [(respondent, group)]
        else:  # the k-th row of a respondent in the k-th piece
            order = np.lexsort((group, respondent))
            respondent, group = respondent[order], group[order]
            start = np.flatnonzero(np.r_[True, respondent[1:] != respondent[:-1]])
            rank = np.arange(len(respondent)) - np.repeat(
                start, np.diff(np.r_[start, len(respondent)])
            )
            pieces = [(respondent[rank == k], group[rank == k]) for k in range(rank.max() + 1)]
        for r, g in pieces:
            free = next((layer for layer in out if (layer[r] < 0).all()), None)
            if free is None:
                free = np.full(size, -1, np.int64)
                out.append(free)
            free[r] = g
    return out


def _classes(found: list[IntArray], size: int) -> tuple[Codes, IntArray]:
    """Respondents alike in every layer as one class: each respondent's class, with one
    more entry at the end -- the class of respondent code -1, in no group -- and per class
    its group index in each layer (a classes x layers table, -1: none)."""
    key = np.zeros(size, np.int64)
    space = 1
    for layer in found:
        width = int(layer.max()) + 2
        key *= width
        key += layer + 1
        space *= width
        if space > 1 << 40:  # keep the mixed-radix key in range: renumber what is there
            key, _ = _compact(key, space)
            space = int(key.max()) + 1 if len(key) else 1
    klass, _ = _compact(key, space)
    n_classes = int(klass.max()) + 1 if len(klass) else 0
    table = np.full((n_classes + 1, len(found)), -1, np.int64)  # the last: in no group
    for j, layer in enumerate(found):
        table[klass, j] = layer  # every respondent of a class has the same group here
    return np.append(klass, n_classes), table


def _onehot(column: IntArray, width: int) -> IntArray:
    """classes x groups: 1 where the class is in the group."""
    out = np.zeros((len(column), width), np.int64)
    rows = np.flatnonzero(column >= 0)
    out[rows, column[rows]] = 1
    return out


def _distinct_columns(table: IntArray) -> IntArray:
    """The class table with a group repeated in a later layer of the same class left out:
    n counts each (respondent, group) pair once."""
    out = table.copy()
    for j in range(1, table.shape[1]):
        repeated = (table[:, :j] == table[:, [j]]).any(axis=1)
        out[repeated, j] = -1
    return out


@dataclass(frozen=True)
class Counts:
    """shown_n, base_n [cell, group] and n [cell, group, option] over the facts' cells
    (`cells`, one row per cell code), groups `groups` and options `options` (sorted codes)."""

    cells: pd.DataFrame
    groups: IntArray
    options: IntArray
    shown_n: IntArray
    base_n: IntArray
    n: IntArray

    def at(
        self, frame: pd.DataFrame, group: pd.Series | None = None
    ) -> tuple[IntArray, IntArray, IntArray]:
        """(n, base_n, shown_n) of each row of `frame` (CELL_KEYS, option_code and, by
        group, its group code in `group`); 0 for a cell, group or option never counted."""
        keys = frame[CELL_KEYS].reset_index(drop=True)
        coded = self.cells.assign(_code=np.arange(len(self.cells)))
        cell = keys.merge(coded, on=CELL_KEYS, how="left")["_code"]
        c = cell.fillna(-1).to_numpy(dtype=np.int64)
        g = (
            np.zeros(len(frame), np.int64)
            if group is None
            else _position(self.groups, group.to_numpy(dtype=np.int64))
        )
        o = _position(self.options, frame["option_code"].to_numpy(dtype=np.int64))
        ok = (c >= 0) & (g >= 0)
        c, g = np.where(ok, c, 0), np.where(ok, g, 0)
        base_n = np.where(ok, self.base_n[c, g], 0)
        shown_n = np.where(ok, self.shown_n[c, g], 0)
        n = np.where(ok & (o >= 0), self.n[c, g, np.maximum(o, 0)], 0)
        return n.astype(np.int64), base_n.astype(np.int64), shown_n.astype(np.int64)


# --------------------------------------------------------------------------- the facts


@dataclass(frozen=True)
class Facts:
    """The facts coded for counting. Per shown exposure row: its respondent, cell and
    whether it was answered. Per distinct (respondent, cell, option) answered by a
    respondent with a shown and answered exposure of that cell: respondent, cell, option
    (as its index in `options`). Respondent codes index `respondent_ids`, cell codes
    `cells`."""

    cells: pd.DataFrame  # CELL_KEYS, one row per cell code
    exposure_cells: pd.DataFrame  # the distinct (instrument, wave, question_id, item_id) shown
    respondent_ids: pd.Index
    options: IntArray  # option codes answered, sorted
    shown_respondent: Codes
    shown_cell: Codes
    took: BoolArray
    chosen_respondent: Codes
    chosen_cell: Codes
    chosen_option: Codes
    _everyone: list[Counts] = field(default_factory=list, compare=False, repr=False)

    def respondent_codes(self, ids: pd.Series) -> Codes:
        """Codes of respondent ids (-1: none of the facts' exposures is theirs)."""
        return _recode(ids, self.respondent_ids)

    def count(self) -> Counts:
        """The counts over everyone (one group, code 0)."""
        if not self._everyone:
            shown, took, chosen = self._count_by(None, 1)
            self._everyone.append(self._counts(np.zeros(1, np.int64), shown, took, chosen))
        return self._everyone[0]

    def count_groups(
        self, members: Mapping[str, Sequence[tuple[Codes, IntArray]]]
    ) -> dict[str, Counts]:
        """Per attribute, the counts per group, from its membership rows (respondent codes,
        group codes), in parts (each at best without a respondent twice): an exposure
        counts once per membership row of its respondent, an answer once per group its
        respondent is in. Every attribute in one pass over the facts: counted per class of
        respondents (`_classes`), then summed into each attribute's groups."""
        size = len(self.respondent_ids)
        values: dict[str, IntArray] = {}
        found: dict[str, list[IntArray]] = {}
        for attribute, parts in members.items():
            values[attribute] = _unique(
                np.concatenate([g for _, g in parts] or [np.zeros(0, np.int64)])
            )
            indexed = [(r, _position(values[attribute], g)) for r, g in parts]
            found[attribute] = layers(indexed, size)
        every = [layer for attribute in found for layer in found[attribute]]
        klass, table = _classes(every, size)
        del every
        shown, took, chosen = self._count_by(klass, len(table))
        out: dict[str, Counts] = {}
        at = 0
        for attribute, mine in found.items():
            width = len(values[attribute])
            own = table[:, at : at + len(mine)]
            at += len(mine)
            shown_n = np.zeros((len(self.cells), width), np.int64)
            base_n = np.zeros((len(self.cells), width), np.int64)
            n = np.zeros((len(self.cells), width, len(self.options)), np.int64)
            for j in range(own.shape[1]):
                onehot = _onehot(own[:, j], width)
                shown_n += shown @ onehot
                base_n += took @ onehot
            for column in _distinct_columns(own).T:
                n += np.einsum("cko,kg->cgo", chosen, _onehot(column, width))
            out[attribute] = self._counts(values[attribute], shown_n, base_n, n)
        return out

    def _count_by(self, klass: Codes | None, n_classes: int) -> tuple[IntArray, IntArray, IntArray]:
        """shown, took [cell, class] and chosen [cell, class, option], a respondent's class
        taken by position from `klass` (its last entry: respondent code -1), or everyone
        in one class (None)."""
        n_cells, n_options = len(self.cells), len(self.options)
        size = n_cells * n_classes
        key = self.shown_cell.astype(np.int64) * n_classes
        if klass is not None:  # klass[-1]: the class of an unknown respondent, code -1
            key += klass[self.shown_respondent]
        shown = np.bincount(key, minlength=size)
        took = np.bincount(key[self.took], minlength=size)
        key = self.chosen_cell.astype(np.int64) * n_classes
        if klass is not None:
            key += klass[self.chosen_respondent]
        key *= n_options
        key += self.chosen_option
        chosen = np.bincount(key, minlength=size * n_options)
        return (
            shown.reshape(n_cells, n_classes),
            took.reshape(n_cells, n_classes),
            chosen.reshape(n_cells, n_classes, n_options),
        )

    def _counts(self, groups: IntArray, shown: IntArray, took: IntArray, n: IntArray) -> Counts:
        return Counts(self.cells, groups, self.options, shown, took, n)


def _cell_map(cells: pd.DataFrame, coded: pd.DataFrame) -> npt.NDArray[np.int32]:
    """The code in `coded` (CELL_KEYS, _code) of each row of `cells`."""
    return cells.merge(coded, on=CELL_KEYS, how="left")["_code"].to_numpy(dtype=np.int32)


def code_facts(answers: pd.DataFrame, exposures: pd.DataFrame) -> Facts:
    """Code the answers and exposures once (respondent codes: the exposures' ids, so
    read_facts' shared categories are used as they are)."""
    # per-row codes stay as narrow as they come (int32 for 1M ids); keys are built in int64
    x_respondent, ids = column_codes(exposures["respondent_id"])
    a_respondent = _recode(answers["respondent_id"], ids)
    x_combo, x_combos = cell_codes(exposures, _FACT_CELL)
    a_combo, a_combos = cell_codes(answers, _FACT_CELL)
    # one cell code for both tables: a cell matches as the joins matched it (equal keys)
    x_cells, a_cells = _cells(x_combos), _cells(a_combos)
    cells = pd.concat([x_cells, a_cells], ignore_index=True).drop_duplicates()
    cells = cells.reset_index(drop=True)
    coded = cells.assign(_code=np.arange(len(cells)))
    x_cell = _cell_map(x_cells, coded)[x_combo]
    a_cell = _cell_map(a_cells, coded)[a_combo]
    del x_combo, a_combo
    n_cells = max(len(cells), 1)

    shown = truthy(exposures["shown"])
    took = shown & truthy(exposures["answered"])
    # (respondent, cell) of every exposure shown and answered, sorted, to look answers up in
    mine = took & (x_respondent >= 0)
    key = x_respondent[mine].astype(np.int64)
    key *= n_cells
    key += x_cell[mine]
    del mine
    took_keys = _distinct_sorted(key)
    del key
    # answers as distinct (respondent, cell, option) keys, sorted (in place: 5M rows at 1M)
    code = answers["option_code"].to_numpy(dtype=np.int64)
    options = _unique(code)
    span = max(len(options), 1)
    if (a_respondent < 0).any():
        known = np.flatnonzero(a_respondent >= 0)
        a_respondent, a_cell, code = a_respondent[known], a_cell[known], code[known]
        del known
    key = a_respondent.astype(np.int64)
    key *= n_cells
    key += a_cell
    del a_respondent, a_cell
    option = _position(options, code)
    del code
    if len(ids) * n_cells * span < 2**62:
        key *= span
        key += option
        del option
        key = _distinct_sorted(key)
        pair, option = np.divmod(key, span)
        del key
    else:  # too many codes for one int64 key: drop duplicate pairs as a frame
        pairs = pd.DataFrame({"k": key, "o": option}).drop_duplicates()
        pair, option = pairs["k"].to_numpy(), pairs["o"].to_numpy()
    # only answers of respondents routed to the cell who answered it count
    if len(took_keys):
        at = np.minimum(np.searchsorted(took_keys, pair), len(took_keys) - 1)
        routed = np.flatnonzero(took_keys[at] == pair)
    else:
        routed = np.zeros(0, np.int64)
    del took_keys
    chosen_respondent, chosen_cell = np.divmod(pair[routed], n_cells)
    del pair
    return Facts(
        cells=cells,
        exposure_cells=x_combos,
        respondent_ids=ids,
        options=options,
        shown_respondent=x_respondent[shown],
        shown_cell=x_cell[shown],
        took=took[shown],
        chosen_respondent=chosen_respondent.astype(np.int32),
        chosen_cell=chosen_cell.astype(np.int32),
        chosen_option=option[routed].astype(np.int32),
    )
