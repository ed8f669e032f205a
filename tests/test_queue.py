"""The editors' queue: storage, priority, threads, claims, corrections and reliability."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from cli import EXIT_BUSY, EXIT_CONFLICT, EXIT_NOT_FOUND, EXIT_NOTHING_OPEN, main
from pipeline import route
from pipeline.config import load_config
from pipeline.corpus import check_record
from pipeline.display import clip, width
from pipeline.queue import SCHEMA_VERSION, ItemNotFound, Queue, QueueError

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)  # 20:00 in Asia/Shanghai
HAS_MODEL = (ROOT / "models" / "current").is_file()

FIRST = {"id": "f-1", "unit": "青岚县应急管理局", "received_at": "2026-11-25T15:00:00+08:00",
         "title": "关于石桥镇东坡村一在建工地塔吊倒塌的首报",
         "text": "11月25日14时30分许，石桥镇东坡村一在建工地发生塔吊倒塌事故，造成1人死亡、2人受伤。"
                 "事故原因正在调查，县应急管理局已组织救援。"}
FOLLOW = {"id": "f-2", "unit": "青岚县应急管理局", "received_at": "2026-11-25T20:00:00+08:00",
          "title": "关于石桥镇东坡村一在建工地塔吊倒塌的续报",
          "text": "续报：11月25日14时30分许，石桥镇东坡村一在建工地发生塔吊倒塌事故，经进一步核实，"
                  "事故共造成3人死亡、2人受伤。事故原因正在调查，县应急管理局已组织救援和善后。"}
ELSEWHERE = {"id": "f-3", "unit": "白沙乡人民政府", "received_at": "2026-11-25T21:00:00+08:00",
             "title": "关于白沙乡河口村一民房倒塌的情况报告",
             "text": "11月25日19时许，白沙乡河口村一处老旧民房倒塌，造成2人受伤，已送医救治。原因正在调查，乡政府已组织排查。"}


# ---------------------------------------------------------------- helpers

def write_config(path: Path, extra: str = "") -> Path:
    """A config without the waiting part (so priorities do not move with the clock)."""
    path.write_text("[priority]\nwaiting_per_hour = 0.0\n" + extra, encoding="utf-8")
    return path


def record(i: int, **over) -> dict:
    """A processed record as `triage process` builds it, made by hand (no NLP needed)."""
    rec = {"id": f"q-{i:03d}", "source": f"test.jsonl:{i}", "unit": "甲县应急管理局", "title": f"第{i}份报告",
           "received_at": "2026-11-25T09:00:00+08:00", "text": f"第{i}份报告的正文。", "original": f"第{i}份报告的正文。",
           "n_tokens": 6,
           "facts": {"event_time": None, "learned_time": None, "dead": None, "injured": None, "serious": None,
                     "missing": None, "trapped": None, "vague": [], "earlier": {}, "casualties_stated": False,
                     "casualties_unknown": False, "loss_wan": None, "crowd": None, "crowd_vague": False,
                     "place": None, "places": [], "evidence": []},
           "severity": {"grade": None, "reasons": []}, "focus": "general", "urgency": "routine",
           "focus_proba": {"general": 0.9, "economy": 0.1}, "urgency_proba": {"routine": 1.0},
           "urgency_reasons": ["模型判断为常规（概率1.00）"], "needs_review": False, "review_reasons": [],
           "model_version": "test-1", "signals": [], "flags": []}
    for key, value in over.items():
        if key in rec["facts"] and key not in rec:
            rec["facts"][key] = value
        else:
            rec[key] = value
    return rec


def cli(*args, config: Path | None = None, color: bool = False):
    """Run the command line in-process; ``color`` keeps escapes in the output, as a terminal would."""
    pre = ["--config", str(config)] if config else []
    return CliRunner().invoke(main, pre + [str(a) for a in args], color=color)


def history_actions(db: Path, item_id: str) -> list[str]:
    with sqlite3.connect(db) as c:
        return [r[0] for r in c.execute("SELECT action FROM history WHERE item_id = ? ORDER BY seq", (item_id,))]


@pytest.fixture()
def cfg(tmp_path) -> Path:
    return write_config(tmp_path / "triage.toml")


@pytest.fixture()
def small_queue(tmp_path, cfg):
    """Five routine items with distinct priorities (q-000 highest), and the db path."""
    db = tmp_path / "q.db"
    with Queue(db, load_config(cfg), clock=lambda: NOW) as q:
        for i in range(5):
            q.add(record(i, urgency_proba={"routine": 1.0 - i * 0.1, "urgent": i * 0.1}))
    return db


@pytest.fixture(scope="session")
def thread_inbox(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("thread")
    for name, rec in (("1首报.jsonl", FIRST), ("2续报.jsonl", FOLLOW), ("3别处.jsonl", ELSEWHERE)):
        (root / name).write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def processed_thread(thread_inbox, tmp_path_factory):
    """`triage process` of the thread inbox, twice, into one queue."""
    out = tmp_path_factory.mktemp("thread-out")
    db = out / "q.db"
    runs = [CliRunner().invoke(main, ["process", str(thread_inbox), "--no-model", "--db", str(db),
                                      "-o", str(out / f"r{n}.jsonl")]) for n in (1, 2)]
    records = [[json.loads(l) for l in (out / f"r{n}.jsonl").read_text(encoding="utf-8").splitlines()] for n in (1, 2)]
    return db, runs, records


# ---------------------------------------------------------------- storage and idempotence

def test_process_puts_each_report_in_the_queue_once(processed_thread):
    db, (first, second), (rec1, rec2) = processed_thread
    assert first.exit_code == 0 and second.exit_code == 0
    assert first.stderr.splitlines()[-2:] == ["入队 新增 3 份，已在队列 0 份", "读取 3 份，写出 3 份，重复跳过 0 份，拒收 0 份"]
    assert second.stderr.splitlines()[-2:] == ["入队 新增 0 份，已在队列 3 份", "读取 3 份，写出 3 份，重复跳过 0 份，拒收 0 份"]
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 3
        assert c.execute("SELECT COUNT(*) FROM history WHERE action = 'queued'").fetchone()[0] == 3
        assert c.execute("SELECT COUNT(*) FROM history WHERE action = 'signal'").fetchone()[0] == 1
    # Both runs write the same event for each report, and its priority now: the first report
    # has gained the thread's concealment flag (+25) since it was queued.
    assert [(r["id"], r["event"]) for r in rec1] == [(r["id"], r["event"]) for r in rec2]
    assert [r["priority"] for r in rec2] == [rec1[0]["priority"] + 25.0, rec1[1]["priority"], rec1[2]["priority"]]


def test_same_content_under_another_id_is_one_item(tmp_path, cfg):
    with Queue(tmp_path / "q.db", load_config(cfg), clock=lambda: NOW) as q:
        assert q.add(record(1)).status == "new"
        again = q.add(record(1, id="other-id"))
        assert (again.status, again.id) == ("exists", "q-001")
        clash = q.add(record(1, text="同一编号、不同内容。"))
        assert clash.status == "conflict"
        assert q.count() == 1


def test_id_conflict_is_reported_and_exits_3(tmp_path, cfg):
    inbox = tmp_path / "in"
    inbox.mkdir()
    line = {"id": "x-1", "received_at": "2026-11-25T09:00:00+08:00", "text": "全县秋粮收购进展顺利。"}
    (inbox / "a.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    db = tmp_path / "q.db"
    assert cli("process", inbox, "--no-model", "--db", db, "-o", os.devnull, config=cfg).exit_code == 0
    (inbox / "a.jsonl").write_text(json.dumps({**line, "text": "全县秋粮收购基本完成。"}, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    res = cli("process", inbox, "--no-model", "--db", db, "-o", os.devnull, config=cfg)
    assert res.exit_code == 3
    assert res.stderr.splitlines()[-2:] == ["入队 新增 0 份，已在队列 0 份，id 冲突未入队 1 份",
                                            "读取 1 份，写出 1 份，重复跳过 0 份，拒收 0 份"]


def test_no_queue_writes_records_only(tmp_path, thread_inbox):
    db = tmp_path / "never.db"
    res = cli("process", thread_inbox, "--no-model", "--no-queue", "--db", db)
    assert res.exit_code == 0 and not db.exists()
    assert all("priority" not in json.loads(l) for l in res.stdout.splitlines())


def test_original_text_stored_byte_for_byte(tmp_path, cfg):
    original = "标题\r\n正文\x00含\x1b[31m控制字符\x1b[0m、\u3000全角空格、\ufeffBOM 与孤立代理\udcff。\n"
    with Queue(tmp_path / "q.db", load_config(cfg)) as q:
        q.add(record(1, original=original))
        assert q.get("q-001")["original"] == original
        assert q.get("q-001")["text"] == "第1份报告的正文。"


def test_schema_is_versioned_and_wal(tmp_path, cfg):
    db = tmp_path / "q.db"
    Queue(db, load_config(cfg)).close()
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        c.execute("PRAGMA user_version = 99")
    with pytest.raises(QueueError, match="比本程序支持的"):
        Queue(db, load_config(cfg))


def test_history_and_labels_are_append_only(small_queue):
    cli("label", "q-000", "--db", small_queue, "--as", "王编辑", "--urgency", "urgent")
    with sqlite3.connect(small_queue) as c:
        for table in ("history", "labels"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                c.execute(f"UPDATE {table} SET item_id = 'x'")
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                c.execute(f"DELETE FROM {table}")
        assert c.execute("SELECT COUNT(*) FROM history").fetchone()[0] == 6


# ---------------------------------------------------------------- reliability

RACE_WORKER = r"""
import json, sys, time
from pathlib import Path
from click.testing import CliRunner
from cli import main
cfg, db, name, go = sys.argv[1:5]
Path(f"{go}.{name}").touch()  # ready: imports done
while not Path(go).exists():
    time.sleep(0.001)
runner, got = CliRunner(), []
while True:
    res = runner.invoke(main, ["--config", cfg, "next", "--db", db, "--as", name, "--json"])
    if res.exit_code == 4:
        break
    if res.exit_code != 0:
        sys.exit(f"exit {res.exit_code}: {res.output}")
    got.append(json.loads(res.stdout)["id"])
print(json.dumps(got))
"""


def test_four_editors_racing_claim_every_item_exactly_once(tmp_path, cfg):
    db = tmp_path / "q.db"
    with Queue(db, load_config(cfg), clock=lambda: NOW) as q:
        for i in range(200):
            q.add(record(i))
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", RACE_WORKER, str(cfg), str(db), f"editor{n}", str(go)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in range(4)]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("go.editor*"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.005)
    go.touch()  # all four start together
    claimed = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        claimed.append(json.loads(out))
    every = [i for got in claimed for i in got]
    assert len(every) == 200 and set(every) == {f"q-{i:03d}" for i in range(200)}
    assert sum(1 for got in claimed if got) >= 2  # the editors really raced
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT COUNT(*) FROM history WHERE action = 'claim'").fetchone()[0] == 200
        assert c.execute("SELECT COUNT(*) FROM items WHERE status = 'claimed'").fetchone()[0] == 200


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        c = sqlite3.connect(db, timeout=0.05)
        try:
            return c.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        finally:
            c.close()
    except sqlite3.OperationalError:  # not created yet, or busy
        return 0


def _kill_and_rerun(tmp_path: Path, n: int, files: int, extra: list[str]) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for f in range(files):
        lines = [json.dumps({"id": f"k-{i:04d}", "unit": f"第{i % 7}乡", "received_at": "2026-11-20T09:00:00+08:00",
                             "title": f"工作简报{i}", "text": f"第{i}期：全乡秋粮收购进展顺利，已收购{i}吨。"},
                            ensure_ascii=False) for i in range(f, n, files)]
        (inbox / f"batch{f}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "q.db"
    cmd = [sys.executable, "cli.py", "process", str(inbox), "--db", str(db), "-q", "-o", os.devnull, *extra]
    from cli import QUEUE_BATCH

    # the queue commits a batch at a time: aim below the last batch, or the run may be over
    # when the count is seen to pass the target
    target = random.randint(1, max(1, n - QUEUE_BATCH))
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while proc.poll() is None and time.monotonic() < deadline and _count(db) < target:
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, f"the run ended before the kill (target {target})"
    before = _count(db)
    assert before < n, f"killed after the last item (target {target})"
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines()[-2:] == [f"入队 新增 {n - before} 份，已在队列 {before} 份",
                                            f"读取 {n} 份，写出 {n} 份，重复跳过 0 份，拒收 0 份"]
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = [r[0] for r in c.execute("SELECT id FROM items")]
        assert sorted(ids) == [f"k-{i:04d}" for i in range(n)]
        assert c.execute("SELECT COUNT(*) FROM history WHERE action = 'queued'").fetchone()[0] == n


def test_sigkill_during_process_then_rerun_queues_every_report_once(tmp_path):
    _kill_and_rerun(tmp_path, 1000, 4, ["--no-model"])


@pytest.mark.skipif(not HAS_MODEL, reason="no models/current yet")
def test_sigkill_with_the_model_then_rerun(tmp_path):
    _kill_and_rerun(tmp_path, 300, 2, [])


def test_locked_database_retries_then_fails_clearly(tmp_path):
    cfg = write_config(tmp_path / "triage.toml", "[queue]\nbusy_timeout_seconds = 0.5\n")
    db = tmp_path / "q.db"
    with Queue(db, load_config(cfg), clock=lambda: NOW) as q:
        for i in range(3):
            q.add(record(i))
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    locker.execute("UPDATE items SET title = 'half-written' WHERE id = 'q-000'")
    try:
        for args in (["done", "q-000", "--as", "王编辑"], ["next", "--as", "王编辑"]):
            start = time.monotonic()
            res = cli(*args, "--db", db, config=cfg)
            took = time.monotonic() - start
            assert res.exit_code == EXIT_BUSY
            assert res.stderr.startswith(f"Error: [E301] 队列数据库 {db} 被其他进程锁定，等待 0.5 秒后仍未释放，未做任何修改")
            assert 0.5 <= took < 3
        # Readers still see the last committed state while a writer holds the lock (WAL).
        res = cli("queue", "--db", db, "--json", config=cfg)
        assert res.exit_code == 0 and [i["title"] for i in json.loads(res.stdout)][0] == "第0份报告"
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert cli("done", "q-000", "--as", "王编辑", "--db", db, config=cfg).exit_code == 0
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert c.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 3
    assert history_actions(db, "q-000") == ["queued", "done"]
    assert history_actions(db, "q-001") == ["queued"]


def test_exclusive_locking_mode_blocks_readers_too(tmp_path):
    cfg = write_config(tmp_path / "triage.toml", "[queue]\nbusy_timeout_seconds = 0.3\n")
    db = tmp_path / "q.db"
    with Queue(db, load_config(cfg)) as q:
        q.add(record(1))
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("PRAGMA locking_mode = EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    try:
        res = cli("queue", "--db", db, config=cfg)
        assert res.exit_code == EXIT_BUSY and "[E301]" in res.stderr
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert cli("queue", "--db", db, config=cfg).exit_code == 0


# ---------------------------------------------------------------- claims and status

def test_claims_conflicts_and_status_changes(small_queue, cfg):
    db = ["--db", small_queue]
    res = cli("next", "--as", "张编辑", "--json", *db, config=cfg)
    assert res.exit_code == 0 and json.loads(res.stdout)["id"] == "q-004"  # routine 0.6 / urgent 0.4: highest
    assert json.loads(res.stdout)["claimed_by"] == "张编辑"
    res = cli("claim", "q-004", "--as", "李编辑", *db, config=cfg)
    assert res.exit_code == EXIT_CONFLICT and "[E303] q-004 已由 张编辑 认领" in res.stderr
    assert cli("release", "q-004", "--as", "李编辑", *db, config=cfg).exit_code == EXIT_CONFLICT
    assert cli("done", "q-004", "--as", "李编辑", *db, config=cfg).exit_code == EXIT_CONFLICT
    res = cli("release", "q-004", "--as", "张编辑", "--json", *db, config=cfg)
    assert json.loads(res.stdout)["status"] == "open" and json.loads(res.stdout)["claimed_by"] is None
    res = cli("claim", "q-004", "--as", "李编辑", *db, config=cfg)
    assert res.exit_code == 0 and res.stdout.startswith("已认领，至 ")
    res = cli("escalate", "q-004", "--as", "李编辑", "--note", "报常委", *db, config=cfg)
    assert res.stdout == "已报领导：q-004  第4份报告\n"
    assert cli("escalate", "q-004", "--as", "李编辑", *db, config=cfg).exit_code == EXIT_CONFLICT
    assert cli("done", "q-004", "--as", "李编辑", "--note", "已批示", *db, config=cfg).exit_code == 0
    assert cli("claim", "q-004", "--as", "张编辑", *db, config=cfg).exit_code == EXIT_CONFLICT
    res = cli("dismiss", "q-003", "--as", "张编辑", *db, config=cfg)
    assert res.exit_code == 2  # --reason is required
    assert cli("dismiss", "q-003", "--as", "张编辑", "--reason", "重复报送", *db, config=cfg).exit_code == 0
    res = cli("history", "q-004", "--json", *db, config=cfg)
    assert [(h["actor"], h["action"]) for h in json.loads(res.stdout)] == [
        ("system", "queued"), ("张编辑", "claim"), ("张编辑", "release"), ("李编辑", "claim"),
        ("李编辑", "escalated"), ("李编辑", "done")]
    assert json.loads(res.stdout)[-1]["detail"] == {"from": "escalated", "note": "已批示"}
    res = cli("queue", "--status", "all", "--json", *db, config=cfg)
    assert {i["id"]: i["status"] for i in json.loads(res.stdout)} == {
        "q-000": "open", "q-001": "open", "q-002": "open", "q-003": "dismissed", "q-004": "done"}


def test_next_says_when_nothing_is_open(small_queue, cfg):
    for _ in range(5):
        assert cli("next", "--as", "张编辑", "--db", small_queue, config=cfg).exit_code == 0
    res = cli("next", "--as", "张编辑", "--db", small_queue, config=cfg)
    assert (res.exit_code, res.stdout, res.stderr) == (EXIT_NOTHING_OPEN, "", "队列中没有待处理的信息\n")


def test_not_found_exits_5(small_queue, cfg):
    for args in (["show", "nope"], ["why", "nope"], ["history", "nope"], ["claim", "nope"], ["done", "nope"],
                 ["label", "nope", "--urgency", "flash"]):
        res = cli(*args, "--db", small_queue, config=cfg)
        assert res.exit_code == EXIT_NOT_FOUND, args
        assert res.stderr == "Error: [E302] 队列中没有编号为 nope 的信息\n"


def test_claims_expire(small_queue, cfg):
    config = load_config(cfg)
    with Queue(small_queue, config, clock=lambda: NOW) as q:
        first = q.next("张编辑")
    later = NOW + timedelta(minutes=config.queue.claim_minutes + 1)
    with Queue(small_queue, config, clock=lambda: later) as q:
        assert q.list(limit=1)[0]["status"] == "open"
        again = q.next("李编辑")
        assert again["id"] == first["id"] and again["claimed_by"] == "李编辑"
        assert [(h["actor"], h["action"]) for h in q.history(first["id"])] == [
            ("system", "queued"), ("张编辑", "claim"), ("system", "claim_expired"), ("李编辑", "claim")]


# ---------------------------------------------------------------- priority

PRIORITY_CONFIG = """waiting_cap = 10.0
[priority.watchlist]
"欠薪" = 8.0
"防汛" = 5.0
"""


def test_priority_parts_and_watchlist(tmp_path):
    cfg = tmp_path / "triage.toml"
    cfg.write_text("[priority]\nwaiting_per_hour = 2.0\n" + PRIORITY_CONFIG, encoding="utf-8")
    config = load_config(cfg)
    received = (NOW - timedelta(hours=3)).isoformat()
    with Queue(tmp_path / "q.db", config, clock=lambda: NOW) as q:
        q.add(record(1, title="关于拖欠农民工工资（欠薪）的情况", text="城关镇防汛仓库工地欠薪。", received_at=received,
                     urgency="flash", urgency_proba={"flash": 0.5, "urgent": 0.3, "routine": 0.2},
                     severity={"grade": "较大", "reasons": ["死亡3人"]}, flags=["delay"], needs_review=True,
                     review_reasons=["领域判断把握不大"]))
        q.add(record(2, urgency="flash", urgency_proba={"routine": 0.7, "flash": 0.3},
                     urgency_reasons=["模型判断为常规（概率0.70）", "有人员死亡（1人），定为特急"]))
        q.add(record(3, urgency="urgent", urgency_proba={}, received_at="2026-11-01T09:00:00+08:00"))
        parts = {p["part"]: (round(p["points"], 2), p["reason"]) for p in q.why("q-001")["parts"]}
        assert parts == {
            "urgency": (67.0, "按模型概率加权：特急0.50×100 + 加急0.30×50 + 常规0.20×10"),
            "severity": (25.0, "较大：死亡3人"),
            "flags": (10.0, "迟报+10"),
            "review": (5.0, "领域判断把握不大"),
            "watchlist": (13.0, "“欠薪”+8、“防汛”+5"),
            "waiting": (6.0, "已等待3.0小时（每小时2分，上限10分）"),
        }
        assert q.why("q-001")["priority"] == 126.0
        assert q.why("q-002")["parts"][0] == {"part": "urgency", "label": "紧急程度", "points": 100.0,
                                              "reason": "规则上调为特急：有人员死亡（1人），定为特急"}
        why3 = {p["part"]: p["points"] for p in q.why("q-003")["parts"]}
        assert (why3["urgency"], why3["waiting"]) == (50.0, 10.0)  # no probabilities; waiting capped
        assert [i["id"] for i in q.list()] == ["q-001", "q-002", "q-003"]


def test_why_command_and_rescore_after_a_config_change(tmp_path):
    cfg = write_config(tmp_path / "triage.toml", PRIORITY_CONFIG)
    db = tmp_path / "q.db"
    with Queue(db, load_config(cfg)) as q:
        q.add(record(1, text="两个工地欠薪，农民工聚集。"))
        q.add(record(2, text="两个工地完工，农民工返乡。"))
    res = cli("queue", "--db", db, "--json", config=cfg)
    assert [(i["id"], i["priority"]) for i in json.loads(res.stdout)] == [("q-001", 18.0), ("q-002", 10.0)]
    res = cli("why", "q-001", "--db", db, config=cfg)
    assert res.stdout.splitlines() == [
        "q-001 优先分 18.0",
        "组成         分值  说明",
        "紧急程度    +10.0  按模型概率加权：常规1.00×10",
        "事件等级     +0.0  无等级（非事件类）",
        "筛查标记     +0.0  无标记",
        "需人工复核   +0.0  无需复核",
        "领导关注点   +8.0  “欠薪”+8",
        "等待时间     +0.0  " + res.stdout.splitlines()[-1].split("+0.0  ")[1],
    ]
    write_config(cfg, "[priority.watchlist]\n\"返乡\" = 30.0\n")
    res = cli("rescore", "--config-only", "--db", db, config=cfg)
    assert res.stdout == "重新评分 2 条待处理信息，2 条有变化\n"
    res = cli("queue", "--db", db, "--json", config=cfg)
    assert [(i["id"], i["priority"]) for i in json.loads(res.stdout)] == [("q-002", 40.0), ("q-001", 10.0)]
    assert history_actions(db, "q-002") == ["queued", "rescore"]


@pytest.mark.skipif(not HAS_MODEL, reason="no models/current yet")
def test_rescore_with_the_model(tmp_path, cfg, thread_inbox):
    db = tmp_path / "q.db"
    assert cli("process", thread_inbox, "--no-model", "--db", db, "-o", os.devnull, config=cfg).exit_code == 0
    res = cli("rescore", "--db", db, "--json", config=cfg)
    assert res.exit_code == 0 and json.loads(res.stdout)["items"] == 3
    item = json.loads(cli("show", "f-1", "--db", db, "--json", config=cfg).stdout)
    assert item["model_version"] and item["focus"] and item["prediction"]["focus_proba"]
    assert any(s["rule"] == "concealment.thread_rising" for s in item["signals"])


# ---------------------------------------------------------------- queue listing

def test_queue_table_filters_and_formats(tmp_path, cfg):
    db = tmp_path / "q.db"
    with Queue(db, load_config(cfg)) as q:
        q.add(record(1, unit="柘溪县应急管理局", title="化工园区火灾", urgency="flash", urgency_proba={"flash": 1.0},
                     focus="work_safety", flags=["delay", "concealment"], received_at="2026-11-26T10:05:00+08:00"))
        q.add(record(2, unit="柘溪县信访局", title="农民工讨薪", urgency="urgent", urgency_proba={"urgent": 1.0},
                     focus="stability", received_at="2026-11-25T15:40:00+08:00"))
        q.add(record(3, unit="白沙乡", title="秋粮收购进度", received_at="2026-11-20T09:00:00+08:00"))
    res = cli("queue", "--db", db, config=cfg)
    assert res.stdout == (
        "名次  编号   优先分  紧急程度  领域      标记            报送单位          收到时间     状态    标题\n"
        "   1  q-001   135.0  特急      安全生产  迟报、瞒报谎报  柘溪县应急管理局  11-26 10:05  待处理  化工园区火灾\n"
        "   2  q-002    50.0  加急      社会稳定  —               柘溪县信访局      11-25 15:40  待处理  农民工讨薪\n"
        "   3  q-003    10.0  常规      综合工作  —               白沙乡            11-20 09:00  待处理  秋粮收购进度\n")

    def ids(*args):
        res = cli("queue", "--db", db, "--json", *args, config=cfg)
        assert res.exit_code == 0, res.output
        return [i["id"] for i in json.loads(res.stdout)]

    assert ids("--flag", "delay") == ["q-001"]
    assert ids("--urgency", "urgent", "--urgency", "routine") == ["q-002", "q-003"]
    assert ids("--focus", "stability") == ["q-002"]
    assert ids("--unit", "柘溪县") == ["q-001", "q-002"]
    assert ids("--since", "2026-11-25") == ["q-001", "q-002"]
    assert ids("--since", "2026-11-25 16:00") == ["q-001"]
    assert ids("--limit", "2") == ["q-001", "q-002"]
    assert ids("--limit", "0") == ["q-001", "q-002", "q-003"]
    assert ids("--status", "done") == []
    assert cli("queue", "--db", db, "--since", "yesterday", config=cfg).exit_code == 2
    assert cli("queue", "--db", db, "--focus", "weather", config=cfg).exit_code == 2
    res = cli("queue", "--db", db, "--csv", "--flag", "delay", config=cfg)
    assert res.stdout.splitlines() == [
        "rank,id,priority,status,claimed_by,urgency,focus,flags,unit,received_at,title,event",
        "1,q-001,135.0,open,,flash,work_safety,delay;concealment,柘溪县应急管理局,2026-11-26T10:05:00+08:00,化工园区火灾,ev-q-001"]
    item = json.loads(cli("queue", "--db", db, "--json", "--limit", "1", config=cfg).stdout)[0]
    assert item == {"rank": 1, "id": "q-001", "priority": 135.0, "status": "open", "claimed_by": None,
                    "urgency": "flash", "focus": "work_safety", "flags": ["delay", "concealment"],
                    "unit": "柘溪县应急管理局", "received_at": "2026-11-26T10:05:00+08:00", "title": "化工园区火灾",
                    "event": "ev-q-001", "severity": None, "needs_review": False}


def test_untrusted_text_is_shown_literally(tmp_path, cfg):
    db = tmp_path / "q.db"
    evil = "\x1b[31m红色\x1b[0m"
    with Queue(db, load_config(cfg)) as q:
        q.add(record(1, title=f"标题{evil}", unit="乡\x1b]0;owned\x07", text=f"正文{evil}[bold]富文本[/bold]\x1b[2J。",
                     signals=[{"rule": "x.y", "flag": "delay", "message": f"说明{evil}", "start": 0, "end": 2,
                               "weight": 1.0}], flags=["delay"]))
    for args in (["queue"], ["show", "q-001"], ["why", "q-001"], ["history", "q-001"], ["queue", "--csv"]):
        res = cli(*args, "--db", db, config=cfg, color=True)
        assert res.exit_code == 0, args
        assert "\x1b" not in res.stdout and "\x07" not in res.stdout, args
    colored = cli("show", "q-001", "--color", "--db", db, config=cfg, color=True).stdout
    assert "\x1b[31m\x1b[1m正文\x1b[0m" in colored  # our highlight, not the report's escapes
    assert "\x1b[0m\\x1b[31m红色\\x1b[0m[bold]富文本[/bold]\\x1b[2J。" in colored
    shown = cli("show", "q-001", "--db", db, config=cfg).stdout
    assert "标题\\x1b[31m红色\\x1b[0m" in shown
    assert "【正文】\\x1b[31m红色\\x1b[0m[bold]富文本[/bold]\\x1b[2J。" in shown
    assert "说明\\x1b[31m红色\\x1b[0m" in shown
    assert "  乡\\x1b]0;owned\\…  " in cli("queue", "--db", db, config=cfg).stdout  # clipped to 16 columns


# ---------------------------------------------------------------- threads

def test_rising_deaths_along_a_thread_flag_the_first_report(processed_thread):
    db, _, (records, _) = processed_thread
    by_id = {r["id"]: r for r in records}
    assert by_id["f-1"]["event"] == by_id["f-2"]["event"] == "ev-f-1"
    assert by_id["f-3"]["event"] == "ev-f-3"
    res = cli("show", "f-1", "--db", db, "--json")
    first = json.loads(res.stdout)
    signal = {"rule": "concealment.thread_rising", "flag": "concealment",
              "message": "同一事件的后续报告 f-2（11月25日20:00收到）称死亡3人，本报告称死亡1人，先报的数字偏低",
              "start": 36, "end": 40, "weight": 1.0}
    assert signal in first["signals"]
    assert first["text"][36:40] == "1人死亡"
    assert "concealment" in first["flags"]
    assert [(r["id"], r["stage"], r["dead"], r["changes"]) for r in first["thread"]["reports"]] == [
        ("f-1", "首报", 1, {}), ("f-2", "续报", 3, {"dead": [1, 3], "grade": ["一般", "较大"]})]
    second = json.loads(cli("show", "f-2", "--db", db, "--json").stdout)
    assert all(s["rule"] != "concealment.thread_rising" for s in second["signals"])
    shown = cli("show", "f-1", "--db", db).stdout
    assert "   事件经过（进行中，按收到时间）\n" in shown
    assert "  1. 首报 11-25 15:00 f-1 死亡1 受伤2 [待处理]  ← 本条\n" in shown
    assert "  2. 续报 11-25 20:00 f-2 死亡3 受伤2 [待处理] 变化：死亡1→3；等级一般→较大\n" in shown
    assert "⚑ [concealment.thread_rising 1] 瞒报谎报: 同一事件的后续报告 f-2（11月25日20:00收到）称死亡3人" in shown


def test_a_follow_up_read_before_its_first_report_still_threads(tmp_path, thread_inbox):
    db = tmp_path / "q.db"
    for name in ("2续报.jsonl", "1首报.jsonl"):
        assert cli("process", thread_inbox / name, "--no-model", "--db", db, "-o", os.devnull).exit_code == 0
    first = json.loads(cli("show", "f-1", "--db", db, "--json").stdout)
    assert first["event"] == "ev-f-2"
    assert [r["id"] for r in first["thread"]["reports"]] == ["f-1", "f-2"]
    assert any(s["rule"] == "concealment.thread_rising" and "称死亡3人，本报告称死亡1人" in s["message"]
               for s in first["signals"])


def test_threads_need_the_window(tmp_path, thread_inbox):
    cfg = write_config(tmp_path / "triage.toml", "[queue]\nthread_window_hours = 2\n")
    db = tmp_path / "q.db"
    assert cli("process", thread_inbox, "--no-model", "--db", db, "-o", os.devnull, config=cfg).exit_code == 0
    events = {i["id"]: i["event"] for i in json.loads(cli("queue", "--db", db, "--json", config=cfg).stdout)}
    assert events == {"f-1": "ev-f-1", "f-2": "ev-f-2", "f-3": "ev-f-3"}  # 5 hours apart: no thread


# ---------------------------------------------------------------- labels

def test_label_then_export_labels_round_trip(small_queue, cfg, tmp_path):
    db = ["--db", small_queue]
    res = cli("label", "q-001", "--as", "王编辑", "--focus", "economy", "--urgency", "urgent",
              "--flags", "delay,omission", "--note", "实为经济运行", *db, config=cfg)
    assert res.exit_code == 0
    assert res.stdout == "已记录 王编辑 对 q-001 的标注：领域 经济运行，紧急程度 加急，标记 迟报、漏报\n"
    res = cli("label", "q-001", "--as", "赵编辑", "--flags", "none", "--json", *db, config=cfg)
    assert json.loads(res.stdout) == {"id": "q-001", "editor": "赵编辑", "given": {"flags": []},
                                      "predicted": {"focus": "general", "urgency": "routine", "flags": []},
                                      "focus": "economy", "urgency": "urgent", "flags": []}
    assert cli("label", "q-002", "--as", "王编辑", *db, config=cfg).stdout.endswith("（确认模型判断）\n")
    assert cli("label", "q-003", "--flags", "late", *db, config=cfg).exit_code == 2
    assert cli("label", "q-003", "--focus", "weather", *db, config=cfg).exit_code == 2
    out = tmp_path / "labels.jsonl"
    res = cli("export-labels", out, *db, config=cfg)
    assert res.stdout == f"导出 2 条标注到 {out}\n"
    exported = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    assert exported[0] == {"id": "q-001", "unit": "甲县应急管理局", "received_at": "2026-11-25T09:00:00+08:00",
                           "title": "第1份报告", "text": "第1份报告的正文。", "focus": "economy", "urgency": "urgent",
                           "flags": [], "facts": {"event_time": None, "dead": None, "injured": None,
                                                  "missing": None, "place": None}}
    assert exported[1]["id"] == "q-002" and (exported[1]["focus"], exported[1]["urgency"]) == ("general", "routine")
    assert all(check_record(r) == [] for r in exported)
    with Queue(small_queue, load_config(cfg)) as q:
        assert q.labeled_history() == exported
        assert q.why("q-001")["parts"][0]["reason"] == "编辑更正为加急"
    with sqlite3.connect(small_queue) as c:
        rows = c.execute("SELECT editor, focus, urgency, flags, predicted, note FROM labels ORDER BY seq").fetchall()
    assert rows[0] == ("王编辑", "economy", "urgent", '["delay", "omission"]',
                       '{"focus": "general", "urgency": "routine", "flags": []}', "实为经济运行")


def test_label_without_a_focus_to_keep_is_refused(tmp_path, cfg):
    db = tmp_path / "q.db"
    with Queue(db, load_config(cfg)) as q:
        q.add(record(1, focus=None, focus_proba=None, model_version=None))
    res = cli("label", "q-001", "--urgency", "urgent", "--db", db, config=cfg)
    assert res.exit_code == 2 and "[E304] q-001 没有模型预测的领域，请用 --focus 给出" in res.stderr
    assert cli("label", "q-001", "--focus", "livelihood", "--db", db, config=cfg).exit_code == 0


# ---------------------------------------------------------------- units

def test_units_side_by_side(tmp_path, cfg):
    db = tmp_path / "q.db"
    config = load_config(cfg)

    def at(hours_before: float) -> str:
        return (datetime(2026, 11, 25, 9, 0, tzinfo=timezone(timedelta(hours=8)))
                - timedelta(hours=hours_before)).isoformat()

    with Queue(db, config, clock=lambda: NOW) as q:
        for i, (unit, flags, delay) in enumerate([("甲县", ["delay"], 2), ("甲县", ["delay"], 5), ("甲县", [], 1),
                                                  ("乙县", ["omission"], None), ("乙县", [], None),
                                                  ("丙县", ["concealment"], 0.5)]):
            q.add(record(i, unit=unit, flags=flags, event_time=at(delay) if delay is not None else None))
        q.add(record(9, unit="甲县", received_at="2026-10-01T09:00:00+08:00"))
        q.done("q-000", "王编辑")
        q.dismiss("q-003", "王编辑", "重复")
        q.done("q-005", "王编辑")
    res = cli("units", "--since", "2026-11-01", "--json", "--db", db, config=cfg)
    assert json.loads(res.stdout) == [
        {"rank": 1, "unit": "甲县", "reports": 3, "late_share": 0.6667, "median_delay_minutes": 120.0,
         "omission_share": 0.0, "concealment_share": 0.0, "adopted_share": 0.3333, "dismissed_share": 0.0},
        {"rank": 2, "unit": "丙县", "reports": 1, "late_share": 0.0, "median_delay_minutes": 30.0,
         "omission_share": 0.0, "concealment_share": 1.0, "adopted_share": 1.0, "dismissed_share": 0.0},
        {"rank": 3, "unit": "乙县", "reports": 2, "late_share": 0.0, "median_delay_minutes": None,
         "omission_share": 0.5, "concealment_share": 0.0, "adopted_share": 0.0, "dismissed_share": 0.5},
    ]
    res = cli("units", "--since", "2026-11-01", "--until", "2026-11-25", "--db", db, config=cfg)
    assert res.stdout == (
        "名次  报送单位  报送  迟报  迟报中位时长  漏报  瞒报谎报  采用  不采用\n"
        "   1  甲县         3   67%      2小时0分    0%        0%   33%      0%\n"
        "   2  丙县         1    0%        30分钟    0%      100%  100%      0%\n"
        "   3  乙县         2    0%             —   50%        0%    0%     50%\n")
    by = json.loads(cli("units", "--by", "omission", "--json", "--db", db, config=cfg).stdout)
    assert [u["unit"] for u in by] == ["乙县", "甲县", "丙县"]  # ties: more reports first
    assert by[1]["reports"] == 4  # without --since the October report counts too
    # An editor's correction of the flags counts.
    cli("label", "q-001", "--flags", "none", "--db", db, config=cfg)
    res = cli("units", "--since", "2026-11-01", "--json", "--db", db, config=cfg)
    assert json.loads(res.stdout)[0]["late_share"] == 0.3333
    assert json.loads(cli("units", "--since", "2026-12-01", "--json", "--db", db, config=cfg).stdout) == []


def test_every_queue_command_takes_json(small_queue, cfg):
    for args in (["queue"], ["show", "q-000"], ["next", "--as", "甲"], ["claim", "q-001", "--as", "甲"],
                 ["release", "q-001", "--as", "甲"], ["label", "q-001", "--urgency", "urgent"],
                 ["done", "q-001"], ["dismiss", "q-002", "--reason", "重复"], ["escalate", "q-003"],
                 ["history", "q-001"], ["why", "q-001"], ["units"], ["rescore", "--config-only"]):
        res = cli(*args, "--json", "--db", small_queue, config=cfg)
        assert res.exit_code == 0, (args, res.output)
        data = json.loads(res.stdout)
        if isinstance(data, dict) and args[0] not in ("units", "rescore"):
            assert "id" in data, args


def test_commands_other_than_process_do_not_create_a_queue(tmp_path, cfg):
    db = tmp_path / "typo.db"
    res = cli("queue", "--db", db, config=cfg)
    assert res.exit_code == 1 and res.stderr == f"Error: [E300] 队列数据库 {db} 不存在：先用 triage process 把报告放入队列\n"
    assert not db.exists()


def test_get_missing_item_raises(small_queue, cfg):
    with Queue(small_queue, load_config(cfg)) as q, pytest.raises(ItemNotFound):
        q.get("missing")


# ---------------------------------------------------------------- properties

@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.integers(min_value=2, max_value=40))
def test_clip_never_exceeds_the_columns(text, cols):
    out = clip(text, cols)
    assert width(out) <= cols
    assert out == text or out.endswith("…")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80))
def test_similarity_is_symmetric_and_bounded(a, b):
    sa, sb = route.shingles(a), route.shingles(b)
    assert route.jaccard(sa, sb) == route.jaccard(sb, sa)
    assert 0.0 <= route.jaccard(sa, sb) <= 1.0
    if sa:
        assert route.jaccard(sa, sa) == 1.0


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("县镇村火灾伤亡的了。，  aB1２"), max_size=60),
       st.text(alphabet=st.sampled_from("县镇村火灾伤亡的了。，  aB1２"), max_size=60), st.integers(1, 3))
def test_signature_similarity_equals_the_jaccard_of_the_shingle_sets(a, b, k):
    expected = route.jaccard(route.shingles(a, k), route.shingles(b, k))
    assert route.similarity(route.signature(a, k), route.signature(b, k)) == pytest.approx(expected, abs=1e-12)
    assert len(route.signature(a, k)) == len(route.shingles(a, k))


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=-1000, max_value=10000))
def test_waiting_part_is_bounded(hours):
    config = load_config()
    part = route.waiting_part(NOW - timedelta(hours=hours), NOW, config)
    assert 0.0 <= part.points <= config.priority.waiting_cap


def test_add_many_is_one_transaction_that_sees_its_own_batch(tmp_path, cfg):
    from pipeline.queue import Queue

    db = tmp_path / "q.db"
    with Queue(db, load_config(cfg)) as q:
        res = q.add_many([record(1), record(2), record(1), record(3, text="第2份报告的正文。")])
        assert [r.status for r in res] == ["new", "new", "exists", "exists"]
        assert res[3].id == "q-002"  # the same text already queued under another id
        # a batch that fails midway leaves nothing of itself behind
        bad = record(5)
        del bad["received_at"]
        with pytest.raises(KeyError):
            q.add_many([record(4), bad])
        assert q.add(record(4)).status == "new"
    assert _count(db) == 3
