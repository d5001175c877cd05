"""Small helpers: apportioning, ranks within groups, ragged and CSR indexing, names and codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from layers.synth.base import (
    _GIVEN,
    _ORDINALS,
    _SURNAMES,
    BoolArray,
    FloatArray,
    GeomArray,
    IntArray,
    ObjArray,
    StrArray,
)


def _geoms(values: Any) -> GeomArray:
    return np.asarray(values, dtype=object)


def _apportion(total: int, weights: FloatArray, cap: IntArray | None = None) -> IntArray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder).

    With ``cap``, no share exceeds its cap; what a capped share cannot take goes to the rest.
    """
    w = np.maximum(np.asarray(weights, dtype=np.float64), 0.0)
    out = np.zeros(len(w), dtype=np.int64)
    open_ = w > 0
    for _ in range(50):
        remaining = total - int(out.sum())
        if remaining <= 0 or not open_.any():
            break
        ww = np.where(open_, w, 0.0)
        share = remaining * ww / ww.sum()
        add = np.floor(share).astype(np.int64)
        short = remaining - int(add.sum())
        if short > 0:
            rem = np.where(open_, share - add, -1.0)
            add[np.argsort(-rem, kind="stable")[:short]] += 1
        if cap is not None:
            add = np.minimum(add, cap - out)
            open_ &= out + add < cap
        out += add
    return out


def _rank_within(group: IntArray, key: FloatArray) -> IntArray:
    """Rank of each element within its group, by ascending ``key`` (0 = first)."""
    order = np.lexsort((key, group))
    g = group[order]
    idx = np.arange(len(g), dtype=np.int64)
    start = np.ones(len(g), dtype=np.bool_)
    start[1:] = g[1:] != g[:-1]
    first = np.maximum.accumulate(np.where(start, idx, 0))
    rank = np.empty(len(g), dtype=np.int64)
    rank[order] = idx - first
    return rank


def _ragged(counts: IntArray) -> tuple[IntArray, IntArray]:
    """For groups of ``counts`` items: each item's group and its index within the group."""
    counts = np.maximum(counts, 0)
    group = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    return group, np.arange(len(group), dtype=np.int64) - starts[group]


def _ptr(group: IntArray, n: int) -> IntArray:
    """CSR offsets of ``n`` groups for a ``group`` array sorted by group."""
    return np.concatenate(([0], np.cumsum(np.bincount(group, minlength=n)))).astype(np.int64)


def _pick(rng: np.random.Generator, words: Sequence[str], n: int) -> StrArray:
    return np.asarray(words, dtype=np.str_)[rng.integers(0, len(words), size=n)]


def _or_none(mask: BoolArray, values: StrArray) -> ObjArray:
    out = np.full(len(mask), None, dtype=object)
    out[mask] = values[mask]
    return out


def _person_names(rng: np.random.Generator, n: int) -> StrArray:
    """Plausible Cantonese-area names: a common surname and one or two given characters."""
    two = rng.random(n) < 0.75
    second = np.where(two, _pick(rng, _GIVEN, n), "").astype(np.str_)
    return np.strings.add(_pick(rng, _SURNAMES, n), np.strings.add(_pick(rng, _GIVEN, n), second))


def _phones(rng: np.random.Generator, n: int) -> StrArray:
    """Fake mobile numbers in the 138 block."""
    digits = rng.integers(0, 100_000_000, size=n).astype(np.str_)
    return np.strings.add("138", np.strings.zfill(digits, 8))


def _numbered(prefix: str | StrArray, numbers: IntArray, width: int) -> StrArray:
    """``prefix`` followed by ``numbers`` zero-padded to ``width``."""
    return np.strings.add(prefix, np.strings.zfill(numbers.astype(np.str_), width))


def _unique_names(
    rng: np.random.Generator, words: Sequence[str], suffixes: Sequence[str], n: int
) -> list[str]:
    """``n`` distinct names word+suffix, each word used once while words last."""
    order = rng.permutation(len(words))
    names: list[str] = []
    used: set[str] = set()
    for i in range(n):
        word = words[order[i % len(words)]]
        options = [word + s for s in suffixes if word + s not in used]
        if options:
            name = options[int(rng.integers(0, len(options)))]
        else:
            name = f"{word}{_ORDINALS[min(i // len(words), 9)] or '一'}{suffixes[0]}"
        while name in used:
            name = f"{name}{len(used)}"
        used.add(name)
        names.append(name)
    return names
