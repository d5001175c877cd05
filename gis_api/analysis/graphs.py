"""Sparse graphs of link lengths, knowing nothing of what the units are.

A graph here is an ``(n, n)`` scipy sparse matrix whose stored entries are links (explicit
zeros included: a zero-length link is still a link) and whose values are link lengths.

- :func:`csr_from_pairs` builds one from pairs sorted by row, keeping zero-length links;
- :func:`undirected_links` makes one undirected (the shorter of ``d_ij`` and ``d_ji``), drops
  self-links and, given labels, the links between units of different labels;
- :class:`GraphDistances` answers shortest paths along the links, up to a limit, per
  connected component.

Used by :mod:`gis_api.analysis.maxp` (regions on a contiguity graph) and
:mod:`gis_api.analysis.neighbours` (neighbour graphs of buildings).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

__all__ = ["DENSE_MAX", "GraphDistances", "csr_from_pairs", "undirected_links"]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

# A pair farther apart than the limit reads as this many times the limit.
_FAR_FACTOR = 2.0
#: Components up to this many units get a dense matrix of path lengths (8 bytes a pair);
#: larger ones a sparse one of the pairs within the limit. The answers are the same.
DENSE_MAX = 2500
# Sources per Dijkstra call when filling the sparse matrix of a large component.
_SOURCES_PER_CALL = 256


def csr_from_pairs(rows: Ints, cols: Ints, lengths: Floats, n: int) -> Any:
    """CSR from pairs sorted by row, built from its arrays so that zero lengths stay links."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return csr_matrix((lengths, cols, indptr), shape=(n, n))


def undirected_links(graph: Any, labels: ArrayLike | None = None) -> Any:
    """Symmetric CSR of ``graph``'s links: no self-links, the shorter length of each pair.

    With ``labels`` (one per unit), links between units of different labels are dropped.
    Rows are sorted by column; a stored zero length stays a link.
    """
    n = graph.shape[0]
    coo = coo_matrix(graph)
    lengths = np.asarray(coo.data, dtype=np.float64)
    rows = np.concatenate([coo.row, coo.col]).astype(np.int64)
    cols = np.concatenate([coo.col, coo.row]).astype(np.int64)
    lengths = np.concatenate([lengths, lengths])
    keep = rows != cols
    if labels is not None:
        label = np.asarray(labels).reshape(-1)
        keep &= label[rows] == label[cols]
    rows, cols, lengths = rows[keep], cols[keep], lengths[keep]
    order = np.lexsort((lengths, cols, rows))
    rows, cols, lengths = rows[order], cols[order], lengths[order]
    first = np.ones(len(rows), dtype=np.bool_)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return csr_from_pairs(rows[first], cols[first], lengths[first], n)


class GraphDistances:
    """Shortest paths along the links of an undirected graph, up to a limit, per component.

    Pairs farther apart than ``limit`` (or not connected) read as ``far`` (twice the limit);
    the exact length of such a pair is computed only by :meth:`diameter`. Components of up to
    ``dense_max`` units hold a dense matrix, larger ones a sparse one of the pairs within the
    limit; the answers do not depend on which.

    Attributes
    ----------
    graph
        The ``(n, n)`` CSR of link lengths.
    limit, far
        Longest path kept, and what a longer one reads as.
    component
        ``(n,)`` connected component of each unit.
    """

    def __init__(self, graph: Any, limit: float, *, dense_max: int = DENSE_MAX) -> None:
        self.graph = graph
        self.limit = limit
        self.far = _FAR_FACTOR * limit
        n = graph.shape[0]
        n_components, label = connected_components(graph, directed=False)
        self.component = np.asarray(label, dtype=np.int64)
        order = np.argsort(self.component, kind="stable")
        starts = np.zeros(n_components + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.component, minlength=n_components), out=starts[1:])
        self.position = np.empty(n, dtype=np.int64)
        self.component_units: list[Ints] = []
        self.blocks: list[Any] = []
        permuted = graph[order][:, order].tocsr()
        for comp in range(n_components):
            first, stop = int(starts[comp]), int(starts[comp + 1])
            units = order[first:stop]
            self.position[units] = np.arange(stop - first)
            self.component_units.append(units)
            if stop - first == 1:
                self.blocks.append(np.zeros((1, 1)))
                continue
            sub = permuted[first:stop, first:stop]
            if stop - first <= dense_max:
                dense = np.asarray(dijkstra(sub, directed=False, limit=limit), dtype=np.float64)
                dense[~np.isfinite(dense)] = self.far
                self.blocks.append(dense)
            else:
                self.blocks.append(self._sparse_block(sub))

    def _sparse_block(self, sub: Any) -> Any:
        """Limited paths of a big component as CSR holding ``length + 1`` (absent = far)."""
        size = sub.shape[0]
        rows: list[Ints] = []
        cols: list[Ints] = []
        values: list[Floats] = []
        for first in range(0, size, _SOURCES_PER_CALL):
            sources = np.arange(first, min(first + _SOURCES_PER_CALL, size))
            found = np.asarray(dijkstra(sub, directed=False, indices=sources, limit=self.limit))
            row, col = np.nonzero(np.isfinite(found))
            rows.append(sources[row])
            cols.append(col.astype(np.int64))
            values.append(found[row, col] + 1.0)
        return coo_matrix(
            (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
            shape=(size, size),
        ).tocsr()

    def block(self, units: Sequence[int] | Ints) -> Floats:
        """Return the path lengths between ``units`` (pairs beyond the limit read ``far``)."""
        index = np.asarray(units, dtype=np.int64)
        comps = self.component[index]
        comp = int(comps[0])
        if (comps == comp).all():
            return self._within(comp, self.position[index])
        out = np.full((len(index), len(index)), self.far)
        for comp in np.unique(comps).tolist():
            sel = np.flatnonzero(comps == comp)
            out[np.ix_(sel, sel)] = self._within(comp, self.position[index[sel]])
        return out

    def _within(self, comp: int, positions: Ints) -> Floats:
        stored = self.blocks[comp]
        if isinstance(stored, np.ndarray):
            return np.asarray(stored[np.ix_(positions, positions)], dtype=np.float64)
        out = np.asarray(stored[positions][:, positions].toarray(), dtype=np.float64)
        out[out == 0] = self.far + 1.0
        out -= 1.0
        np.fill_diagonal(out, 0.0)
        return out

    def diameter(self, units: Ints) -> float:
        """Exact longest shortest path between ``units`` (NaN if they are not connected)."""
        if len(units) < 2:
            return 0.0
        lengths = self.block(units)
        if lengths.max() < self.far:
            return float(lengths.max())
        comps = self.component[units]
        if not (comps == comps[0]).all():
            return math.nan
        whole = self.component_units[int(comps[0])]
        sub = self.graph[whole][:, whole]
        local = self.position[units]
        exact = dijkstra(sub, directed=False, indices=local)[:, local]
        return float(np.max(exact))
