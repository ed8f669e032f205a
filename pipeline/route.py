"""The route stage: a report's priority in the editors' queue, and its event thread.

Priority is a sum of named parts, each with a Chinese reason (``triage why`` prints them):

* ``urgency`` — the expected value ``sum(p(level) * weight(level))`` over the classifier's
  urgency probabilities (``[priority] urgency`` weights). When the rules raised the urgency
  above the model's own choice (a death in a recent event), or an editor corrected it, or no
  probabilities exist (no model), the weight of the urgency itself.
* ``severity`` — the weight of the severity grade (较大, 重大, …).
* ``flags`` — the weights of the screening flags (迟报, 漏报, 瞒报谎报).
* ``review`` — points for a report the classifier was unsure of (needs_review).
* ``watchlist`` — the points of every watchlist term (党委领导的关注点) found in title or text.
* ``waiting`` — points per hour since the report was received, up to a cap, so nothing
  starves. It grows while the item waits, so it is computed whenever the queue is read; the
  other parts are stored as the item's base priority and recomputed by ``triage rescore``.

Threads (首报、续报、终报): a report joins an open event of the same kind (focus) whose place
overlaps its own, received within ``[queue] thread_window_hours``, when the character-bigram
Jaccard similarity of the texts reaches ``[queue] thread_similarity``. When casualty counts
rise along a thread, the earlier report gets a ``concealment.thread_rising`` signal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .config import Config
from .labels import load_labels

PART_LABELS = {"urgency": "紧急程度", "severity": "事件等级", "flags": "筛查标记", "review": "需人工复核",
               "watchlist": "领导关注点", "waiting": "等待时间"}
THREAD_RULE = "concealment.thread_rising"
# Casualty kinds compared along a thread, in order, with their Chinese names.
CASUALTY_KINDS = (("dead", "死亡"), ("missing", "失踪"), ("injured", "受伤"))
SHINGLE = 2
_FINAL = re.compile("终报")
_FOLLOW = re.compile(r"续报|核报|再报|[二三四五六七八九]报|第[二三四五六七八九十\d]+次报告")
_NOT_TEXT = re.compile(r"[\s\W_]+")


@dataclass(frozen=True)
class Part:
    """One part of a priority score."""

    part: str
    points: float
    reason: str

    @property
    def label(self) -> str:
        return PART_LABELS[self.part]

    def to_dict(self) -> dict:
        return {"part": self.part, "points": self.points, "reason": self.reason, "label": self.label}


def _fmt(x: float) -> str:
    return f"{x:g}"


def urgency_part(record: dict, config: Config, corrected: bool = False) -> Part:
    """The urgency part: expected weight over the probabilities, or the urgency's own weight."""
    weights = config.priority.urgency
    names = load_labels().name
    urgency = record.get("urgency") or "routine"
    proba = record.get("urgency_proba") or {}
    if corrected:
        return Part("urgency", float(weights.get(urgency, 0.0)), f"编辑更正为{names(urgency)}")
    if not proba:
        return Part("urgency", float(weights.get(urgency, 0.0)), f"{names(urgency)}（无模型概率，按判定等级计）")
    top = max(proba, key=proba.get)
    if urgency != top and weights.get(urgency, 0.0) > weights.get(top, 0.0):
        why = (record.get("urgency_reasons") or [""])[-1]
        return Part("urgency", float(weights[urgency]), f"规则上调为{names(urgency)}：{why}".rstrip("："))
    points = sum(float(p) * float(weights.get(level, 0.0)) for level, p in proba.items())
    terms = " + ".join(f"{names(level)}{p:.2f}×{_fmt(weights.get(level, 0.0))}"
                       for level, p in sorted(proba.items(), key=lambda kv: -kv[1]))
    return Part("urgency", points, f"按模型概率加权：{terms}")


def watchlist_hits(title: str, text: str, config: Config) -> list[tuple[str, float]]:
    """The watchlist terms found in the title or text, with their points (each term once)."""
    hay = f"{title or ''}\n{text or ''}".casefold()
    return [(term, float(pts)) for term, pts in config.priority.watchlist.items() if term.casefold() in hay]


def base_parts(record: dict, config: Config, corrected_urgency: bool = False) -> list[Part]:
    """Every part but waiting, for a record (its urgency and flags as the editor corrected them)."""
    pc = config.priority
    names = load_labels().name
    parts = [urgency_part(record, config, corrected_urgency)]
    sev = record.get("severity") or {}
    grade = sev.get("grade")
    parts.append(Part("severity", float(pc.severity.get(grade, 0.0)) if grade else 0.0,
                      f"{grade}：{'；'.join(sev.get('reasons') or [])}".rstrip("：") if grade else "无等级（非事件类）"))
    flags = record.get("flags") or []
    parts.append(Part("flags", sum(float(pc.flags.get(f, 0.0)) for f in flags),
                      "、".join(f"{names(f)}+{_fmt(pc.flags.get(f, 0.0))}" for f in flags) or "无标记"))
    review = bool(record.get("needs_review"))
    parts.append(Part("review", float(pc.needs_review) if review else 0.0,
                      "；".join(record.get("review_reasons") or []) or "模型把握不大" if review else "无需复核"))
    hits = watchlist_hits(record.get("title", ""), record.get("text", ""), config)
    parts.append(Part("watchlist", sum(p for _, p in hits),
                      "、".join(f"“{t}”+{_fmt(p)}" for t, p in hits) or "未涉及当前关注点"))
    return parts


def waiting_part(received_at: datetime, now: datetime, config: Config) -> Part:
    """Points for the time since the report was received (never negative, at most the cap)."""
    pc = config.priority
    hours = max(0.0, (now - received_at).total_seconds() / 3600)
    points = min(float(pc.waiting_cap), float(pc.waiting_per_hour) * hours)
    return Part("waiting", points, f"已等待{_hours(hours)}（每小时{_fmt(pc.waiting_per_hour)}分，"
                                   f"上限{_fmt(pc.waiting_cap)}分）")


def _hours(hours: float) -> str:
    if hours >= 48:
        return f"{hours / 24:.1f}天"
    if hours >= 1:
        return f"{hours:.1f}小时"
    return f"{int(hours * 60)}分钟"


def score(parts: list[Part]) -> float:
    return sum(p.points for p in parts)


def report_delay_minutes(record: dict) -> float | None:
    """Minutes from the stated event time to receipt, for a first report; None otherwise."""
    from .corpus import is_follow_up

    event_time = (record.get("facts") or {}).get("event_time")
    if not event_time or is_follow_up(record.get("title", ""), record.get("text", "")):
        return None
    try:
        gap = (datetime.fromisoformat(record["received_at"]) - datetime.fromisoformat(event_time))
    except (TypeError, ValueError):
        return None
    minutes = gap.total_seconds() / 60
    return minutes if minutes >= 0 else None


# ---------------------------------------------------------------- threads

def shingles(text: str, k: int = SHINGLE) -> frozenset[str]:
    """Character k-grams of the text with whitespace and punctuation removed."""
    s = _NOT_TEXT.sub("", text or "")
    if len(s) <= k:
        return frozenset([s]) if s else frozenset()
    return frozenset(s[i:i + k] for i in range(len(s) - k + 1))


def signature(text: str, k: int = SHINGLE):
    """The k-grams of ``shingles`` as a sorted array of unique integers, each k-gram packed
    exactly (21 bits a character), so that ``similarity`` equals ``jaccard`` of the sets at a
    fraction of the cost and memory."""
    import numpy as np

    if not 1 <= k <= 3:
        raise ValueError("k-grams of 1 to 3 characters fit in 64 bits")
    s = _NOT_TEXT.sub("", text or "")
    if not s:
        return np.empty(0, dtype=np.uint64)
    c = np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = max(1, len(c) - k + 1)
    width = min(k, len(c))
    codes = c[:n].copy()
    for i in range(1, width):
        codes = (codes << np.uint64(21)) | c[i:i + n]
    return np.unique(codes)


def similarity(a, b) -> float:
    """Jaccard similarity of two ``signature`` arrays."""
    import numpy as np

    if not len(a) or not len(b):
        return 0.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common)


def pack(sig):
    """A 2-gram ``signature`` in half the memory (32 bits a 2-gram) when all its characters are
    in the Basic Multilingual Plane, as Chinese text is; else unchanged. ``unpack`` reverses it."""
    import numpy as np

    if not len(sig) or sig.dtype != np.uint64 or int(sig[-1]) >> 37 or ((sig >> np.uint64(16)) & np.uint64(31)).any():
        return sig
    return (((sig >> np.uint64(21)) << np.uint64(16)) | (sig & np.uint64(0xFFFF))).astype(np.uint32)


def unpack(sig):
    """A ``signature`` from ``pack``."""
    import numpy as np

    if sig.dtype != np.uint32:
        return sig
    wide = sig.astype(np.uint64)
    return ((wide >> np.uint64(16)) << np.uint64(21)) | (wide & np.uint64(0xFFFF))


def compact_signature(text: str):
    """``pack(signature(text))``, computed directly: the form the queue keeps and compares."""
    import numpy as np

    s = _NOT_TEXT.sub("", text or "")
    if not s:
        return np.empty(0, dtype=np.uint64)
    b = s.encode("utf-16-le")
    if len(b) != 2 * len(s):
        return signature(text)  # characters beyond the BMP: the 64-bit form
    c = np.frombuffer(b, dtype=np.uint16)
    if len(c) < 2:
        return c.astype(np.uint32)
    codes = (c[:-1].astype(np.uint32) << np.uint32(16)) | c[1:]
    codes.sort()
    keep = np.empty(len(codes), dtype=bool)
    keep[0] = True
    np.not_equal(codes[1:], codes[:-1], out=keep[1:])
    return codes[keep]


def similarities(mine, others: list) -> list[float]:
    """``[similarity(mine, o) for o in others]`` in one pass: each of the others' k-grams is
    looked up in ``mine`` (sorted, unique) at once instead of one intersection per pair.
    Any of them may be ``pack``ed."""
    import numpy as np

    if not len(mine) or not others:
        return [0.0] * len(others)
    sizes = [len(o) for o in others]
    full = [o for o in others if len(o)]
    if not full:
        return [0.0] * len(others)
    if mine.dtype != np.uint32 or any(o.dtype != np.uint32 for o in full):
        mine, full = unpack(mine), [unpack(o) for o in full]
    every = np.concatenate(full)
    pos = np.searchsorted(mine, every)
    pos[pos == len(mine)] = 0
    hits = np.concatenate(([0], np.cumsum(mine[pos] == every)))
    out = []
    end = 0
    for size in sizes:
        end += size
        if not size:
            out.append(0.0)
            continue
        common = int(hits[end] - hits[end - size])
        out.append(common / (len(mine) + size - common))
    return out


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def places_of(facts: dict) -> tuple[str | None, list[str]]:
    place = facts.get("place")
    places = [p for p in (facts.get("places") or []) if p]
    if place and place not in places:
        places.insert(0, place)
    return place, places


def _contains(a: str, b: str) -> bool:
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 2 and short in long_


def places_overlap(place: str | None, places: list[str], other_place: str | None, other_places: list[str]) -> bool:
    """Same place: the main place of either report is contained in (or contains) one of the
    other's places. A report that names no place joins no thread."""
    if place and any(_contains(place, p) for p in other_places):
        return True
    return bool(other_place and any(_contains(other_place, p) for p in places))


def is_final(title: str, text: str) -> bool:
    """A 终报 (the final report of an event): says so in its title or opening."""
    return bool(_FINAL.search(title or "") or _FINAL.search((text or "")[:80]))


def stage(title: str, text: str, first: bool) -> str:
    """首报, 续报 or 终报, for showing a thread."""
    if is_final(title, text):
        return "终报"
    if first and not (_FOLLOW.search(title or "") or _FOLLOW.search((text or "")[:80])):
        return "首报"
    return "续报"


@dataclass
class Candidate:
    """An open event that a new report may join, with the ``compact_signature`` of the thread
    text of each of its latest reports."""

    event_id: str
    place: str | None
    places: list[str]
    signatures: list
    last_at: str


def choose_event(record: dict, candidates: list[Candidate], config: Config, mine=None) -> tuple[str, float] | None:
    """The open event this report is about, with the similarity, or None.

    ``candidates`` are the open events of the same focus within the window (the caller
    selects them); here: overlapping place and the most similar text above the threshold.
    ``mine`` is the record's ``compact_signature``, when the caller has it already.
    """
    place, places = places_of(record.get("facts") or {})
    if not places:
        return None
    overlapping = [c for c in candidates if places_overlap(place, places, c.place, c.places)]
    if not overlapping:
        return None
    if mine is None:
        mine = compact_signature(f"{record.get('title', '')}\n{record.get('text', '')}")
    sims = iter(similarities(mine, [s for c in overlapping for s in c.signatures]))
    best: tuple[float, str, str] | None = None
    for c in overlapping:
        sim = max([next(sims) for _ in c.signatures], default=0.0)
        if sim >= config.queue.thread_similarity and (best is None or (sim, c.last_at) > best[:2]):
            best = (sim, c.last_at, c.event_id)
    return (best[2], best[0]) if best else None


def _first_evidence(facts: dict, kind: str) -> dict | None:
    return next((e for e in facts.get("evidence") or [] if e.get("kind") == kind), None)


def casualty_facts(facts: dict) -> dict | None:
    """The part of a report's facts that ``rising_casualties`` reads (the same result, less
    memory); None when it has no casualty count and no statement of no casualties, so that it
    can give or get no signal."""
    kinds = {k for k, _ in CASUALTY_KINDS} | {"no_casualties"}
    evidence = [e for e in facts.get("evidence") or () if e.get("kind") in kinds]
    out = {k: facts.get(k) for k, _ in CASUALTY_KINDS}
    if all(v is None for v in out.values()) and not any(e.get("kind") == "no_casualties" for e in evidence):
        return None
    out["evidence"] = evidence
    return out


def rising_casualties(earlier: dict, later: dict, later_when: str) -> list[dict]:
    """``concealment.thread_rising`` signals for the earlier of two reports of one event,
    one for each casualty count the later report raises. The earlier figure is its stated
    count, or 0 when it said there were no casualties; a report silent about casualties is
    not compared (that is an omission, not an understatement). Deaths of people the earlier
    report listed as missing are not a rise."""
    ef, lf = earlier.get("facts") or {}, later.get("facts") or {}
    out = []
    for kind, name in CASUALTY_KINDS:
        after = lf.get(kind)
        before = ef.get(kind)
        evidence = _first_evidence(ef, kind)
        if before is None:
            evidence = _first_evidence(ef, "no_casualties")
            before = 0 if evidence else None
        if after is None or before is None or evidence is None or after <= before:
            continue
        if kind == "dead" and before + (ef.get("missing") or 0) >= after:
            continue
        out.append({"rule": THREAD_RULE, "flag": "concealment",
                    "message": f"同一事件的后续报告 {later['id']}（{later_when}收到）称{name}{after}人，"
                               f"本报告称{name}{before}人，先报的数字偏低",
                    "start": int(evidence["start"]), "end": int(evidence["end"]), "weight": 1.0})
    return out
