"""The queue's thread cache and fast similarity give exactly what the plain computation gives."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from pipeline import route
from pipeline.config import load_config
from pipeline.queue import Queue

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
PLACES = ["石桥镇东坡村", "石桥镇", "东坡村", "白沙乡河口村", "河口村", "青岚县城关镇"]
TEXTS = ["{p}一在建工地发生塔吊倒塌事故，造成{d}人死亡、{i}人受伤，事故原因正在调查。",
         "{p}一处老旧民房倒塌，{d}人死亡，{i}人受伤，另有{m}人失联，正在搜救。",
         "{p}发生山体滑坡，冲毁道路，{m}人失联，{i}人受伤，无人员死亡报告之外的情况待核。",
         "{p}化工厂发生泄漏，周边群众已疏散，{i}人不适送医。"]

text_st = st.text(alphabet=st.sampled_from(list("塔吊倒塌事故造成死亡受伤 ，。ab1𠀀")), max_size=40)


@settings(max_examples=200, deadline=None)
@given(text_st)
def test_compact_signature_is_the_packed_signature(text):
    compact, full = route.compact_signature(text), route.signature(text)
    assert compact.dtype == route.pack(full).dtype
    assert np.array_equal(compact, route.pack(full))
    assert np.array_equal(route.unpack(compact), full)


@settings(max_examples=200, deadline=None)
@given(text_st, st.lists(text_st, max_size=6), st.lists(st.booleans(), min_size=6, max_size=6))
def test_similarities_equal_similarity_on_packed_and_full_signatures(mine, others, packed):
    sigs = [route.compact_signature(t) if p else route.signature(t) for t, p in zip(others, packed)]
    expected = [route.similarity(route.signature(mine), route.signature(t)) for t in others]
    assert route.similarities(route.compact_signature(mine), sigs) == expected
    assert route.similarities(route.signature(mine), sigs) == expected


def _report(rng: random.Random, i: int) -> dict:
    """A processed record made by hand: one of a few places and texts, casualty counts that
    often rise, received within a few days in no particular order."""
    place = rng.choice(PLACES)
    d, inj, m = rng.choice([None, 0, 1, 2, 3]), rng.choice([None, 1, 2, 4]), rng.choice([None, 1, 2])
    text = rng.choice(TEXTS).format(p=place, d=d or 0, i=inj or 0, m=m or 0) + ("（续报）" if rng.random() < .2 else "")
    evidence = []
    for kind, value in (("dead", d), ("injured", inj), ("missing", m)):
        if value is not None:
            at = rng.randrange(0, max(1, len(text) - 4))
            evidence.append({"kind": kind, "start": at, "end": at + 3, "text": text[at:at + 3]})
    if d is None and inj is None and rng.random() < .3:
        evidence.append({"kind": "no_casualties", "start": 0, "end": 2, "text": text[:2]})
    received = datetime(2026, 11, 20, 8, tzinfo=timezone.utc) + timedelta(hours=rng.randrange(0, 120))
    rec = {"id": f"t-{i:04d}", "source": f"t.jsonl:{i}", "unit": "甲县应急管理局",
           "title": rng.choice(["关于事故的首报", "关于事故的续报", "关于事故的终报", "情况报告"]),
           "received_at": received.isoformat(), "text": text, "original": text,
           "facts": {"dead": d, "injured": inj, "missing": m, "place": place,
                     "places": [place] + ([rng.choice(PLACES)] if rng.random() < .3 else []), "evidence": evidence},
           "severity": {"grade": None, "reasons": []}, "focus": rng.choice(["work_safety", "disaster"]),
           "urgency": "routine", "urgency_proba": {"routine": 0.7, "urgent": 0.3}, "signals": [], "flags": [],
           "model_version": "t-1"}
    if rng.random() < .05:
        rec["event"] = "ev-given"
    if rng.random() < .05:
        rec["facts"]["place"], rec["facts"]["places"] = None, []
    return rec


def _records(seed: int, n: int = 300) -> list[dict]:
    rng = random.Random(seed)
    recs = [_report(rng, i) for i in range(n)]
    recs += [dict(r, id=r["id"] + "-again") for r in rng.sample(recs, 10)]  # same text: exists
    recs += [dict(r, text=r["text"] + "另") for r in rng.sample(recs, 5)]  # same id, other text: conflict
    return recs


def _dump(db: Path) -> dict:
    c = sqlite3.connect(db)
    out = {}
    for table, key in (("items", "id"), ("events", "id"), ("history", "seq")):
        cur = c.execute(f"SELECT * FROM {table} ORDER BY {key}")
        out[table] = [tuple(r) for r in cur]
    c.close()
    return out


def _fill(db: Path, batches: list[list[dict]], queues: int = 1, max_bytes: int | None = None,
          between=None) -> list:
    """Add the batches through ``queues`` connections in turn; ``between(q)`` after each batch."""
    config = load_config()
    qs = [Queue(db, config, clock=lambda: NOW) for _ in range(queues)]
    if max_bytes is not None:
        for q in qs:
            q._threads.max_bytes = max_bytes
    results = []
    for n, batch in enumerate(batches):
        q = qs[n % queues]
        results += [r.__dict__ for r in q.add_many(batch)]
        if between:
            between(q)
    for q in qs:
        q.close()
    return results


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_thread_cache_gives_what_reading_everything_from_the_database_gives(tmp_path, seed):
    """The cache kept (the default), dropped at every report (nothing cached: every event read
    back and every pair of its thread compared, the plain computation), and invalidated by
    another connection's writes between batches: the same items, events, history, results."""
    recs = _records(seed)
    batches = [recs[i:i + 37] for i in range(0, len(recs), 37)]
    kept = _fill(tmp_path / "kept.db", batches)
    plain = _fill(tmp_path / "plain.db", batches, max_bytes=0)
    shared = _fill(tmp_path / "shared.db", batches, queues=2)
    assert kept == plain == shared
    assert _dump(tmp_path / "kept.db") == _dump(tmp_path / "plain.db") == _dump(tmp_path / "shared.db")
    statuses = {r["status"] for r in kept}
    assert statuses == {"new", "exists", "conflict"}
    c = sqlite3.connect(tmp_path / "kept.db")
    assert c.execute("SELECT COUNT(*) FROM history WHERE action = 'signal'").fetchone()[0] > 0
    assert c.execute("SELECT MAX(n) FROM (SELECT COUNT(*) n FROM items GROUP BY event_id)").fetchone()[0] > 3


def test_a_rescore_between_batches_drops_the_cache(tmp_path):
    """A rescore writes through the same connection (it may change facts): the next batch
    must see the database, as a fresh process would."""
    recs = _records(7, 120)
    batches = [recs[i:i + 20] for i in range(0, len(recs), 20)]

    def rescore(q):
        q.rescore()
    a = _fill(tmp_path / "a.db", batches, between=rescore)
    b = _fill(tmp_path / "b.db", batches, max_bytes=0, between=rescore)
    assert a == b and _dump(tmp_path / "a.db") == _dump(tmp_path / "b.db")


def test_a_failed_batch_leaves_no_trace_in_the_cache(tmp_path):
    recs = _records(11, 80)
    bad = dict(recs[45])
    del bad["received_at"]
    config = load_config()
    with Queue(tmp_path / "a.db", config, clock=lambda: NOW) as q:
        q.add_many(recs[:40])
        with pytest.raises(KeyError):
            q.add_many(recs[40:45] + [bad])
        q.add_many(recs[40:])
    _fill(tmp_path / "b.db", [recs[:40], recs[40:]], max_bytes=0)
    assert _dump(tmp_path / "a.db") == _dump(tmp_path / "b.db")


def test_thread_cache_stays_within_its_budget(tmp_path):
    config = load_config()
    with Queue(tmp_path / "a.db", config, clock=lambda: NOW) as q:
        q._threads.max_bytes = 20_000
        for i in range(0, 300, 30):
            q.add_many(_records(5)[i:i + 30])
        assert q._threads._bytes <= 20_000 or len(q._threads._events) == 1


def test_schema_2_finds_the_window_in_the_index(tmp_path):
    with Queue(tmp_path / "a.db", load_config()) as q:
        plan = q._conn.execute("EXPLAIN QUERY PLAN SELECT id FROM events WHERE status = 'open' AND focus IS ? "
                               "AND last_utc >= ? AND first_utc <= ?", ("a", "b", "c")).fetchall()
    assert "events_window" in " ".join(str(tuple(r)) for r in plan)
