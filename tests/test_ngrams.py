"""The hashed n-gram TF-IDF: exact counts, no n-gram across documents, unseen n-grams dropped."""

import numpy as np
import pytest

from pipeline.ngrams import HashedTfidf, code_points


def _dense(vec, texts):
    return vec.transform([code_points(t) for t in texts]).toarray()


def test_fit_keeps_ngrams_seen_in_min_df_documents():
    vec = HashedTfidf((1, 2), min_df=2).fit([code_points(t) for t in ("火灾", "火灾伤", "洪水")])
    # kept: 火, 灾, 火灾 (in two documents); not 伤, 灾伤, 洪, 水, 洪水
    assert vec.n_features == 3
    x = _dense(vec, ["洪水", "火"])
    assert not x[0].any()  # nothing of 洪水 was kept
    assert np.count_nonzero(x[1]) == 1 and x[1].max() == pytest.approx(1.0)


def test_rows_are_l2_normalised_with_sublinear_counts():
    vec = HashedTfidf((1, 1), min_df=1).fit([code_points("甲乙"), code_points("甲丙")])
    row = _dense(vec, ["甲甲甲乙"])[0]
    assert np.linalg.norm(row) == pytest.approx(1.0, abs=1e-6)
    idf = dict(zip(vec.columns_, vec.idf_))
    # 甲: tf 1+ln 3, idf ln(3/3)+1 = 1; 乙: tf 1, idf ln(3/2)+1
    a, b = 1 + np.log(3), np.log(3 / 2) + 1
    assert sorted(row[row > 0]) == pytest.approx(sorted([a / np.hypot(a, b), b / np.hypot(a, b)]), abs=1e-6)
    assert len(idf) == 3


def test_ngrams_do_not_cross_documents():
    vec = HashedTfidf((2, 2), min_df=1).fit([code_points("甲乙")])
    x = vec.transform([code_points("甲"), code_points("乙")])
    assert x.nnz == 0  # 甲|乙 would only exist across the boundary
    assert vec.transform([code_points("丙甲乙")]).nnz == 1


def test_state_round_trip_gives_the_same_matrix():
    docs = [code_points(t) for t in ("县城发生火灾", "乡镇发生洪灾", "发生火灾三起")]
    vec = HashedTfidf((1, 3), min_df=2).fit(docs)
    again = HashedTfidf.from_state(vec.to_state())
    assert (vec.transform(docs) != again.transform(docs)).nnz == 0


def test_word_ids_drop_whitespace_fold_numbers_and_zero_unknown_words():
    from pipeline.classify import Featurizer, Inputs

    feat = Featurizer()
    feat.vocabulary = {"火灾": 1, "<NUM>": 2, "伤亡": 3}
    batch = [Inputs(["火灾", " ", "12", "未见", "\u3000", "伤亡"], "", {}), Inputs(["2026", "火灾"], "", {})]
    for _ in range(2):  # the second time from the token cache
        assert [list(a) for a in feat._word_seqs(batch)] == [[1, 2, 0, 3], [2, 1]]


def test_empty_batch_and_empty_document():
    vec = HashedTfidf((1, 2), min_df=1).fit([code_points("甲乙")])
    assert vec.transform([]).shape == (0, vec.n_features)
    assert vec.transform([code_points("")]).nnz == 0


def test_hstack_csr_equals_scipy_hstack():
    from scipy import sparse

    from pipeline.ngrams import hstack_csr

    rng = np.random.default_rng(0)
    blocks = [sparse.random(7, w, density=0.3, format="csr", random_state=rng, dtype=np.float32) for w in (5, 1, 9)]
    blocks[1] = sparse.csr_matrix((7, 1), dtype=np.float32)  # an empty block
    ours, theirs = hstack_csr(blocks), sparse.hstack(blocks, format="csr")
    assert ours.shape == theirs.shape and (ours != theirs).nnz == 0
    assert ours.has_sorted_indices or np.all(np.diff(ours.indices[ours.indptr[0]:ours.indptr[1]]) > 0)


def test_transform_matches_scipy_coo_construction():
    """The sorted-key CSR is, bit for bit, what scipy's COO→CSR conversion of the same counts
    gives with the same weighting (how ``transform`` was first written)."""
    from scipy import sparse

    rng = np.random.default_rng(3)
    docs = [rng.integers(0x4E00, 0x4E40, size=rng.integers(0, 60)).astype(np.uint32) for _ in range(40)]
    vec = HashedTfidf((1, 3), min_df=2).fit(docs[:30])
    x = vec.transform(docs)
    rows, cols = vec._pairs(docs)
    pos = vec._remap()[cols]
    kept = pos >= 0
    ref = sparse.csr_matrix((np.ones(int(kept.sum()), dtype=np.float32), (rows[kept], pos[kept])),
                            shape=x.shape)
    ref.sum_duplicates()
    ref.data = (np.log(ref.data) + 1) * vec.idf_[ref.indices]
    row = np.repeat(np.arange(ref.shape[0]), np.diff(ref.indptr))
    ref.data /= np.sqrt(np.bincount(row, weights=ref.data.astype(np.float64) ** 2,
                                    minlength=ref.shape[0]))[row].astype(np.float32)
    assert x.dtype == ref.dtype == np.float32
    assert np.array_equal(x.indptr, ref.indptr) and np.array_equal(x.indices, ref.indices)
    assert np.array_equal(x.data, ref.data)
