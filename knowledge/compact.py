"""Compact index storage for the matchers: vocabularies as sorted string arrays and sparse matrices as plain
numpy arrays.

The law index has about 110,000 distinct terms across its fields; as Python dicts of short strings they cost
about 120 bytes a term, and postings as lists of tuples another 100 bytes an entry. The same as arrays costs
12-16 bytes a term and 12 an entry, pickles and loads in a few milliseconds, and needs numpy only (no scipy
at query time: importing ``scipy.sparse`` alone costs about 20 MB).
"""

from __future__ import annotations

import mmap
import pickle
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np


class Vocab:
    """Terms -> column numbers: the terms sorted in one numpy string array, a term's column its position."""

    __slots__ = ("terms",)

    def __init__(self, terms: Iterable[str] = ()) -> None:
        self.terms: np.ndarray = np.array(sorted(set(terms)), dtype=np.str_)
        if not self.terms.size:
            self.terms = np.zeros(0, dtype="<U1")

    def __len__(self) -> int:
        return int(self.terms.size)

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self.get(term) is not None

    def __iter__(self) -> Iterable[str]:
        return iter(self.terms.tolist())

    def index(self, terms: Sequence[str]) -> np.ndarray:
        """The column of each term (int64), -1 for a term the vocabulary does not have."""
        if not len(terms) or not self.terms.size:
            return np.full(len(terms), -1, dtype=np.int64)
        query = np.array(terms, dtype=np.str_)
        pos = np.searchsorted(self.terms, query)
        found = self.terms[np.minimum(pos, self.terms.size - 1)] == query
        return np.where(found, pos, -1).astype(np.int64)

    def get(self, term: str) -> int | None:
        col = int(self.index([term])[0])
        return col if col >= 0 else None

    def remap(self, old: dict[str, int]) -> np.ndarray:
        """For a vocabulary given as term -> old column: the new column of every old one."""
        perm = np.zeros(len(old), dtype=np.int64)
        if old:
            terms = list(old)
            perm[np.fromiter(old.values(), dtype=np.int64, count=len(old))] = self.index(terms)
        return perm


class Columns:
    """A sparse matrix stored column by column (CSC: ``indptr``, row ``indices``, ``data``), for products
    that read only a few columns. ``data`` None: every stored value is 1."""

    __slots__ = ("data", "indices", "indptr", "shape")

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray | None,
                 shape: tuple[int, int]) -> None:
        self.indptr, self.indices, self.data, self.shape = indptr, indices, data, shape

    @classmethod
    def from_triplets(cls, rows: Sequence[int] | np.ndarray, cols: Sequence[int] | np.ndarray,
                      vals: Sequence[float] | np.ndarray | None, shape: tuple[int, int],
                      dtype: type = np.float64) -> Columns:
        """From (row, column, value) triplets; rows stay in order within each column (a repeated triplet is
        kept twice: ``gather`` then reaches its row twice)."""
        r = np.asarray(rows, dtype=np.int64)
        c = np.asarray(cols, dtype=np.int64)
        order = np.lexsort((r, c))
        indptr = np.zeros(shape[1] + 1, dtype=np.int64)
        np.cumsum(np.bincount(c, minlength=shape[1]), out=indptr[1:])
        data: np.ndarray | None = None if vals is None else np.asarray(vals, dtype=dtype)[order]
        return cls(indptr, r[order].astype(np.int32), data, shape)

    @classmethod
    def from_scipy(cls, matrix: object, column_order: np.ndarray | None = None) -> Columns:
        """From a scipy sparse matrix (at build time), its columns moved to ``column_order[old]``."""
        from scipy import sparse  # only to build

        m: Any = sparse.csc_matrix(matrix)
        if column_order is not None and m.shape[1]:
            inverse = np.empty_like(column_order)
            inverse[column_order] = np.arange(column_order.size)
            m = sparse.csc_matrix(m[:, inverse])
        m.sort_indices()
        return cls(np.asarray(m.indptr, dtype=np.int64), np.asarray(m.indices, dtype=np.int32),
                   np.asarray(m.data), (int(m.shape[0]), int(m.shape[1])))

    def nnz(self, cols: np.ndarray) -> np.ndarray:
        """Stored values per column."""
        return self.indptr[cols + 1] - self.indptr[cols]

    def gather(self, cols: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, value x weight of its column) of every stored position of ``cols``, column by column."""
        ptr = self.indptr
        starts = ptr[cols]
        lengths = ptr[cols + 1] - starts
        total = int(lengths.sum()) if len(cols) else 0
        if not total:
            return np.zeros(0, dtype=np.int32), np.zeros(0)
        # every stored position of those columns, without a Python loop
        take = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        per = np.repeat(weights, lengths)
        return self.indices[take], (per if self.data is None else self.data[take] * per)

    def column_sums(self, cols: np.ndarray, weights: np.ndarray, *, presence: bool = False) -> np.ndarray:
        """``matrix[:, cols] @ weights`` (or with every stored value taken as 1), touching only those
        columns."""
        if presence and self.data is not None:
            rows, vals = Columns(self.indptr, self.indices, None, self.shape).gather(cols, weights)
        else:
            rows, vals = self.gather(cols, weights)
        if not rows.size:
            return np.zeros(self.shape[0])
        return np.bincount(rows, weights=vals, minlength=self.shape[0])


class TermIds:
    """Terms -> ids given from outside (a fitted vectorizer's columns), as sorted arrays like ``Vocab``."""

    __slots__ = ("ids", "vocab")

    def __init__(self, mapping: dict[str, int]) -> None:
        self.vocab = Vocab(mapping)
        self.ids = np.zeros(len(self.vocab), dtype=np.int64)
        if mapping:
            self.ids[self.vocab.index(list(mapping))] = np.fromiter(mapping.values(), dtype=np.int64,
                                                                    count=len(mapping))

    def __len__(self) -> int:
        return len(self.vocab)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TermIds) and np.array_equal(self.vocab.terms, other.vocab.terms)
                and np.array_equal(self.ids, other.ids))

    __hash__ = None  # type: ignore[assignment]

    def index(self, terms: Sequence[str]) -> np.ndarray:
        """The id of each term, -1 for a term not known."""
        pos = self.vocab.index(terms)
        return np.where(pos >= 0, self.ids[np.maximum(pos, 0)] if self.ids.size else -1, -1)

    def get(self, term: str) -> int | None:
        i = int(self.index([term])[0])
        return i if i >= 0 else None


# --- a pickle whose arrays stay in the file ----------------------------------------------------------------

_MAGIC = b"RBMAP1\n\0"
_ALIGN = 64


def dump_mapped(obj: object, fh: BinaryIO) -> None:
    """Pickle ``obj`` with its numpy arrays' data out of band, each at an aligned offset of the file, so
    that ``load_mapped`` maps them instead of reading and copying them: no copy at load, and the pages are
    the page cache's (shared between processes, reclaimable) instead of the process' own heap."""
    buffers: list[pickle.PickleBuffer] = []
    meta = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    table_size = 16 + 16 * len(raws)
    offset = -(-(len(_MAGIC) + table_size + len(meta)) // _ALIGN) * _ALIGN
    spans = []
    for raw in raws:
        spans.append((offset, raw.nbytes))
        offset += -(-raw.nbytes // _ALIGN) * _ALIGN
    fh.write(_MAGIC + struct.pack("<QQ", len(meta), len(raws)))
    for start, size in spans:
        fh.write(struct.pack("<QQ", start, size))
    fh.write(meta)
    position = len(_MAGIC) + table_size + len(meta)
    for (start, _), raw in zip(spans, raws, strict=True):
        fh.write(b"\0" * (start - position))
        fh.write(raw)
        position = start + raw.nbytes


def load_mapped(path: str | Path) -> object:
    """What ``dump_mapped`` wrote; its arrays are read-only views of the mapped file. Raises ValueError for
    a file in another format."""
    with open(path, "rb") as fh:
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    view = memoryview(mapped)
    if bytes(view[: len(_MAGIC)]) != _MAGIC:
        raise ValueError("not a mapped index")
    meta_size, count = struct.unpack_from("<QQ", view, len(_MAGIC))
    table = len(_MAGIC) + 16
    spans = [struct.unpack_from("<QQ", view, table + 16 * i) for i in range(count)]
    meta_start = table + 16 * count
    if meta_start + meta_size > len(view) or any(s + n > len(view) for s, n in spans):
        raise ValueError("truncated mapped index")
    return pickle.loads(view[meta_start : meta_start + meta_size],
                        buffers=[view[s : s + n] for s, n in spans])
