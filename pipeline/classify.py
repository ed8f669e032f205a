"""Classify: focus area and urgency, with calibrated probabilities, from labeled history.

Features: the jieba tokens of the nlp stage (the ``Doc`` is reused, never segmented again),
character n-grams, and for urgency the extracted facts (deaths, missing, severity grade,
crowd size...). Models are scikit-learn estimators saved with skops; loading trusts only the
types in ``TRUSTED_TYPES`` and refuses any other.
Urgency is not the model's alone: a death, or a grade of 较大 and above, in a recent event
makes a report at least flash, and the override is shown as a reason.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, repeat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .config import Config, load_config
from .corpus import is_follow_up
from .errors import ModelError
from .facts import Facts, reports_a_drill, severity
from .labels import FOCUS, URGENCY, load_labels

MODEL_FILE = "model.skops"
CARD_FILE = "card.json"
SEVERITY_RANK = {"一般": 1, "较大": 2, "重大": 3, "特别重大": 4}
# The only types a model file may contain; anything else is refused at load time.
TRUSTED_TYPES = frozenset({
    "sklearn.feature_extraction._dict_vectorizer.DictVectorizer",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.svm._classes.LinearSVC",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.naive_bayes.ComplementNB",
    "pipeline.classify.SoftVote",
    "pipeline.classify.Stacked",
    "sklearn.utils._bunch.Bunch",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.model_selection._split.StratifiedKFold",
    "sklearn.frozen._frozen.FrozenEstimator",
    "numpy.dtype", "numpy.ndarray", "numpy.float64", "numpy.int64", "numpy.float32", "numpy.int32",
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
    "scipy.sparse._csr.csr_matrix", "scipy.sparse._csc.csc_matrix",
    "builtins.slice", "builtins.type", "builtins.int", "builtins.float", "builtins.str",
    "builtins.dict", "builtins.list", "builtins.tuple", "builtins.bool",
})

_DIGITS = re.compile(r"\d")
_DIGIT_CHARS = frozenset("0123456789０１２３４５６７８９")


# ---------------------------------------------------------------- features

def fact_features(facts: Facts | None, title: str, text: str, received_at: datetime | None) -> dict[str, float]:
    """Facts that matter for urgency, as named indicator features."""
    f: dict[str, float] = {}
    if facts is None:
        return f
    grade, _ = severity(facts)
    for name, value in (("dead", facts.dead), ("injured", facts.injured), ("serious", facts.serious),
                        ("missing", facts.missing), ("trapped", facts.trapped)):
        if value is not None:
            f[f"{name}>0" if value > 0 else f"{name}=0"] = 1.0
    if grade:
        f[f"grade={grade}"] = 1.0
    if facts.vague:
        f["vague_count"] = 1.0
    if facts.casualties_unknown:
        f["casualties_unknown"] = 1.0
    if facts.crowd:
        f["crowd>0"] = 1.0
        if facts.crowd >= 50:
            f["crowd>=50"] = 1.0
    if facts.crowd_vague:
        f["crowd_vague"] = 1.0
    if facts.loss_wan:
        f["loss>0"] = 1.0
    if facts.event_time is not None:
        f["has_event_time"] = 1.0
        if received_at is not None:
            hours = (received_at - facts.event_time).total_seconds() / 3600
            f["event_within_1d" if hours <= 24 else ("event_within_3d" if hours <= 72 else "event_older")] = 1.0
    if is_follow_up(title, text):
        f["follow_up"] = 1.0
    cues = _cues()
    body = f"{title}\n{text}"
    injured = facts.injured or 0
    if injured >= 10:
        f["injured>=10"] = 1.0
    elif injured >= 3:
        f["injured3-9"] = 1.0
    if (facts.patients or 0) >= 10:
        f["patients>=10"] = 1.0
    for name in ("resolved", "final_report", "emergency_response", "drinking_water", "planned", "affected_wan", "spreading",
                 "rescued", "drinking_hit", "stranded"):
        if cues[name].search(body):
            f[name] = 1.0
    # labels.md: minor injuries are urgent; several serious injuries are flash (an illness
    # report's mild symptoms say nothing of how far an outbreak has spread)
    if injured and not facts.serious and not facts.patients and cues["minor_injury"].search(text):
        f["injuries_minor"] = 1.0
    if (facts.patients or 0) >= 10 and "spreading" in f:
        f["outbreak_spreading"] = 1.0
    if reports_a_drill(title, text, facts):
        f["drill"] = 1.0
    evacuated = [int(m.group("n")) for key in ("evacuation", "evacuation_before") for m in cues[key].finditer(text)]
    if evacuated:
        n = max(evacuated)
        f["evacuated>=1000" if n >= 1000 else "evacuated>=100" if n >= 100 else "evacuated>0"] = 1.0
    return f


@lru_cache(maxsize=1)
def _cues() -> dict[str, re.Pattern]:
    from .facts import patterns
    from .prefilter import guard

    return {k: guard(re.compile(v)) for k, v in patterns()["cues"].items()}


@dataclass
class Inputs:
    """What the classifiers see of one report."""

    words: list[str]  # jieba tokens of title, "‖", text, as segmented (see ``word_key``)
    chars: str  # title + text with digits folded, for character n-grams
    facts: dict[str, float]


def make_inputs(doc, title: str, title_words: list[str], facts: Facts | None,
                received_at: datetime | None) -> Inputs:
    """Inputs from the nlp stage's ``Doc`` (its tokens are reused) and the title's words."""
    body = doc.user_data.get("triage_words") or [t.text for t in doc]
    words = [*title_words, "‖", *body]
    from .facts import doc_text

    text = doc_text(doc)
    chars = _DIGITS.sub("0", f"{title}\n{text}")
    return Inputs(words, chars, fact_features(facts, title, text, received_at))


def word_key(word: str) -> str | None:
    """What a token counts as for the word features: None for whitespace, ``<NUM>`` for a
    number, else the token itself."""
    if not word or word.isspace():
        return None
    return "<NUM>" if word[0] in _DIGIT_CHARS else word


class Featurizer:
    """Word 1-2-gram TF-IDF + character 1-3-gram TF-IDF + fact indicators, stacked.

    The n-grams are hashed with numpy (``pipeline.ngrams``) rather than built as strings:
    same features, a fraction of the time."""

    def __init__(self, fact_weight: float = 1.0):
        from sklearn.feature_extraction import DictVectorizer

        from .ngrams import HashedTfidf

        self.vocabulary: dict[str, int] = {}
        self.word = HashedTfidf((1, 2), min_df=2)
        self.char = HashedTfidf((1, 3), min_df=2)
        self.facts = DictVectorizer(dtype=np.float32)
        self.fact_weight = fact_weight

    def _word_ids(self, inputs: list[Inputs]) -> tuple[np.ndarray, np.ndarray]:
        """Word ids of the batch end to end, and how many per report: whitespace dropped,
        numbers one word, unknown words 0. Raw tokens are looked up in a cache (``_raw``) that
        already holds the answer for almost every token, so each token costs one dict lookup."""
        raw = self.__dict__.setdefault("_raw", {})
        vocab = self.vocabulary
        words = list(chain.from_iterable(i.words for i in inputs))
        ids = np.fromiter(map(raw.get, words, repeat(-2)), dtype=np.int64, count=len(words))
        for k in np.flatnonzero(ids == -2):
            w = words[k]
            key = word_key(w)
            ids[k] = -1 if key is None else vocab.get(key, 0)
            if len(raw) < 300_000:
                raw[w] = int(ids[k])
        kept = ids >= 0
        report = np.repeat(np.arange(len(inputs)), [len(i.words) for i in inputs])
        return ids[kept].astype(np.uint32), np.bincount(report[kept], minlength=len(inputs))

    def _word_seqs(self, inputs: list[Inputs]) -> list[np.ndarray]:
        """Word ids per report (see ``_word_ids``)."""
        ids, lens = self._word_ids(inputs)
        return np.split(ids, np.cumsum(lens)[:-1]) if len(inputs) else []

    def fit(self, inputs: list[Inputs]) -> "Featurizer":
        from .ngrams import code_points

        vocab: dict[str, int] = {}
        for i in inputs:
            for w in i.words:
                key = word_key(w)
                if key is not None and key not in vocab:
                    vocab[key] = len(vocab) + 1
        self.vocabulary = vocab
        self._raw = {}
        self.word.fit(self._word_seqs(inputs))
        self.char.fit([code_points(i.chars) for i in inputs])
        self.facts.fit([i.facts for i in inputs] + [{"dead>0": 1.0}])
        return self

    @property
    def n_text_features(self) -> int:
        return self.word.n_features + self.char.n_features

    def transform(self, inputs: list[Inputs], with_facts: bool = True):
        return self.transform_both(inputs)[1 if with_facts else 0]

    def transform_both(self, inputs: list[Inputs]):
        """(text columns, text + fact columns): what the focus and the urgency models see."""
        from .ngrams import hstack_csr

        word, char, facts = self._blocks(inputs)
        text = hstack_csr([word, char])
        return text, hstack_csr([text, facts])

    def transform_all(self, inputs: list[Inputs]):
        """The text + fact columns alone (``transform_both``'s second matrix)."""
        from .ngrams import hstack_csr

        return hstack_csr(self._blocks(inputs))

    def _blocks(self, inputs: list[Inputs]) -> list:
        from .ngrams import code_points

        chars = [i.chars for i in inputs]
        lens = np.fromiter(map(len, chars), dtype=np.int64, count=len(chars))
        return [self.word.transform_flat(*self._word_ids(inputs)),
                self.char.transform_flat(code_points("".join(chars)), lens),
                self._fact_block(inputs)]

    def _fact_block(self, inputs: list[Inputs]):
        """``self.facts.transform`` of the fact indicators, times the fact weight: the same CSR
        (known names only, each row's columns in order), without DictVectorizer's per-call
        checks and conversions, which cost more than the few entries it builds."""
        from scipy import sparse

        vocab = self.facts.vocabulary_
        indptr, indices, values = [0], [], []
        for i in inputs:
            row = sorted((vocab[f], v) for f, v in i.facts.items() if f in vocab)
            indices += [c for c, _ in row]
            values += [v for _, v in row]
            indptr.append(len(indices))
        data = np.array(values, dtype=self.facts.dtype) * self.fact_weight
        return sparse.csr_matrix((data, np.array(indices, dtype=np.int32), np.array(indptr, dtype=np.int32)),
                                 shape=(len(inputs), len(self.facts.feature_names_)))

    def to_state(self) -> dict:
        """What is saved. The vocabulary goes as one array of terms (ordered by id), not as a
        dict: skops writes a dict entry by entry, which made files of 60 MB and minutes."""
        terms = sorted(self.vocabulary, key=self.vocabulary.get)
        return {"facts": self.facts, "fact_weight": self.fact_weight, "word": self.word.to_state(),
                "char": self.char.to_state(), "terms": np.array(terms, dtype=str)}

    @classmethod
    def from_state(cls, state: dict) -> "Featurizer":
        from .ngrams import HashedTfidf

        obj = cls.__new__(cls)
        obj.facts, obj.fact_weight = state["facts"], float(state["fact_weight"])
        obj.word, obj.char = HashedTfidf.from_state(state["word"]), HashedTfidf.from_state(state["char"])
        obj.vocabulary = {str(t): i + 1 for i, t in enumerate(state["terms"])}
        obj._raw = {}
        # built now, in the process that loads the model, so that forked workers share them
        obj.word._remap(), obj.char._remap()
        return obj


# ---------------------------------------------------------------- model families

def make_estimator(family: str, seed: int):
    """An unfitted classifier of the named family with calibrated probabilities
    (``vote`` is built from fitted members: see ``SoftVote``)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.naive_bayes import ComplementNB
    from sklearn.svm import LinearSVC

    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    if family == "svm":
        return CalibratedClassifierCV(LinearSVC(C=0.5, class_weight="balanced", random_state=seed),
                                      method="sigmoid", cv=cv, ensemble=False)
    if family == "logreg":
        return LogisticRegression(C=20.0, max_iter=3000, class_weight="balanced", random_state=seed)
    if family == "cnb":
        return CalibratedClassifierCV(ComplementNB(alpha=0.3), method="sigmoid", cv=cv, ensemble=False)
    raise ValueError(f"unknown model family {family!r}")


class SoftVote:
    """The mean of fitted members' probabilities (a soft vote). The members are fitted once
    for the comparison and reused here, not fitted again."""

    def __init__(self, members: list):
        self.members = list(members)
        self.classes_ = self.members[0].classes_
        for m in self.members[1:]:
            if list(m.classes_) != list(self.classes_):
                raise ValueError("soft vote members disagree on the classes")

    def predict_proba(self, x) -> np.ndarray:
        return np.mean([m.predict_proba(x) for m in self.members], axis=0)

    def predict(self, x) -> np.ndarray:
        return np.asarray(self.classes_)[self.predict_proba(x).argmax(axis=1)]


def stack_features(text_proba: np.ndarray, x_facts) -> np.ndarray:
    """The second stage's inputs: the log of the text model's probabilities, then the fact
    columns (dense)."""
    facts = x_facts.toarray() if hasattr(x_facts, "toarray") else np.asarray(x_facts)
    return np.hstack([np.log(np.clip(text_proba, 1e-6, 1.0)), facts])


class Stacked:
    """Urgency in two stages. A text model (on the word and character columns only) gives
    probabilities; a logistic regression over their logs and the fact indicators (deaths,
    minor injuries, evacuations, crowd, drinking water hit...) gives the answer. The second
    stage is fitted on the text model's out-of-fold probabilities, so it learns how far to
    trust the wording against the facts: in one sparse model the few fact columns were drowned
    by a hundred thousand text columns."""

    def __init__(self, text, meta, n_text: int):
        self.text = text
        self.meta = meta
        self.n_text = int(n_text)
        self.classes_ = meta.classes_
        if list(text.classes_) != list(meta.classes_):
            raise ValueError("the two stages disagree on the classes")

    def predict_proba(self, x) -> np.ndarray:
        """Probabilities of the rows of ``x`` (text + fact columns)."""
        return self.meta.predict_proba(stack_features(self.text.predict_proba(x[:, :self.n_text]),
                                                      x[:, self.n_text:]))

    def predict(self, x) -> np.ndarray:
        return np.asarray(self.classes_)[self.predict_proba(x).argmax(axis=1)]


class LinearScorer:
    """Both models' probabilities from one sparse × dense product per weight dtype.

    The focus model (logistic regression on the text columns) and the urgency model's text stage
    (logistic regression, calibrated complement NB, or their soft vote) are all linear in the
    same features; a ``Stacked`` urgency model's second stage then runs on their probabilities
    and the fact columns, through scikit-learn. Their coefficients are stacked once, C-contiguous, with zero
    rows for the fact columns the focus model does not see: a batch is one pass over its
    nonzeros per weight dtype (two for the shipped model: float32 logistic regressions, float64
    NB) instead of one per model, without scikit-learn's per-call input checks and its copy of
    each transposed coefficient matrix. Each model's columns of the product sum the same terms
    in the same order and dtype as scikit-learn's ``X @ coef.T`` (a zero weight adds exactly
    nothing), and the link functions are scikit-learn's, so the probabilities are the same to
    the bit (``tests/test_classify.py`` holds it to that).

    ``build`` returns None for any other kind of model; ``Model`` then asks scikit-learn."""

    def __init__(self, weights: dict, focus: tuple, urgency: list[tuple], stacked: "Stacked | None" = None):
        self.weights = weights  # result dtype -> (n_features, n_columns) stacked coefficients
        self.focus = focus  # (kind, dtype, column slice, parameters): see _head_proba
        self.urgency = urgency  # the same per member of the vote
        self.stacked = stacked  # urgency's second stage, when it has one

    @classmethod
    def build(cls, focus_clf, urgency_clf, n_text: int, n_features: int) -> "LinearScorer | None":
        """From the focus model (on ``n_text`` columns) and the urgency model (on all
        ``n_features``), or None when either is not a model this class computes."""
        stacked = urgency_clf if isinstance(urgency_clf, Stacked) else None
        first = stacked.text if stacked is not None else urgency_clf
        members = first.members if isinstance(first, SoftVote) else [first]
        width = n_text if stacked is not None else n_features
        if stacked is not None and stacked.n_text != n_text:
            return None
        heads = [_linear_head(m) for m in [focus_clf, *members]]
        if any(h is None for h in heads) or [h[1].shape[1] for h in heads] != [n_text] + [width] * len(members):
            return None
        widths: dict[np.dtype, int] = {}
        placed = []
        for kind, coef, extra in heads:
            dtype = np.result_type(np.float32, coef.dtype)  # what scipy computes X @ coef.T in
            start = widths.get(dtype, 0)
            widths[dtype] = start + coef.shape[0]
            placed.append((kind, dtype, slice(start, start + coef.shape[0]), extra))
        weights = {dtype: np.zeros((n_features, width), dtype=dtype) for dtype, width in widths.items()}
        for (_, coef, _), (_, dtype, cols, _) in zip(heads, placed):
            weights[dtype][:coef.shape[1], cols] = coef.T
        return cls(weights, placed[0], placed[1:], stacked)

    def predict_proba(self, x) -> tuple[np.ndarray, np.ndarray]:
        """(focus, urgency) probabilities of the rows of ``x`` (float32 CSR, text + fact columns)."""
        scores = {dtype: x @ w for dtype, w in self.weights.items()}
        focus = _head_proba(self.focus, scores)
        probas = [_head_proba(h, scores) for h in self.urgency]
        urgency = probas[0] if len(probas) == 1 else np.mean(probas, axis=0)
        if self.stacked is not None:
            urgency = self.stacked.meta.predict_proba(stack_features(urgency, x[:, self.stacked.n_text:]))
        return focus, urgency


def _linear_head(clf):
    """(kind, coefficients, parameters) of a model ``LinearScorer`` can score, else None."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import ComplementNB

    if len(clf.classes_) < 3:
        return None  # binary models take other paths in scikit-learn
    if type(clf) is LogisticRegression:
        if getattr(clf, "multi_class", "auto") not in ("auto", "deprecated", "multinomial") or clf.solver == "liblinear":
            return None
        return "softmax", clf.coef_, clf.intercept_
    if type(clf) is CalibratedClassifierCV and len(clf.calibrated_classifiers_) == 1:
        cal = clf.calibrated_classifiers_[0]
        est = getattr(cal.estimator, "estimator", cal.estimator)  # FrozenEstimator holds the model
        if (cal.method == "sigmoid" and type(est) is ComplementNB
                and list(est.classes_) == list(cal.classes) == list(clf.classes_)):
            return "cnb_sigmoid", est.feature_log_prob_, cal.calibrators
    return None


def _head_proba(head, scores: dict) -> np.ndarray:
    """One model's probabilities from its columns of the stacked product, as scikit-learn
    computes them from its own ``X @ coef.T``."""
    from scipy.special import logsumexp
    from sklearn.utils.extmath import softmax

    kind, dtype, cols, extra = head
    s = scores[dtype][:, cols]
    if kind == "softmax":  # LogisticRegression.predict_proba, multinomial
        return softmax(s + extra, copy=False)
    # CalibratedClassifierCV(ComplementNB, method="sigmoid").predict_proba
    nb = np.exp(s - np.atleast_2d(logsumexp(s, axis=1)).T)
    proba = np.zeros(nb.shape)
    for k, calibrator in enumerate(extra):
        proba[:, k] = calibrator.predict(nb[:, k])
    denominator = np.sum(proba, axis=1)[:, np.newaxis]
    uniform = np.full_like(proba, 1 / proba.shape[1])
    return np.divide(proba, denominator, out=uniform, where=denominator != 0)


FAMILIES = ("logreg", "cnb", "svm", "vote")
VOTE_MEMBERS = ("logreg", "cnb")  # the soft vote's members
DEFAULT_FAMILIES = ("logreg", "cnb", "vote")  # svm: on request (slowest to calibrate, never best on dev)


# ---------------------------------------------------------------- metrics

def evaluate_predictions(y_true: list[str], y_pred: list[str], labels: Iterable[str]) -> dict:
    """Per-class precision/recall/F1, macro-F1, accuracy and the confusion matrix."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = list(labels)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    return {
        "per_class": {lab: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                            "f1": round(float(f[i]), 4), "support": int(s[i])} for i, lab in enumerate(labels)},
        "macro_f1": round(float(np.mean(f)), 4),
        "accuracy": round(float(np.mean([a == b for a, b in zip(y_true, y_pred)])) if y_true else 0.0, 4),
        "labels": labels,
        "confusion": cm.tolist(),
        "n": len(y_true),
    }


def format_metrics(name: str, m: dict) -> str:
    """A text table: per-class P/R/F1, macro-F1 and the confusion matrix (rows: gold)."""
    names = load_labels().name
    lines = [f"{name}: macro-F1 {m['macro_f1']:.3f}  accuracy {m['accuracy']:.3f}  (n={m['n']})",
             f"  {'class':<16}{'precision':>10}{'recall':>10}{'F1':>8}{'support':>9}"]
    for lab, v in m["per_class"].items():
        lines.append(f"  {lab + ' ' + names(lab):<16}{v['precision']:>10.3f}{v['recall']:>10.3f}{v['f1']:>8.3f}{v['support']:>9}")
    labels = m["labels"]
    short = [lab[:6] for lab in labels]
    lines.append("  confusion (rows gold, columns predicted):")
    lines.append("  " + " " * 14 + "".join(f"{s:>8}" for s in short))
    for lab, row in zip(labels, m["confusion"]):
        lines.append(f"  {lab:<14}" + "".join(f"{v:>8}" for v in row))
    return "\n".join(lines)


def flash_threshold_from(p_flash: np.ndarray, pred: list[str], y_true: list[str], target: float = 0.97) -> float:
    """The flash probability from which a report is flash, chosen on dev: among the thresholds
    whose flash recall reaches ``target``, or the best recall any threshold gives when the
    target is out of reach, the best urgency macro-F1; on a tie the higher flash recall, then
    the higher threshold. Macro-F1 is never bought with a flash report the model could find
    (a missed flash report is the worst error)."""
    grid = np.round(np.arange(0.15, 0.55, 0.025), 3)
    n_flash = max(1, sum(1 for y in y_true if y == "flash"))
    scored = []
    for t in grid:
        y = ["flash" if pf >= t else p for pf, p in zip(p_flash, pred)]
        m = evaluate_predictions(y_true, y, URGENCY)
        found = sum(1 for a, b in zip(y_true, y) if a == b == "flash")  # exact, not the rounded metric
        scored.append((float(t), found / n_flash, m["macro_f1"]))
    need = min(target, max(r for _, r, _ in scored)) - 1e-9
    eligible = [s for s in scored if s[1] >= need]
    return max(eligible, key=lambda s: (s[2], s[1], s[0]))[0]


def review_threshold_from(probs: np.ndarray, y_true: list[str], classes: list[str]) -> float:
    """The largest top-probability below which dev predictions are right less than 60% of the
    time: a report under it is about as likely wrong as right, so a person should look."""
    top = probs.max(axis=1)
    right = np.array([classes[i] == y for i, y in zip(probs.argmax(axis=1), y_true)])
    best = 0.0
    for t in np.arange(0.30, 0.96, 0.05):
        low = top < t
        if low.sum() >= 3 and right[low].mean() < 0.6:
            best = float(round(t, 2))
    return best or 0.3


# ---------------------------------------------------------------- the model

@dataclass
class Prediction:
    focus: str
    urgency: str
    focus_proba: dict[str, float]
    urgency_proba: dict[str, float]
    model_urgency: str
    urgency_reasons: list[str]
    needs_review: bool
    review_reasons: list[str]
    model_version: str

    def to_dict(self) -> dict:
        return {"focus": self.focus, "urgency": self.urgency, "focus_proba": self.focus_proba,
                "urgency_proba": self.urgency_proba, "urgency_reasons": self.urgency_reasons,
                "needs_review": self.needs_review, "review_reasons": self.review_reasons,
                "model_version": self.model_version}


@dataclass
class Model:
    """A trained model version: the featurizer, both classifiers and the card."""

    featurizer: Featurizer
    focus_clf: Any
    urgency_clf: Any
    card: dict = field(default_factory=dict)
    flag_model: Any = None  # screen.FlagModel: the learned weighting of the screening signals

    @property
    def version(self) -> str:
        return self.card.get("version", "unsaved")

    def scorer(self) -> LinearScorer | None:
        """The stacked scorer of both models, built on first use (None: models it cannot
        stack, or features that are not float32)."""
        if "_scorer" not in self.__dict__:
            feat = self.featurizer
            n_text = feat.n_text_features
            n = n_text + len(feat.facts.feature_names_)
            self._scorer = (LinearScorer.build(self.focus_clf, self.urgency_clf, n_text, n)
                            if np.dtype(feat.facts.dtype) == np.float32 else None)
        return self._scorer

    def predict_proba(self, inputs: list[Inputs]) -> tuple[np.ndarray, np.ndarray]:
        scorer = self.scorer()
        if scorer is not None:
            return scorer.predict_proba(self.featurizer.transform_all(inputs))
        x_focus, x_urg = self.featurizer.transform_both(inputs)
        return self.focus_clf.predict_proba(x_focus), self.urgency_clf.predict_proba(x_urg)

    def predict(self, inputs: list[Inputs], facts_list: list[Facts | None], received: list[datetime | None],
                config: Config | None = None) -> list[Prediction]:
        config = config or load_config()
        pf, pu = self.predict_proba(inputs)
        fc, uc = list(self.focus_clf.classes_), list(self.urgency_clf.classes_)
        thr = config.classify.review_threshold
        thr_f = thr if thr >= 0 else float(self.card.get("review_threshold", {}).get("focus", 0.5))
        thr_u = thr if thr >= 0 else float(self.card.get("review_threshold", {}).get("urgency", 0.5))
        # A missed flash report is the worst error: flash wins from a lower probability
        # (the threshold chosen on dev and kept in the card).
        flash_thr = float(self.card.get("flash_threshold", 1.0))
        flash = pu[:, uc.index("flash")] >= flash_thr if "flash" in uc else np.zeros(len(pu), dtype=bool)
        # the batch's arrays once, not a numpy scalar per probability
        pf_list, pu_list = round4(pf), round4(pu)
        focus_at, urgency_at = pf.argmax(axis=1).tolist(), pu.argmax(axis=1).tolist()
        pf_max, pu_max = pf.max(axis=1), pu.max(axis=1)
        out = []
        for i, (facts, rec_at) in enumerate(zip(facts_list, received)):
            focus_proba = dict(zip(fc, pf_list[i]))
            urgency_proba = dict(zip(uc, pu_list[i]))
            focus = fc[focus_at[i]]
            model_urg = "flash" if flash[i] else uc[urgency_at[i]]
            urgency, reasons = decide_urgency(model_urg, urgency_proba, facts, rec_at, config, inputs[i].facts,
                                              flash_thr)
            review = []
            if pf_max[i] < thr_f:
                review.append(f"领域判断把握不大（最高概率{pf_max[i]:.2f}，低于{thr_f:.2f}）")
            if pu_max[i] < thr_u and urgency == model_urg:
                review.append(f"紧急程度判断把握不大（最高概率{pu_max[i]:.2f}，低于{thr_u:.2f}）")
            elif flash[i] and uc[urgency_at[i]] != "flash" and urgency == "flash":
                # flash from the threshold, not the top probability: the cost of a miss made it
                # flash, the model itself leaned elsewhere
                top = uc[urgency_at[i]]
                review.append(f"特急由阈值判定（特急概率{urgency_proba['flash']:.2f}，低于{load_labels().name(top)}"
                              f"{urgency_proba[top]:.2f}），请确认")
            if facts is not None and facts.event_time is not None and rec_at is not None \
                    and facts.event_time - rec_at > EVENT_AFTER_RECEIPT:
                ev, got = facts.event_time, rec_at.astimezone(facts.event_time.tzinfo)
                review.append(f"文中事发时间{ev.month}月{ev.day}日{ev:%H:%M}晚于收到时间{got.month}月{got.day}日"
                              f"{got:%H:%M}，时间可能写错或读错，请核实")
            out.append(Prediction(focus, urgency, focus_proba, urgency_proba, model_urg, reasons,
                                  bool(review), review, self.version))
        return out


# An event time stated as 11时许 may round up past a receipt at 10:50; beyond this it is wrong.
EVENT_AFTER_RECEIPT = timedelta(minutes=30)


def round4(p: np.ndarray) -> list[list[float]]:
    """``round(x, 4)`` of every entry, as lists of floats, the same to the bit: ``rint(x * 1e4)
    / 1e4`` is the double nearest the rounded decimal, as ``round`` returns it, unless ``x * 1e4``
    lies within float error of a half (or is huge or not finite), where ``round`` itself
    decides. One numpy pass instead of a ``round`` call per probability."""
    x = np.asarray(p, dtype=np.float64)
    y = x * 1e4
    rows = (np.rint(y) / 1e4).tolist()
    with np.errstate(invalid="ignore"):
        unsure = ~(np.abs(y - np.floor(y) - 0.5) > 1e-6) | ~(np.abs(y) < 2.0 ** 52)
    for i, j in zip(*np.nonzero(unsure)):
        rows[i][j] = round(float(x[i, j]), 4)
    return rows


def decide_urgency(model_urgency: str, proba: dict[str, float], facts: Facts | None,
                   received_at: datetime | None, config: Config,
                   cues: dict[str, float] | None = None, flash_threshold: float = 1.0) -> tuple[str, list[str]]:
    """The model's urgency, raised to flash where the rules are clear (labels.md): a death,
    people missing or trapped, several (two or more) seriously injured, a gathering of 50 or
    more people or an evacuation of 500 or more that is neither over nor only planned, an
    outbreak of ten or more cases the text says is spreading (``cues``: the fact features), or a
    severity grade of 较大 and above, in an event that is recent and not closed by a 终报; and
    lowered to routine for a drill nobody was really hurt in (no clock runs). Returns the reasons."""
    names = load_labels().name
    reasons = [f"模型判断为{names(model_urgency)}（概率{proba.get(model_urgency, 0):.2f}）"]
    if model_urgency == "flash" and max(proba, key=proba.get) != "flash":
        # flash won below the top probability: say so, and why
        reasons = [f"模型判断为特急：特急概率{proba['flash']:.2f}，达到特急判定阈值{flash_threshold:g}"
                   f"（漏判特急代价最大，阈值在 dev 上按特急召回率选定）"]
    if facts is not None and "drill" in (cues or ()) and model_urgency != "routine":
        # labels.md: routine is what has no clock running; a drill nobody was hurt in has none
        reasons.append("这是演练情况报告，无真实人员伤亡，没有报送时限，按常规信息处理")
        return "routine", reasons
    if facts is None or model_urgency == "flash":
        return model_urgency, reasons
    grade, grade_reasons = severity(facts)
    rule = None
    if (facts.dead or 0) > 0:
        rule = f"有人员死亡（{facts.dead}人）"
    elif (facts.missing or 0) > 0 or (facts.trapped or 0) > 0:
        rule = f"有人员失踪失联或被困（{(facts.missing or 0) + (facts.trapped or 0)}人）"
    elif (facts.serious or 0) >= config.classify.override_serious:
        rule = f"多人重伤（{facts.serious}人）"
    elif (facts.crowd or 0) >= config.classify.override_crowd and not {"resolved", "planned"} & set(cues or ()):
        rule = f"群体性聚集{facts.crowd}人（{config.classify.override_crowd}人以上）"
    elif (facts.evacuated or 0) >= config.classify.override_evacuated and not {"resolved", "planned"} & set(cues or ()):
        rule = f"紧急转移疏散{facts.evacuated}人（{config.classify.override_evacuated}人以上）"
    elif "outbreak_spreading" in (cues or ()) and "resolved" not in cues:
        rule = f"疫情仍在扩散（已有病例{facts.patients}人，文中称仍在增加或蔓延）"
    elif grade and SEVERITY_RANK.get(grade, 0) >= SEVERITY_RANK["较大"]:
        rule = f"事件等级为{grade}（{'；'.join(grade_reasons)}）"
    if rule is None:
        return model_urgency, reasons
    if "final_report" in (cues or ()):
        reasons.append(f"{rule}，但这是终报（事件已处置完毕），不上调")
        return model_urgency, reasons
    window = timedelta(hours=config.classify.override_recent_hours)
    if facts.event_time is not None and received_at is not None:
        recent = timedelta(0) <= received_at - facts.event_time <= window
    else:
        recent = model_urgency != "routine"
    if not recent:
        reasons.append(f"{rule}，但不是近期发生的事件，不上调")
        return model_urgency, reasons
    reasons.append(f"规则上调为特急：{rule}，按规定至少为特急")
    return "flash", reasons


# ---------------------------------------------------------------- saving and loading

def save_model(model: Model, directory: Path) -> Path:
    """Write ``model.skops`` and ``card.json`` into ``directory``."""
    import skops.io as sio

    directory.mkdir(parents=True, exist_ok=True)
    state = {"featurizer": model.featurizer.to_state(), "focus": model.focus_clf, "urgency": model.urgency_clf}
    if model.flag_model is not None:
        state["flags"] = model.flag_model.to_state()
    sio.dump(state, directory / MODEL_FILE)
    (directory / CARD_FILE).write_text(json.dumps(model.card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return directory


def load_model_dir(directory: Path) -> Model:
    """Load a model version, refusing any file that holds a type we do not trust."""
    import skops.io as sio

    path = directory / MODEL_FILE
    if not path.is_file():
        raise ModelError(f"模型文件不存在: {path}")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise ModelError(f"模型文件无法读取: {path}: {exc}") from None
    refused = sorted(set(untrusted) - TRUSTED_TYPES)
    if refused:
        raise ModelError(f"模型文件 {path} 含有不受信任的类型，拒绝加载: {', '.join(refused)}")
    try:
        state = sio.load(path, trusted=list(untrusted))
    except Exception as exc:
        raise ModelError(f"模型文件无法加载: {path}: {exc}") from None
    card = json.loads((directory / CARD_FILE).read_text(encoding="utf-8")) if (directory / CARD_FILE).is_file() else {}
    if not isinstance(state, dict) or {"featurizer", "focus", "urgency"} - set(state):
        raise ModelError(f"模型文件 {path} 的结构不对")
    from .screen import FlagModel

    flags = FlagModel.from_state(state["flags"]) if "flags" in state else None
    model = Model(Featurizer.from_state(state["featurizer"]), state["focus"], state["urgency"], card, flags)
    model.scorer()  # built now, like the featurizer's tables, for forked workers to share
    return model


def current_version(models_dir: Path) -> str | None:
    pointer = models_dir / "current"
    if not pointer.is_file():
        return None
    return pointer.read_text(encoding="utf-8").strip() or None


def load_current(config: Config | None = None) -> Model:
    """The model version named by ``models/current``."""
    config = config or load_config()
    models_dir = config.classify.models_path
    version = current_version(models_dir)
    if version is None:
        raise ModelError(f"{models_dir}/current 不存在：还没有可用的模型，请先运行 triage train --promote")
    return load_model_dir(models_dir / version)


def set_current(models_dir: Path, version: str) -> None:
    tmp = models_dir / "current.tmp"
    tmp.write_text(version + "\n", encoding="utf-8")
    tmp.replace(models_dir / "current")


def data_hash(records: list[dict]) -> str:
    h = hashlib.sha256()
    for rec in sorted(records, key=lambda r: r["id"]):
        h.update(json.dumps([rec["id"], rec["text"], rec.get("focus"), rec.get("urgency")],
                            ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    import jieba
    import scipy
    import skops
    import sklearn
    import spacy

    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "spacy": spacy.__version__, "jieba": jieba.__version__,
            "skops": skops.__version__}
