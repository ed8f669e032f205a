"""Training and evaluation of the classifiers on labeled history, and safe promotion.

``train`` fits every model family on the train records, compares them on dev, keeps the best
per task, and writes a model version with its card. ``promote`` makes it current only if it
is not worse on dev than the current model (measured on the same dev records).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .classify import (DEFAULT_FAMILIES, FAMILIES, VOTE_MEMBERS, Featurizer, SoftVote, Inputs, Model, Stacked,
                       current_version, data_hash, evaluate_predictions, flash_threshold_from, stack_features,
                       library_versions, load_model_dir, make_estimator, make_inputs, review_threshold_from,
                       save_model, set_current)
from .clean import clean_text
from .config import Config, load_config
from .errors import ModelError
from .ingest import parse_time
from .labels import FOCUS, URGENCY, load_labels
from .nlp import analyse_text, get_nlp


@dataclass
class Prepared:
    """Labeled records analysed once: classifier inputs, facts and receipt times."""

    records: list[dict]
    inputs: list[Inputs]
    facts: list
    received: list[datetime]
    texts: list[str]  # cleaned, as the stages saw them


def _analyse_records(records: list[dict], config: Config) -> list[tuple]:
    nlp = get_nlp(config)
    out = []
    for rec in records:
        text = clean_text(rec["text"])
        title = clean_text(rec.get("title") or "")
        rec_at = parse_time(rec["received_at"], config.ingest.timezone)
        a = analyse_text(nlp, text, title, rec_at)
        out.append((make_inputs(a.doc, title, a.title_words, a.facts, rec_at), a.facts, rec_at, text))
    return out


_PREP_CONFIG: Config | None = None


def _prepare_chunk(records: list[dict]) -> list[tuple]:
    return _analyse_records(records, _PREP_CONFIG)


def _init_prepare(config: Config) -> None:
    global _PREP_CONFIG
    _PREP_CONFIG = config


def prepare(records: list[dict], config: Config | None = None, workers: int = 1) -> Prepared:
    """Clean and analyse labeled records with the same stages ``triage process`` runs, in
    ``workers`` processes when there are enough records to be worth it."""
    config = config or load_config()
    if workers > 1 and len(records) >= 400:
        import multiprocessing as mp

        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        size = 200
        chunks = [records[i:i + size] for i in range(0, len(records), size)]
        with ctx.Pool(workers, initializer=_init_prepare, initargs=(config,)) as pool:
            rows = [row for part in pool.imap(_prepare_chunk, chunks) for row in part]
    else:
        rows = _analyse_records(records, config)
    return Prepared(records, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                    [r[3] for r in rows])


def evaluate_model(model: Model, data: Prepared, config: Config | None = None) -> dict:
    """Focus and urgency metrics of ``model`` on labeled data (urgency after the overrides)."""
    config = config or load_config()
    preds = model.predict(data.inputs, data.facts, data.received, config)
    gold_f = [r["focus"] for r in data.records]
    gold_u = [r["urgency"] for r in data.records]
    focus = evaluate_predictions(gold_f, [p.focus for p in preds], FOCUS)
    urgency = evaluate_predictions(gold_u, [p.urgency for p in preds], URGENCY)
    model_only = evaluate_predictions(gold_u, [p.model_urgency for p in preds], URGENCY)
    overrides = sum(1 for p in preds if p.urgency != p.model_urgency)
    return {"focus": focus, "urgency": urgency, "urgency_model_only": model_only,
            "flash_recall": urgency["per_class"]["flash"]["recall"], "overrides": overrides,
            "needs_review": sum(1 for p in preds if p.needs_review), "n": len(preds)}


def _fit_one(family: str, task: str, x, y, seed: int):
    return (family, task), make_estimator(family, seed).fit(x, y)


def _fold_proba(family: str, fold: int, x, y, train_rows, test_rows, seed: int):
    # Fitted from scratch: started from the model fitted on all rows, lbfgs stops at once
    # (the held-out rows' fit is already in it) and the probabilities leak.
    clf = make_estimator(family, seed).fit(x[train_rows], [y[i] for i in train_rows])
    return (family, fold), clf.predict_proba(x[test_rows])


# The urgency model's second stage (``Stacked``): its regularisation and the folds of the text
# model's out-of-fold probabilities it is fitted on. C was chosen by cross-validation on
# train+dev (0.1-3 compared; 0.3 best macro-F1 at the same flash recall); 3 folds gave the same
# figures as 5 at a little more than half the cost.
STACK_C = 0.3
STACK_FOLDS = 3


def fit_stacked(family: str, x_text, x_facts, y: list[str], groups: list[str], seed: int,
                fitted_text, workers: int = 1) -> Stacked:
    """The two-stage urgency model: ``fitted_text`` (the ``family`` text model, fitted on all
    rows) and a logistic regression over the text model's out-of-fold probabilities (folds
    keep an event thread together) and the fact columns."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    members = list(VOTE_MEMBERS) if family == "vote" else [family]
    folds = list(GroupKFold(n_splits=STACK_FOLDS).split(np.zeros(len(y)), groups=groups))
    jobs = [(m, k, x_text, y, a, b, seed) for k, (a, b) in enumerate(folds) for m in members]
    if min(workers, 2) > 1:
        from joblib import Parallel, delayed

        done = dict(Parallel(n_jobs=min(workers, 2))(delayed(_fold_proba)(*j) for j in jobs))
    else:
        done = dict(_fold_proba(*j) for j in jobs)
    classes = list(fitted_text.classes_)
    oof = np.zeros((len(y), len(classes)))
    for k, (_, b) in enumerate(folds):
        oof[b] = np.mean([done[(m, k)] for m in members], axis=0)
    meta = LogisticRegression(C=STACK_C, max_iter=3000, class_weight="balanced", random_state=seed)
    meta.fit(stack_features(oof, x_facts), y)
    return Stacked(fitted_text, meta, x_text.shape[1])


def train(train_records: list[dict], dev_records: list[dict], seed: int = 13, families=DEFAULT_FAMILIES,
          config: Config | None = None, log=lambda msg: None, workers: int | None = None) -> tuple[Model, dict]:
    """Fit the model families, compare them on dev, keep the best per task. Returns the model
    and a report. ``workers`` processes analyse the texts and fit the models (default: the
    machine's cores, at most 2 for the fits, which hold the feature matrix each)."""
    import os

    config = config or load_config()
    workers = workers or os.cpu_count() or 1
    families = tuple(families)
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ModelError("未知的模型类型: " + "、".join(sorted(unknown)) + "（可选: " + "、".join(FAMILIES) + "）")
    from collections import Counter

    for task in ("focus", "urgency"):
        counts = Counter(r.get(task) for r in train_records)
        short = {c: counts.get(c, 0) for c in (FOCUS if task == "focus" else URGENCY) if counts.get(c, 0) < 5}
        if short:
            raise ModelError(f"训练数据太少：{task} 的类别 " + "、".join(f"{c}（{n}条）" for c, n in short.items())
                             + " 不足5条，无法做5折交叉验证校准")
    t0 = time.perf_counter()
    tr = prepare(train_records, config, workers)
    dv = prepare(dev_records, config, workers)
    log(f"analysed {len(train_records)} train and {len(dev_records)} dev reports in {time.perf_counter() - t0:.1f}s")
    t1 = time.perf_counter()
    feat = Featurizer().fit(tr.inputs)
    n_text = feat.n_text_features
    xf_tr, xu_tr = feat.transform_both(tr.inputs)
    xf_dv, xu_dv = feat.transform_both(dv.inputs)
    log(f"features: {n_text} text columns + {len(feat.facts.vocabulary_)} fact columns in "
        f"{time.perf_counter() - t1:.1f}s")
    yf_tr = [r["focus"] for r in train_records]
    yu_tr = [r["urgency"] for r in train_records]
    yf_dv = [r["focus"] for r in dev_records]
    yu_dv = [r["urgency"] for r in dev_records]
    single = [f for f in FAMILIES if f != "vote" and (f in families or ("vote" in families and f in VOTE_MEMBERS))]
    jobs = [(f, task) for f in single for task in ("focus", "urgency")]
    # the slowest fits first, so that two processes finish together
    jobs.sort(key=lambda j: (j[0] == "cnb", j[1] == "urgency"))
    t1 = time.perf_counter()
    # both tasks' text models see the text columns; the facts enter urgency in its second stage
    data = {"focus": (xf_tr, yf_tr), "urgency": (xf_tr, yu_tr)}
    if min(workers, 2) > 1:
        from joblib import Parallel, delayed

        done = Parallel(n_jobs=min(workers, 2))(delayed(_fit_one)(f, t, *data[t], seed) for f, t in jobs)
    else:
        done = [_fit_one(f, t, *data[t], seed) for f, t in jobs]
    fitted: dict[tuple[str, str], object] = dict(done)
    log(f"fitted {len(jobs)} models in {time.perf_counter() - t1:.1f}s")
    if "vote" in families:
        for task in ("focus", "urgency"):
            fitted[("vote", task)] = SoftVote([fitted[(m, task)] for m in VOTE_MEMBERS])
    comparison: dict[str, dict] = {}
    for family in families:
        cf, cu = fitted[(family, "focus")], fitted[(family, "urgency")]
        mf = evaluate_predictions(yf_dv, list(cf.predict(xf_dv)), FOCUS)
        mu = evaluate_predictions(yu_dv, list(cu.predict(xf_dv)), URGENCY)
        comparison[family] = {"focus_macro_f1": mf["macro_f1"], "urgency_macro_f1": mu["macro_f1"],
                              "flash_recall": mu["per_class"]["flash"]["recall"]}
        log(f"{family:<7} focus {mf['macro_f1']:.3f}  urgency {mu['macro_f1']:.3f}  "
            f"flash recall {mu['per_class']['flash']['recall']:.3f}")
    best_f = max(families, key=lambda f: (comparison[f]["focus_macro_f1"], -families.index(f)))
    best_u = max(families, key=lambda f: (comparison[f]["urgency_macro_f1"], comparison[f]["flash_recall"],
                                          -families.index(f)))
    focus_clf = fitted[(best_f, "focus")]
    t1 = time.perf_counter()
    groups = [r.get("event") or r["id"] for r in train_records]
    urgency_clf = fit_stacked(best_u, xf_tr, xu_tr[:, n_text:], yu_tr, groups, seed, fitted[(best_u, "urgency")],
                              workers)
    mu = evaluate_predictions(yu_dv, list(urgency_clf.predict(xu_dv)), URGENCY)
    stack = {"text_family": best_u, "C": STACK_C, "folds": STACK_FOLDS,
             "dev": {"urgency_macro_f1": mu["macro_f1"], "flash_recall": mu["per_class"]["flash"]["recall"]}}
    log(f"{best_u}+facts urgency {mu['macro_f1']:.3f}  flash recall {mu['per_class']['flash']['recall']:.3f}  "
        f"(second stage over the facts, {STACK_FOLDS} folds, {time.perf_counter() - t1:.1f}s)")
    thresholds = {
        "focus": review_threshold_from(focus_clf.predict_proba(xf_dv), yf_dv, list(focus_clf.classes_)),
        "urgency": review_threshold_from(urgency_clf.predict_proba(xu_dv), yu_dv, list(urgency_clf.classes_)),
    }
    created = datetime.now(timezone.utc)
    model = Model(feat, focus_clf, urgency_clf)
    # The flash threshold is chosen on the urgency after the rule overrides, as shipped.
    model.card = {"flash_threshold": 1.0}
    base = model.predict(dv.inputs, dv.facts, dv.received, config)
    pu = urgency_clf.predict_proba(xu_dv)[:, list(urgency_clf.classes_).index("flash")]
    flash_thr = flash_threshold_from(pu, [p.urgency for p in base], yu_dv)
    model.card = {
        "version": "v" + created.strftime("%Y%m%d-%H%M%S"),
        "created_at": created.isoformat(timespec="seconds"),
        "labels": {"focus": list(FOCUS), "urgency": list(URGENCY)},
        "families": {"focus": best_f, "urgency": best_u},
        "urgency_stack": stack,
        "comparison_on_dev": comparison,
        "review_threshold": thresholds,
        "flash_threshold": flash_thr,
        "seed": seed,
        "training_data": {"size": len(train_records), "sha256": data_hash(train_records)},
        "dev_data": {"size": len(dev_records), "sha256": data_hash(dev_records)},
        "libraries": library_versions(),
    }
    model.flag_model, model.card["flag_thresholds"] = train_flag_model(tr, dv, model, seed, config)
    model.card["metrics_dev"] = evaluate_model(model, dv, config)
    model.card["train_seconds"] = round(time.perf_counter() - t0, 1)
    return model, {"comparison": comparison, "stack": stack, "dev": model.card["metrics_dev"], "dev_prepared": dv}


def _screen_features(data: Prepared, urgencies: list[str], config: Config):
    from .screen import Screener, flag_features

    screener = Screener(config)
    feats, evidence = [], []
    for rec, text, facts, rec_at, urg in zip(data.records, data.texts, data.facts, data.received, urgencies):
        title = rec.get("title", "")
        res = screener.screen(text, title, facts, urg, rec_at)
        feats.append(flag_features(res, facts, urg, title, text))
        evidence.append({s.flag for s in res.signals})
    return feats, evidence


def train_flag_model(tr: Prepared, dv: Prepared, model: Model, seed: int, config: Config):
    """Fit the learned weighting of the screening signals on train (gold urgency) and choose
    its thresholds on dev (with the urgency the model predicts, as in use)."""
    from .screen import FlagModel

    feats, _ = _screen_features(tr, [r["urgency"] for r in tr.records], config)
    fm = FlagModel().fit(feats, [r.get("flags", []) for r in tr.records], seed)
    preds = model.predict(dv.inputs, dv.facts, dv.received, config)
    dfeats, evidence = _screen_features(dv, [p.urgency for p in preds], config)
    thresholds = fm.choose_thresholds(dfeats, [r.get("flags", []) for r in dv.records], evidence)
    return fm, dict(thresholds)


def save_version(model: Model, models_dir: Path) -> Path:
    return save_model(model, models_dir / model.version)


def promote(model: Model, dev: Prepared, models_dir: Path, force: bool = False,
            config: Config | None = None) -> tuple[bool, str]:
    """Make ``model`` current if it is not worse on dev than the current one (or ``force``)."""
    current = current_version(models_dir)
    new = model.card["metrics_dev"]
    if current is None or force:
        set_current(models_dir, model.version)
        why = "强制" if force and current else "当前没有模型"
        return True, f"已将 {model.version} 设为当前模型（{why}）"
    try:
        old_model = load_model_dir(models_dir / current)
    except ModelError as exc:
        set_current(models_dir, model.version)
        return True, f"已将 {model.version} 设为当前模型（原模型 {current} 无法加载: {exc.message}）"
    old = evaluate_model(old_model, dev, config)
    worse = [task for task in ("focus", "urgency") if new[task]["macro_f1"] < old[task]["macro_f1"]]
    scores = (f"领域 macro-F1 {new['focus']['macro_f1']:.4f}（当前 {old['focus']['macro_f1']:.4f}），"
              f"紧急程度 macro-F1 {new['urgency']['macro_f1']:.4f}（当前 {old['urgency']['macro_f1']:.4f}）")
    if worse:
        return False, f"未替换：新模型 {model.version} 在 dev 上不如当前模型 {current}：{scores}；可用 --force 强制替换"
    set_current(models_dir, model.version)
    return True, f"已将 {model.version} 设为当前模型，替换 {current}：{scores}"
