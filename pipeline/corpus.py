"""The labeled corpus: loading, checking, counting and splitting.

The corpus lives in ``corpus/{train,dev,test}.jsonl`` in the record format; incident reports
(flash/urgent) carry gold ``facts``. ``triage corpus-stats`` prints the counts table.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from .config import PROJECT_ROOT, DeadlineConfig, load_config
from .labels import FLAGS, FOCUS, URGENCY

CORPUS_DIR = PROJECT_ROOT / "corpus"
SPLITS = ("train", "dev", "test")
PATTERNS_FILE = Path(__file__).resolve().parent / "data" / "report_patterns.toml"
FACT_KEYS = ("event_time", "dead", "injured", "missing", "place")
RECORD_KEYS = {"id", "unit", "received_at", "title", "text", "focus", "urgency", "flags", "event", "facts"}


@lru_cache(maxsize=1)
def report_patterns() -> dict[str, re.Pattern]:
    """Compiled phrase patterns from ``data/report_patterns.toml``."""
    with open(PATTERNS_FILE, "rb") as fh:
        data = tomllib.load(fh)
    from .prefilter import lead

    return {name: lead(re.compile("|".join(f"(?:{p})" for p in pats))) for name, pats in data.items()}


def admits_delay(text: str) -> bool:
    return bool(report_patterns()["delay_admission"].search(text))


def is_follow_up(title: str, text: str) -> bool:
    """A 续报/终报/核报: says so in its title or its opening."""
    return bool(report_patterns()["follow_up"].search(title or "") or
                report_patterns()["follow_up"].search(text[:80]))


def load_split(name: str, corpus_dir: Path = CORPUS_DIR) -> list[dict]:
    path = Path(corpus_dir) / f"{name}.jsonl"
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_corpus(corpus_dir: Path = CORPUS_DIR, splits: Iterable[str] = SPLITS) -> list[dict]:
    """All records of the given splits, each with its ``split`` added."""
    out = []
    for name in splits:
        for rec in load_split(name, corpus_dir):
            rec["split"] = name
            out.append(rec)
    return out


def _time(value) -> datetime | None:
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return dt if dt.tzinfo else None


def check_record(rec: dict) -> list[str]:
    """Format problems of one labeled record (empty when it is well-formed)."""
    problems = []
    for key in ("id", "text", "received_at", "focus", "urgency", "flags"):
        if key not in rec:
            problems.append(f"missing {key}")
    extra = set(rec) - RECORD_KEYS - {"split"}
    if extra:
        problems.append(f"unknown keys {sorted(extra)}")
    if _time(rec.get("received_at")) is None:
        problems.append("received_at is not ISO 8601 with an offset")
    if rec.get("focus") not in FOCUS:
        problems.append(f"focus {rec.get('focus')!r} not in the label set")
    if rec.get("urgency") not in URGENCY:
        problems.append(f"urgency {rec.get('urgency')!r} not in the label set")
    flags = rec.get("flags")
    if not isinstance(flags, list) or any(f not in FLAGS for f in flags) or len(set(flags)) != len(flags):
        problems.append(f"flags {flags!r} not a list of distinct codes from the label set")
    if rec.get("urgency") in ("flash", "urgent"):
        facts = rec.get("facts")
        if not isinstance(facts, dict) or set(facts) != set(FACT_KEYS):
            problems.append("incident report without gold facts " + "/".join(FACT_KEYS))
        else:
            if facts["event_time"] is not None and _time(facts["event_time"]) is None:
                problems.append("facts.event_time is not ISO 8601 with an offset")
            for k in ("dead", "injured", "missing"):
                v = facts[k]
                if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                    problems.append(f"facts.{k} must be a non-negative integer or null")
            if facts["place"] is not None and facts["place"] not in rec.get("text", ""):
                problems.append("facts.place does not appear in the text")
    return problems


def first_reports(records: list[dict]) -> set[str]:
    """Ids of reports that open their event (the earliest received of each thread)."""
    first: dict[str, dict] = {}
    for rec in records:
        ev = rec.get("event")
        if ev and (ev not in first or rec["received_at"] < first[ev]["received_at"]):
            first[ev] = rec
    return {r["id"] for r in first.values()}


def delay_by_clock(rec: dict, deadlines: DeadlineConfig) -> bool | None:
    """Whether the clock says this report is late; None when the clock does not apply."""
    minutes = deadlines.minutes(rec.get("urgency"))
    facts = rec.get("facts") or {}
    event_time = _time(facts.get("event_time"))
    if minutes is None or event_time is None or is_follow_up(rec.get("title", ""), rec["text"]):
        return None
    return _time(rec["received_at"]) - event_time > timedelta(minutes=minutes)


def delay_rule_disagreements(records: list[dict], deadlines: DeadlineConfig | None = None) -> list[str]:
    """Records whose ``delay`` label disagrees with the deadline rule (text admitting none)."""
    deadlines = deadlines or load_config().deadlines
    out = []
    for rec in records:
        labelled = "delay" in rec["flags"]
        if admits_delay(rec["text"]):
            continue  # an admission is judged by reading, not by the clock
        late = delay_by_clock(rec, deadlines)
        if late is None:
            if labelled:
                out.append(f"{rec['id']}: delay labeled with neither a clock nor an admission")
        elif late != labelled:
            out.append(f"{rec['id']}: clock says {'late' if late else 'on time'}, label says "
                       f"{'delay' if labelled else 'no delay'}")
    return out


def _shingles(text: str, n: int = 5) -> set[str]:
    t = re.sub(r"\s+", "", text)
    return {t[i:i + n] for i in range(len(t) - n + 1)}


def near_duplicates(records: list[dict], threshold: float = 0.5) -> list[tuple[str, str, float]]:
    """Pairs outside one thread sharing more than ``threshold`` of the smaller one's 5-grams."""
    import numpy as np
    from scipy import sparse

    vocab: dict[str, int] = {}
    rows, cols = [], []
    sizes = []
    for i, rec in enumerate(records):
        grams = _shingles(rec["text"])
        sizes.append(max(len(grams), 1))
        for g in grams:
            rows.append(i)
            cols.append(vocab.setdefault(g, len(vocab)))
    m = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)),
                          shape=(len(records), len(vocab)))
    shared = (m @ m.T).tocoo()
    out = []
    for i, j, n in zip(shared.row, shared.col, shared.data):
        if i >= j:
            continue
        ev_i, ev_j = records[i].get("event"), records[j].get("event")
        if ev_i and ev_i == ev_j:
            continue
        share = n / min(sizes[i], sizes[j])
        if share > threshold:
            out.append((records[i]["id"], records[j]["id"], round(float(share), 3)))
    return out


def _group_key(rec: dict) -> str:
    return rec.get("event") or rec["id"]


def assign_splits(records: list[dict], seed: int = 13) -> dict[str, str]:
    """A fixed ~70/15/15 split, stratified by urgency and focus, that keeps each event
    thread in one split. Deterministic: groups are ordered by a seeded hash in each stratum
    and dealt out 14 train / 3 dev / 3 test in every 20."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for rec in records:
        groups[_group_key(rec)].append(rec)
    strata: dict[tuple, list[str]] = defaultdict(list)
    for key, recs in groups.items():
        head = min(recs, key=lambda r: r["received_at"])
        strata[(head["urgency"], head["focus"])].append(key)
    # dev and test spread through the cycle; the offset carries on across strata so that
    # small strata still feed dev and test.
    cycle = ["train", "dev", "train", "test", "train", "train", "dev", "train", "test", "train",
             "train", "dev", "train", "test", "train", "train", "train", "train", "train", "train"]
    split_of_group = {}
    offset = 0
    for stratum in sorted(strata):
        keys = sorted(strata[stratum], key=lambda k: hashlib.sha1(f"{seed}:{k}".encode()).hexdigest())
        for i, key in enumerate(keys):
            split_of_group[key] = cycle[(i + offset) % len(cycle)]
        offset += len(keys)
    return {rec["id"]: split_of_group[_group_key(rec)] for rec in records}


def write_splits(records: list[dict], corpus_dir: Path = CORPUS_DIR, seed: int = 13) -> dict[str, int]:
    """Write ``train/dev/test.jsonl`` from ``records`` (sorted by id); returns the sizes."""
    splits = assign_splits(records, seed)
    files = {name: open(Path(corpus_dir) / f"{name}.jsonl", "w", encoding="utf-8") for name in SPLITS}
    sizes = Counter()
    try:
        for rec in sorted(records, key=lambda r: r["id"]):
            clean = {k: rec[k] for k in ("id", "unit", "received_at", "title", "text", "focus", "urgency",
                                         "flags", "event", "facts") if k in rec}
            files[splits[rec["id"]]].write(json.dumps(clean, ensure_ascii=False) + "\n")
            sizes[splits[rec["id"]]] += 1
    finally:
        for fh in files.values():
            fh.close()
    return dict(sizes)


@dataclass
class CorpusStats:
    total: int
    by_split: dict[str, int]
    focus: dict[str, dict[str, int]]
    urgency: dict[str, dict[str, int]]
    flags: dict[str, dict[str, int]]
    honest_incidents: int
    threads: int
    thread_reports: int
    rising_threads: int
    with_facts: int
    noisy: int
    length: dict[str, int]

    def to_dict(self) -> dict:
        return dict(self.__dict__)


_NOISE_HINT = re.compile(r"(?:[!-~]{1,2} ){3,}")


def corpus_stats(records: list[dict]) -> CorpusStats:
    """Counts of the corpus, by split: the numbers the corpus card and tests check."""
    def table(codes, get):
        t = {c: {s: 0 for s in SPLITS} for c in codes}
        for rec in records:
            for code in get(rec):
                if code in t:
                    t[code][rec.get("split", "train")] += 1
        return t

    by_split = Counter(r.get("split", "train") for r in records)
    events = defaultdict(list)
    for r in records:
        if r.get("event"):
            events[r["event"]].append(r)
    threads = {k: v for k, v in events.items() if len(v) >= 2}
    rising = 0
    for recs in threads.values():
        recs = sorted(recs, key=lambda r: r["received_at"])
        tolls = [((r.get("facts") or {}).get("dead") or 0) + ((r.get("facts") or {}).get("missing") or 0)
                 + ((r.get("facts") or {}).get("injured") or 0) for r in recs]
        if any(b > a for a, b in zip(tolls, tolls[1:])):
            rising += 1
    lengths = sorted(len(r["text"]) for r in records) or [0]
    return CorpusStats(
        total=len(records),
        by_split={s: by_split.get(s, 0) for s in SPLITS},
        focus=table(FOCUS, lambda r: [r["focus"]]),
        urgency=table(URGENCY, lambda r: [r["urgency"]]),
        flags=table(FLAGS, lambda r: r["flags"]),
        honest_incidents=sum(1 for r in records if r["urgency"] in ("flash", "urgent") and not r["flags"]),
        threads=len(threads),
        thread_reports=sum(len(v) for v in threads.values()),
        rising_threads=rising,
        with_facts=sum(1 for r in records if r.get("facts")),
        noisy=sum(1 for r in records if _NOISE_HINT.search(r["text"])),
        length={"min": lengths[0], "median": lengths[len(lengths) // 2], "max": lengths[-1]},
    )


def stats_markdown(st: CorpusStats, names) -> str:
    """The counts table for the corpus card."""
    lines = [f"| | train | dev | test | all |", "|---|---:|---:|---:|---:|"]

    def row(label, counts):
        total = sum(counts.values())
        lines.append(f"| {label} | " + " | ".join(str(counts[s]) for s in SPLITS) + f" | {total} |")

    row("**reports**", st.by_split)
    for title, table in (("focus", st.focus), ("urgency", st.urgency), ("flag", st.flags)):
        for code, counts in table.items():
            row(f"{title} `{code}` {names(code)}", counts)
    lines.append("")
    lines.append(f"- honest incident reports (flash/urgent, no flag): {st.honest_incidents}")
    lines.append(f"- event threads (2+ reports): {st.threads}, holding {st.thread_reports} reports; "
                 f"{st.rising_threads} with casualty counts rising")
    lines.append(f"- incident reports with gold facts: {st.with_facts}")
    lines.append(f"- reports carrying web-scrape noise: {st.noisy}")
    lines.append(f"- text length in characters: min {st.length['min']}, median {st.length['median']}, "
                 f"max {st.length['max']}")
    return "\n".join(lines)
