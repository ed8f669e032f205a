"""TF-IDF over hashed n-grams, computed with numpy in one pass per batch.

scikit-learn's ``TfidfVectorizer`` builds a Python string for every n-gram (a report of 800
characters makes 2,400 of them for character 1-3-grams) and looks each one up in a dict: on
our reports that cost more than the jieba segmentation it follows. Here a batch is turned
into one integer array (code points, or word ids), the n-grams of every position are hashed
at once, and only the buckets seen in at least ``min_df`` training documents are kept as
columns. Collisions in 2**22 buckets are rare at our vocabulary sizes (~100k n-grams).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

_M = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier (golden ratio), Fibonacci hashing
_BITS = 22


def _hash_ngrams(seq: np.ndarray, doc: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(document index, bucket) of every n-gram of ``seq`` that lies inside one document."""
    m = len(seq) - n + 1
    if m <= 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    h = np.full(m, (n * 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = (h ^ seq[k:k + m]) * _M
    inside = doc[:m] == doc[n - 1:n - 1 + m] if n > 1 else slice(None)
    return doc[:m][inside], (h[inside] >> np.uint64(64 - _BITS)).astype(np.int64)


class HashedTfidf:
    """Sublinear TF-IDF over hashed n-grams of integer sequences, rows L2-normalised.

    ``fit`` counts document frequencies and keeps the buckets with ``min_df`` or more;
    ``transform`` gives a CSR matrix over the kept buckets (float32)."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), min_df: int = 2):
        self.ngram_range = tuple(ngram_range)
        self.min_df = int(min_df)
        self.columns_: np.ndarray | None = None  # kept buckets, sorted
        self.idf_: np.ndarray | None = None

    def _pairs(self, seqs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return self._flat_pairs(*flatten(seqs))

    def _flat_pairs(self, seq: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seq = seq.astype(np.uint64)
        doc = np.repeat(np.arange(len(lens), dtype=np.int64), lens)
        rows, cols = [], []
        for n in range(self.ngram_range[0], self.ngram_range[1] + 1):
            r, c = _hash_ngrams(seq, doc, n)
            rows.append(r)
            cols.append(c)
        return np.concatenate(rows), np.concatenate(cols)

    def fit(self, seqs: Sequence[np.ndarray], chunk: int = 2000) -> "HashedTfidf":
        df = np.zeros(1 << _BITS, dtype=np.int64)
        for i in range(0, len(seqs), chunk):
            rows, cols = self._pairs(seqs[i:i + chunk])
            # one count per (document, bucket)
            # (np.unique is hash-based in numpy 2 and ten times slower here than a sort)
            key = np.sort(rows * (1 << _BITS) + cols)
            key = key[np.concatenate(([True], key[1:] != key[:-1]))] if len(key) else key
            df += np.bincount(key & ((1 << _BITS) - 1), minlength=1 << _BITS)
        self.columns_ = np.flatnonzero(df >= self.min_df).astype(np.int64)
        self._remap_ = None
        n = len(seqs)
        self.idf_ = (np.log((1 + n) / (1 + df[self.columns_])) + 1).astype(np.float32)
        return self

    def _remap(self) -> np.ndarray:
        """Bucket → column (-1 for a bucket not kept): one lookup instead of a search."""
        if getattr(self, "_remap_", None) is None:
            remap = np.full(1 << _BITS, -1, dtype=np.int32)
            remap[self.columns_] = np.arange(len(self.columns_), dtype=np.int32)
            self._remap_ = remap
        return self._remap_

    @property
    def n_features(self) -> int:
        return len(self.columns_)

    def transform(self, seqs: Sequence[np.ndarray]):
        """CSR over the kept buckets, each row's columns in order."""
        return self.transform_flat(*flatten(seqs))

    def transform_flat(self, seq: np.ndarray, lens: np.ndarray):
        """``transform`` of the documents laid end to end in ``seq``, ``lens`` long each.
        Duplicates are counted by one sort of (row, column) keys, int32 when they fit (half
        the work of scipy's COO conversion, which sorts row by row)."""
        from scipy import sparse

        n, n_cols = len(lens), len(self.columns_)
        rows, cols = self._flat_pairs(seq, lens)
        pos = self._remap()[cols]
        kept = pos >= 0
        key_type = np.int32 if n * n_cols < 1 << 31 else np.int64
        key = rows[kept].astype(key_type) * key_type(n_cols) + pos[kept]
        key.sort()
        first = np.ones(len(key), dtype=bool)
        np.not_equal(key[1:], key[:-1], out=first[1:])
        start = np.flatnonzero(first)
        counts = np.diff(start, append=len(key)).astype(np.float32)
        key = key[start]
        row = key // n_cols
        indices = (key - row * n_cols).astype(np.int32)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
        data = (np.log(counts) + 1) * self.idf_[indices]
        norms = np.sqrt(np.bincount(row, weights=data.astype(np.float64) ** 2, minlength=n))
        data /= norms[row].astype(np.float32)
        return sparse.csr_matrix((data, indices, indptr), shape=(n, n_cols))

    def to_state(self) -> dict:
        return {"ngram_range": list(self.ngram_range), "min_df": self.min_df,
                "columns": self.columns_, "idf": self.idf_}

    @classmethod
    def from_state(cls, state: dict) -> "HashedTfidf":
        obj = cls(tuple(int(v) for v in state["ngram_range"]), int(state["min_df"]))
        obj.columns_ = np.asarray(state["columns"], dtype=np.int64)
        obj.idf_ = np.asarray(state["idf"], dtype=np.float32)
        return obj


def flatten(seqs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(the sequences laid end to end, their lengths)."""
    lens = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    return (np.concatenate(seqs) if len(seqs) else np.empty(0, np.uint64)), lens


def code_points(text: str) -> np.ndarray:
    """The characters of ``text`` as an integer array."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def hstack_csr(blocks: Sequence) -> "object":
    """Side-by-side CSR matrices with the same rows, as one CSR matrix, without the sort that
    ``scipy.sparse.hstack`` does through COO (each row's entries are already in order)."""
    from scipy import sparse

    blocks = [sparse.csr_matrix(b) for b in blocks]
    n = blocks[0].shape[0]
    lengths = [np.diff(b.indptr) for b in blocks]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.sum(lengths, axis=0), out=indptr[1:])
    nnz = int(indptr[-1])
    data = np.empty(nnz, dtype=np.result_type(*[b.dtype for b in blocks]))
    indices = np.empty(nnz, dtype=np.int32)
    start = indptr[:-1].copy()  # where each row's entries of the next block go
    offset = 0
    for b, length in zip(blocks, lengths):
        # an entry moves by its row's output start minus its row's start in the block
        dest = np.arange(b.nnz) + np.repeat(start - b.indptr[:-1], length)
        data[dest] = b.data
        indices[dest] = b.indices + offset
        start += length
        offset += b.shape[1]
    return sparse.csr_matrix((data, indices, indptr), shape=(n, offset))
