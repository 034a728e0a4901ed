"""Compact index storage for the matchers: vocabularies as sorted arrays of packed character codes and sparse
matrices as plain numpy arrays.

The law index has about 110,000 distinct terms across its fields; as Python dicts of short strings they cost
about 120 bytes a term, and postings as lists of tuples another 100 bytes an entry. As numpy string arrays
they cost 4 bytes a character of the longest term (44 bytes a bigram in a field that also has an 11-character
word); packed into integers, 4 or 8 bytes a term. A BM25 field's stored weights are rebuilt from the term's
count in the document (one byte) and the document's length norm, with the same float operations as when they
were built, so every score is the same to the last bit. All of it pickles and loads in a few milliseconds and
needs numpy only (no scipy at query time: importing ``scipy.sparse`` alone costs about 20 MB).
"""

from __future__ import annotations

import mmap
import pickle
import struct
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

_BMP = 0x10000  # a packed term's characters are each below this (16 bits a character)
_SHIFT = np.uint32(16)
_max = np.maximum.reduce


def _codes(terms: Sequence[str]) -> np.ndarray:
    """The terms' code points, one row a term, padded with zeros (numpy's own string layout)."""
    arr = np.array(terms, dtype=np.str_)
    width = max(arr.dtype.itemsize // 4, 1)
    if arr.dtype.itemsize == 0:
        return np.zeros((len(terms), 1), dtype=np.uint32)
    return arr.view(np.uint32).reshape(len(terms), width)


def _pack(codes: np.ndarray, width: int) -> np.ndarray:
    """Up to ``width`` (2 or 4) code points below 2**16 per row as one unsigned integer, the first character
    in the highest bits: integer order is then the strings' order."""
    dtype: Any = np.uint32 if width == 2 else np.uint64
    key: Any = np.zeros(codes.shape[0], dtype=dtype)
    for k in range(min(width, codes.shape[1])):
        key |= codes[:, k].astype(dtype) << dtype(16 * (width - 1 - k))
    return np.asarray(key)


def _unpack(keys: np.ndarray, width: int) -> list[str]:
    shifts = np.arange(width - 1, -1, -1, dtype=keys.dtype) * keys.dtype.type(16)
    codes = ((keys[:, None] >> shifts) & keys.dtype.type(0xFFFF)).astype(np.uint32)
    return np.ascontiguousarray(codes).view(f"<U{width}").ravel().tolist() if keys.size else []


class Vocab:
    """Terms -> column numbers. Terms of one or two characters (below U+10000) are packed two to a uint32,
    of three or four into a uint64, the rest kept as a numpy string array; each part sorted, and a term's
    column is its position in its part after the parts before it (short, then medium, then long)."""

    __slots__ = ("long", "medium", "short")

    def __init__(self, terms: Iterable[str] = ()) -> None:
        ordered = sorted(set(terms))
        if not ordered:
            self.short = np.zeros(0, dtype=np.uint32)
            self.medium = np.zeros(0, dtype=np.uint64)
            self.long = np.zeros(0, dtype="<U1")
            return
        codes = _codes(ordered)
        bucket = self._buckets(codes)
        self.short = _pack(codes[bucket == 0], 2)
        self.medium = _pack(codes[bucket == 1], 4)
        rest = [t for t, b in zip(ordered, bucket.tolist(), strict=True) if b == 2]
        self.long = np.array(rest, dtype=np.str_) if rest else np.zeros(0, dtype="<U1")

    @staticmethod
    def _buckets(codes: np.ndarray) -> np.ndarray:
        """0: packed in 32 bits, 1: in 64 bits, 2: kept as a string (longer, or a character above U+FFFF)."""
        width = codes.shape[1]
        length = np.count_nonzero(codes, axis=1) if width > 1 else (codes[:, 0] > 0).astype(np.intp)
        bucket = np.where(length <= 2, 0, np.where(length <= 4, 1, 2))
        wide = codes.max(axis=1) >= _BMP
        # a NUL inside a term would pack like a shorter term: such terms are kept as strings
        inner_nul = (codes[:, :-1] == 0) & (codes[:, 1:] != 0) if width > 1 else np.zeros_like(codes, bool)
        return np.where(wide | inner_nul.any(axis=1), 2, bucket)

    def __getstate__(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.short, self.medium, self.long

    def __setstate__(self, state: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        self.short, self.medium, self.long = state

    def __len__(self) -> int:
        return int(self.short.size + self.medium.size + self.long.size)

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self.get(term) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.terms.tolist())

    @property
    def terms(self) -> np.ndarray:
        """Every term, in column order."""
        out = _unpack(self.short, 2) + _unpack(self.medium, 4) + self.long.tolist()
        return np.array(out, dtype=np.str_) if out else np.zeros(0, dtype="<U1")

    def index(self, terms: Sequence[str]) -> np.ndarray:
        """The column of each term (int64), -1 for a term the vocabulary does not have."""
        n = len(terms)
        short = self.short
        if n and short.size:
            arr = np.array(terms, dtype=np.str_)
            width = arr.dtype.itemsize
            if 4 <= width <= 8:  # the common case: characters and bigrams, packed as stored
                codes = arr.view(np.uint32)
                if _max(codes) < _BMP:
                    if width == 8:
                        key = codes[0::2] << _SHIFT
                        key |= codes[1::2]
                    else:
                        key = codes << _SHIFT
                    pos = short.searchsorted(key)
                    return np.where(short.take(pos, mode="clip") == key, pos, -1)
        out = np.full(n, -1, dtype=np.int64)
        if not n or not len(self):
            return out
        codes = _codes(terms)
        bucket = self._buckets(codes)
        for b, keys, offset in ((0, self.short, 0), (1, self.medium, self.short.size)):
            rows = np.flatnonzero(bucket == b)
            if rows.size and keys.size:
                self._find(keys, _pack(codes[rows], 2 if b == 0 else 4), offset, out, rows)
        rows = np.flatnonzero(bucket == 2)
        if rows.size and self.long.size:
            query = np.array([terms[i] for i in rows.tolist()], dtype=np.str_)
            self._find(self.long, query, self.short.size + self.medium.size, out, rows)
        return out

    @staticmethod
    def _find(keys: np.ndarray, query: np.ndarray, offset: int, out: np.ndarray,
              rows: np.ndarray | None) -> None:
        if not keys.size:
            return
        pos = np.searchsorted(keys, query)
        found = keys[np.minimum(pos, keys.size - 1)] == query
        cols = np.where(found, pos + offset, -1)
        if rows is None:
            out[:] = cols
        else:
            out[rows] = cols

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


def _row_dtype(n_rows: int) -> type:
    return np.uint16 if n_rows <= 1 << 16 else np.int32


def _ptr_dtype(nnz: int) -> type:
    return np.int32 if nnz < 1 << 31 else np.int64


class Columns:
    """A sparse matrix stored column by column (CSC: ``indptr``, row ``indices``, ``data``), for products
    that read only a few columns. ``data`` None: every stored value is 1, unless ``counts`` is set: then a
    stored value is BM25's ``count * kp1 / (count + norms[row])``, computed when read (a byte a value instead
    of eight, and the same float operations as when the field was built, so the same value to the last bit).
    Row numbers are 16-bit while the matrix has at most 65,536 rows."""

    __slots__ = ("counts", "data", "indices", "indptr", "kp1", "norms", "shape")

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray | None,
                 shape: tuple[int, int], counts: np.ndarray | None = None, norms: np.ndarray | None = None,
                 kp1: float = 0.0) -> None:
        self.indptr, self.indices, self.data, self.shape = indptr, indices, data, shape
        self.counts, self.norms, self.kp1 = counts, norms, kp1

    @classmethod
    def from_triplets(cls, rows: Sequence[int] | np.ndarray, cols: Sequence[int] | np.ndarray,
                      vals: Sequence[float] | np.ndarray | None, shape: tuple[int, int],
                      dtype: type = np.float64) -> Columns:
        """From (row, column, value) triplets; rows stay in order within each column (a repeated triplet is
        kept twice: ``gather`` then reaches its row twice)."""
        r = np.asarray(rows, dtype=np.int64)
        c = np.asarray(cols, dtype=np.int64)
        order = np.lexsort((r, c))
        indptr: np.ndarray = np.zeros(shape[1] + 1, dtype=_ptr_dtype(r.size))
        np.cumsum(np.bincount(c, minlength=shape[1]), out=indptr[1:])
        data: np.ndarray | None = None if vals is None else np.asarray(vals, dtype=dtype)[order]
        return cls(indptr, r[order].astype(_row_dtype(shape[0])), data, shape)

    @classmethod
    def from_bm25(cls, rows: Sequence[int], cols: Sequence[int] | np.ndarray, counts: Sequence[int],
                  norms: Sequence[float], kp1: float, shape: tuple[int, int]) -> Columns:
        """BM25 term weights ``count * kp1 / (count + norms[row])`` from (row, column, count) triplets."""
        top = max(counts, default=0)
        count_type = np.uint8 if top < 1 << 8 else np.uint16 if top < 1 << 16 else np.uint32
        m = cls.from_triplets(rows, cols, counts, shape, dtype=count_type)
        return cls(m.indptr, m.indices, None, shape, m.data, np.asarray(norms, dtype=np.float64), kp1)

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
        return cls(np.asarray(m.indptr, dtype=_ptr_dtype(int(m.nnz))),
                   np.asarray(m.indices, dtype=_row_dtype(int(m.shape[0]))),
                   np.asarray(m.data), (int(m.shape[0]), int(m.shape[1])))

    def nnz(self, cols: np.ndarray) -> np.ndarray:
        """Stored values per column."""
        return self.indptr[cols + 1] - self.indptr[cols]

    def gather(self, cols: np.ndarray, weights: np.ndarray, *, presence: bool = False
               ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, value x weight of its column) of every stored position of ``cols``, column by column
        (``presence``: every stored value taken as 1)."""
        ptr = self.indptr
        starts = ptr[cols]
        lengths = ptr[cols + 1] - starts
        total = int(lengths.sum()) if len(cols) else 0
        if not total:
            return np.zeros(0, dtype=np.int32), np.zeros(0)
        # every stored position of those columns, without a Python loop
        take = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        per = np.repeat(weights, lengths)
        rows = self.indices[take]
        if presence:
            return rows, per
        if self.counts is not None and self.norms is not None:
            c = self.counts.take(take).astype(np.float64)
            return rows, c * self.kp1 / (c + self.norms[rows]) * per
        return rows, (per if self.data is None else self.data[take] * per)

    def column_sums(self, cols: np.ndarray, weights: np.ndarray, *, presence: bool = False) -> np.ndarray:
        """``matrix[:, cols] @ weights`` (or with every stored value taken as 1), touching only those
        columns."""
        rows, vals = self.gather(cols, weights, presence=presence)
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


class Texts:
    """A list of strings kept as one string (each followed by a separator no string contains) and their
    offsets: 74 bytes of object header and an 8-byte pointer less per string, and one object to unpickle
    instead of thousands. ``span`` cuts out a run of them at once (one slice and one split)."""

    __slots__ = ("offsets", "sep", "text")

    def __init__(self, strings: Sequence[str]) -> None:
        sep = next((c for c in "\x1f\x1e\x1d\x1c\x00" if not any(c in t for t in strings)), None)
        if sep is None:
            raise ValueError("no separator free in these strings")
        self.sep = sep
        self.text = "".join(t + sep for t in strings)
        offsets = array("q", [0])
        at = 0
        for t in strings:
            at += len(t) + 1
            offsets.append(at)
        self.offsets = offsets

    def __getstate__(self) -> tuple[str, str, array[int]]:
        return self.text, self.sep, self.offsets

    def __setstate__(self, state: tuple[str, str, array[int]]) -> None:
        self.text, self.sep, self.offsets = state

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self.text[self.offsets[i] : self.offsets[i + 1] - 1]

    def __iter__(self) -> Iterator[str]:
        return iter(self.span(0, len(self)))

    def span(self, start: int, stop: int) -> list[str]:
        """The strings ``start`` to ``stop`` (excluded)."""
        if stop <= start:
            return []
        return self.text[self.offsets[start] : self.offsets[stop] - 1].split(self.sep)


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
        head = fh.read(len(_MAGIC) + 16)
        if head[: len(_MAGIC)] != _MAGIC or len(head) < len(_MAGIC) + 16:
            raise ValueError("not a mapped index")
        meta_size, count = struct.unpack_from("<QQ", head, len(_MAGIC))
        table = fh.read(16 * count)
        # The pickled objects are read, not mapped: once unpickled their bytes are garbage, and mapped pages
        # once read would stay in the process' resident set.
        meta = fh.read(meta_size)
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    if len(table) < 16 * count or len(meta) < meta_size:
        raise ValueError("truncated mapped index")
    view = memoryview(mapped)
    spans = [struct.unpack_from("<QQ", table, 16 * i) for i in range(count)]
    if any(s + n > len(view) for s, n in spans):
        raise ValueError("truncated mapped index")
    return pickle.loads(meta, buffers=[view[s : s + n] for s, n in spans])
