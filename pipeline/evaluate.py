"""Evaluation on labeled records: classifiers, extracted facts and screening flags."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from .classify import Model, evaluate_predictions, format_metrics
from .config import Config, load_config
from .errors import InputError
from .labels import FLAGS, FOCUS, URGENCY
from .screen import Screener
from .train import Prepared, evaluate_model, prepare


def load_labeled(path: Path) -> list[dict]:
    """Labeled records from a .jsonl file; a bad line is an error naming file and line."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(str(path), f"JSON 格式错误: {exc.msg}", "json", lineno) from None
            missing = [k for k in ("id", "text", "received_at", "focus", "urgency") if k not in rec]
            if missing:
                raise InputError(str(path), f"不是已标注的记录，缺少 {', '.join(missing)}", "missing_field", lineno)
            unknown = [f"{k}={rec[k]!r}" for k, codes in (("focus", FOCUS), ("urgency", URGENCY)) if rec[k] not in codes]
            if unknown:
                raise InputError(str(path), f"标签不在标签集中: {', '.join(unknown)}", "bad_record", lineno)
            rec.setdefault("flags", [])
            out.append(rec)
    return out


def _near(a: datetime | None, b: str | None, minutes: int = 60) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs((a - datetime.fromisoformat(b)).total_seconds()) <= minutes * 60


def evaluate_facts(data: Prepared) -> dict:
    """Event time within an hour and exact casualty counts, on records with gold facts."""
    with_time = ok_time = with_facts = ok_counts = 0
    misses = []
    for rec, facts in zip(data.records, data.facts):
        gold = rec.get("facts")
        if not gold:
            continue
        with_facts += 1
        if gold.get("event_time"):
            with_time += 1
            if _near(facts.event_time, gold["event_time"]):
                ok_time += 1
            else:
                misses.append({"id": rec["id"], "what": "event_time", "gold": gold["event_time"],
                               "got": facts.event_time.isoformat() if facts.event_time else None})
        got = (facts.dead, facts.injured, facts.missing)
        want = (gold.get("dead"), gold.get("injured"), gold.get("missing"))
        if got == want:
            ok_counts += 1
        else:
            misses.append({"id": rec["id"], "what": "casualties", "gold": want, "got": got})
    return {"event_time_accuracy": round(ok_time / with_time, 4) if with_time else None, "with_event_time": with_time,
            "casualties_exact": round(ok_counts / with_facts, 4) if with_facts else None, "with_facts": with_facts,
            "misses": misses}


def evaluate_screening(data: Prepared, urgencies: list[str], config: Config | None = None,
                       flag_model=None) -> dict:
    """Precision/recall/F1 of each flag, and how many honest incident reports were flagged."""
    screener = Screener(config or load_config())
    per_flag = {f: {"tp": 0, "fp": 0, "fn": 0} for f in FLAGS}
    honest = honest_flagged = 0
    errors = []
    for rec, text, facts, rec_at, urg in zip(data.records, data.texts, data.facts, data.received, urgencies):
        res = screener.screen(text, rec.get("title", ""), facts, urg, rec_at, flag_model)
        gold = set(rec.get("flags", []))
        got = set(res.flags)
        for f in FLAGS:
            if f in got and f in gold:
                per_flag[f]["tp"] += 1
            elif f in got:
                per_flag[f]["fp"] += 1
                errors.append({"id": rec["id"], "flag": f, "error": "fp",
                               "signals": [s.rule for s in res.signals if s.flag == f]})
            elif f in gold:
                per_flag[f]["fn"] += 1
                errors.append({"id": rec["id"], "flag": f, "error": "fn",
                               "signals": [s.rule for s in res.signals if s.flag == f]})
        if rec["urgency"] in ("flash", "urgent") and not gold:
            honest += 1
            honest_flagged += bool(got)
    out = {}
    for f, c in per_flag.items():
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        out[f] = {"precision": round(p, 4), "recall": round(r, 4),
                  "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0, "support": c["tp"] + c["fn"]}
    return {"flags": out, "honest_incidents": honest,
            "honest_flagged_share": round(honest_flagged / honest, 4) if honest else None, "errors": errors}


def evaluate_all(model: Model | None, records: list[dict], config: Config | None = None,
                 gold_urgency_for_screening: bool = False) -> dict:
    """Everything measurable on labeled records, in one report."""
    config = config or load_config()
    data = prepare(records, config)
    out: dict = {"n": len(records)}
    if model is not None:
        out["model_version"] = model.version
        out.update(evaluate_model(model, data, config))
        preds = model.predict(data.inputs, data.facts, data.received, config)
        urgencies = [p.urgency for p in preds]
    else:
        urgencies = [r["urgency"] for r in records]
    if gold_urgency_for_screening:
        urgencies = [r["urgency"] for r in records]
    out["facts"] = evaluate_facts(data)
    out["screening"] = evaluate_screening(data, urgencies, config, model.flag_model if model else None)
    return out


def format_report(rep: dict) -> str:
    """The evaluation as text tables."""
    lines = []
    if "focus" in rep:
        lines.append(f"model {rep.get('model_version')}, {rep['n']} reports")
        lines.append(format_metrics("focus 关注领域", rep["focus"]))
        lines.append(format_metrics("urgency 紧急程度 (after rule overrides)", rep["urgency"]))
        lines.append(f"flash recall {rep['flash_recall']:.3f}; rule overrides {rep['overrides']}; "
                     f"urgency macro-F1 of the model alone {rep['urgency_model_only']['macro_f1']:.3f}; "
                     f"needs_review {rep['needs_review']}")
    f = rep["facts"]
    if f["with_facts"]:
        lines.append(f"facts: event time within 1 hour {f['event_time_accuracy']:.3f} (of {f['with_event_time']}); "
                     f"casualty counts exact {f['casualties_exact']:.3f} (of {f['with_facts']})")
    s = rep["screening"]
    lines.append(f"  {'flag':<14}{'precision':>10}{'recall':>10}{'F1':>8}{'support':>9}")
    for flag, v in s["flags"].items():
        lines.append(f"  {flag:<14}{v['precision']:>10.3f}{v['recall']:>10.3f}{v['f1']:>8.3f}{v['support']:>9}")
    if s["honest_flagged_share"] is not None:
        lines.append(f"honest incident reports flagged: {s['honest_flagged_share']:.3f} (of {s['honest_incidents']})")
    return "\n".join(lines)
