"""The shipped corpus: format, distribution, near-duplicates, delay labels, splits."""

import json
from collections import Counter, defaultdict

import pytest
from click.testing import CliRunner

from cli import main
from pipeline.clean import clean_text
from pipeline.corpus import (SPLITS, _shingles, assign_splits, check_record, corpus_stats,
                             delay_rule_disagreements, load_corpus, near_duplicates)
from pipeline.ingest import iter_reports
from pipeline.corpus import CORPUS_DIR
from pipeline.labels import FLAGS, FOCUS, URGENCY


@pytest.fixture(scope="session")
def corpus():
    return load_corpus()


@pytest.fixture(scope="session")
def stats(corpus):
    return corpus_stats(corpus)


def test_every_record_is_well_formed(corpus):
    problems = [f"{r['id']}: {p}" for r in corpus for p in check_record(r)]
    assert problems == []
    ids = Counter(r["id"] for r in corpus)
    assert [i for i, n in ids.items() if n > 1] == []


def test_other_writers_files_are_well_formed_and_apart(corpus):
    """corpus/extra (trained on with --add) and corpus/check (never trained on): labeled like the
    splits, no id shared with a split or another file, and no text copied from a split."""
    split_ids = {r["id"] for r in corpus}
    split_texts = {r["text"] for r in corpus}
    seen: dict[str, str] = {}
    files = sorted((CORPUS_DIR / "extra").glob("*.jsonl")) + sorted((CORPUS_DIR / "check").glob("*.jsonl"))
    assert [f.name for f in files] == ["fresh-a.jsonl", "fresh-c.jsonl", "fresh-e.jsonl", "fresh-f.jsonl",
                                       "fresh-g.jsonl", "fresh-h.jsonl", "fresh-b.jsonl", "fresh-d.jsonl"]
    for path in files:
        recs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        assert len(recs) >= 60
        for r in recs:
            assert check_record(r) == [], (path.name, r["id"])
            assert r["id"] not in split_ids and r["id"] not in seen, (path.name, r["id"])
            assert r["text"] not in split_texts
            seen[r["id"]] = path.name


def test_distribution_meets_the_minimums(stats):
    assert stats.total >= 1200
    for code in FOCUS:
        assert sum(stats.focus[code].values()) >= 90, code
    for code in URGENCY:
        assert sum(stats.urgency[code].values()) >= 300, code
    for code in FLAGS:
        assert sum(stats.flags[code].values()) >= 120, code
    assert stats.honest_incidents >= 250
    assert stats.threads >= 60


def test_gold_facts_on_every_incident_report(corpus):
    incidents = [r for r in corpus if r["urgency"] in ("flash", "urgent")]
    assert all("facts" in r for r in incidents)


def test_no_near_duplicates_outside_a_thread(corpus):
    assert near_duplicates(corpus, threshold=0.5) == []


def test_delay_labels_agree_with_the_deadline_rule(corpus):
    assert delay_rule_disagreements(corpus) == []


def test_threads_never_straddle_splits(corpus):
    splits_of = defaultdict(set)
    for r in corpus:
        if r.get("event"):
            splits_of[r["event"]].add(r["split"])
    assert {e: s for e, s in splits_of.items() if len(s) > 1} == {}


def test_split_is_about_70_15_15_and_stratified(corpus, stats):
    share = {s: stats.by_split[s] / stats.total for s in SPLITS}
    assert 0.66 <= share["train"] <= 0.74
    assert 0.12 <= share["dev"] <= 0.18 and 0.12 <= share["test"] <= 0.18
    for table in (stats.focus, stats.urgency):
        for code, counts in table.items():
            assert counts["dev"] > 0 and counts["test"] > 0, code


def test_assign_splits_is_deterministic_and_keeps_threads():
    recs = [{"id": f"r{i}", "event": f"e{i // 3}" if i < 30 else None, "received_at": f"2026-01-01T00:{i % 60:02d}:00+08:00",
             "urgency": URGENCY[i % 3], "focus": FOCUS[i % 10]} for i in range(200)]
    a, b = assign_splits(recs), assign_splits(list(reversed(recs)))
    assert a == b
    by_event = defaultdict(set)
    for r in recs:
        if r["event"]:
            by_event[r["event"]].add(a[r["id"]])
    assert all(len(s) == 1 for s in by_event.values())
    assert assign_splits(recs, seed=1) != a


def test_near_duplicate_detector_finds_a_copy():
    text = "11月25日14时30分许，石桥镇东坡村一在建工地发生塔吊倒塌事故，造成1人死亡，原因正在调查。"
    recs = [{"id": "a", "text": text}, {"id": "b", "text": text.replace("东坡村", "西坡村")},
            {"id": "c", "text": "全县秋粮收购进展顺利，已收购3.5万吨。"}]
    assert [(x, y) for x, y, _ in near_duplicates(recs)] == [("a", "b")]


def test_demo_inbox_is_not_in_the_corpus(corpus):
    corpus_grams = [_shingles(r["text"]) for r in corpus]
    demo = [r for r in iter_reports([CORPUS_DIR / "inbox"]) if hasattr(r, "original")]
    assert len(demo) == 12
    for rep in demo:
        grams = _shingles(clean_text(rep.original))
        worst = max(len(grams & g) / max(1, min(len(grams), len(g))) for g in corpus_grams)
        assert worst < 0.5, rep.source


def test_corpus_stats_command(stats):
    res = CliRunner().invoke(main, ["corpus-stats", "--json"])
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["total"] == stats.total
    assert data["by_split"] == stats.by_split
    text = CliRunner().invoke(main, ["corpus-stats"]).stdout
    assert f"| **reports** | {stats.by_split['train']} | {stats.by_split['dev']} | {stats.by_split['test']} | {stats.total} |" in text
