"""The editors' queue: processed reports in SQLite, ranked, claimed, corrected and audited.

One SQLite file (WAL mode, so readers never wait for the writer). The schema is versioned
with ``PRAGMA user_version`` and migrated on open. Every write is one ``BEGIN IMMEDIATE``
transaction: writers queue up behind SQLite's lock, and when the lock is held longer than
``[queue] busy_timeout_seconds`` the call fails with ``QueueBusy`` and changes nothing.

Tables: ``items`` (one per report: the original text byte for byte, the cleaned text, facts,
signals, the model's prediction, the editor-corrected focus/urgency/flags, status and claim),
``events`` (threads of reports about one incident), ``labels`` (editors' corrections, beside
the prediction they correct) and ``history`` (the audit trail). ``labels`` and ``history``
are append-only: SQLite triggers refuse UPDATE and DELETE.

Statuses: ``open`` → ``claimed`` (by one editor, until ``[queue] claim_minutes`` pass) →
``done`` (adopted), ``dismissed`` or ``escalated``; an expired claim counts as open.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import os
import random
import re
import sqlite3
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from . import route
from .config import Config
from .errors import TriageError
from .labels import FLAGS, FOCUS, URGENCY


def _received_between(where: list[str], params: dict, since: datetime | None, until: datetime | None,
                      prefix: str = "") -> None:
    """Add the received-time bounds [since, until) to a WHERE list and its parameters."""
    if since:
        params["since"] = utc_text(since)
        where.append(f"{prefix}received_utc >= :since")
    if until:
        params["until"] = utc_text(until)
        where.append(f"{prefix}received_utc < :until")


class QueueError(TriageError):
    """The queue database cannot be opened or used."""

    code = "E300"


class QueueBusy(QueueError):
    """The database stayed locked by another process longer than busy_timeout_seconds."""

    code = "E301"


class ItemNotFound(QueueError):
    """No item with this id in the queue."""

    code = "E302"


class ClaimConflict(QueueError):
    """The item is claimed by another editor, or its status does not allow the change."""

    code = "E303"


class LabelError(QueueError):
    """A correction names a focus, urgency or flag outside the label set, or lacks a focus."""

    code = "E304"


STATUSES = ("open", "claimed", "done", "dismissed", "escalated")
STATUS_NAMES = {"open": "待处理", "claimed": "处理中", "done": "已采用", "dismissed": "不采用",
                "escalated": "已报领导"}
ACTION_NAMES = {"queued": "入队", "claim": "认领", "renew": "续期认领", "claim_expired": "认领过期",
                "release": "释放", "label": "更正标注", "done": "采用办结", "dismissed": "不采用",
                "escalated": "报送领导", "signal": "新增筛查信号", "rescore": "重新评分"}
# From which statuses each closing action may be taken.
TRANSITIONS = {"done": {"open", "claimed", "escalated"}, "dismissed": {"open", "claimed", "escalated"},
               "escalated": {"open", "claimed"}}
PREDICTION_KEYS = ("focus", "urgency", "focus_proba", "urgency_proba", "urgency_reasons", "needs_review",
                   "review_reasons", "model_version")
# Record keys stored in their own columns; the rest of a record goes to ``extra``.
COLUMN_KEYS = {"id", "source", "unit", "title", "received_at", "text", "original", "facts", "severity",
               "signals", "flags", "event", "priority", "tokens"} | set(PREDICTION_KEYS)
CORPUS_FACT_KEYS = ("event_time", "dead", "injured", "missing", "place")
THREAD_TEXTS = 10  # the latest reports of an event compared with a new one

MIGRATIONS: list[list[str]] = [
    [  # 1: the first schema
        """CREATE TABLE events (
            id TEXT PRIMARY KEY,
            focus TEXT,
            place TEXT,
            places TEXT NOT NULL,
            first_utc TEXT NOT NULL,
            last_utc TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
            created_at TEXT NOT NULL)""",
        "CREATE INDEX events_open ON events (status, focus, last_utc)",
        """CREATE TABLE items (
            id TEXT PRIMARY KEY,
            content_hash TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL DEFAULT '',
            unit TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            received_at TEXT NOT NULL,
            received_utc TEXT NOT NULL,
            queued_at TEXT NOT NULL,
            original BLOB NOT NULL,
            text TEXT NOT NULL,
            facts TEXT NOT NULL,
            severity TEXT NOT NULL,
            signals TEXT NOT NULL,
            prediction TEXT NOT NULL,
            extra TEXT NOT NULL,
            focus TEXT,
            urgency TEXT NOT NULL,
            flags TEXT NOT NULL,
            model_version TEXT,
            delay_minutes REAL,
            event_id TEXT REFERENCES events (id),
            base_priority REAL NOT NULL,
            priority_parts TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'claimed', 'done', 'dismissed', 'escalated')),
            claimed_by TEXT,
            claim_expires TEXT,
            updated_at TEXT NOT NULL)""",
        "CREATE INDEX items_status ON items (status, base_priority DESC)",
        "CREATE INDEX items_event ON items (event_id, received_utc)",
        "CREATE INDEX items_unit ON items (unit, received_utc)",
        """CREATE TABLE labels (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            item_id TEXT NOT NULL REFERENCES items (id),
            editor TEXT NOT NULL,
            at TEXT NOT NULL,
            focus TEXT,
            urgency TEXT,
            flags TEXT,
            predicted TEXT NOT NULL,
            note TEXT)""",
        "CREATE INDEX labels_item ON labels (item_id, seq)",
        """CREATE TABLE history (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            item_id TEXT NOT NULL REFERENCES items (id),
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}')""",
        "CREATE INDEX history_item ON history (item_id, seq)",
        """CREATE TRIGGER history_no_update BEFORE UPDATE ON history
           BEGIN SELECT RAISE(ABORT, 'history is append-only'); END""",
        """CREATE TRIGGER history_no_delete BEFORE DELETE ON history
           BEGIN SELECT RAISE(ABORT, 'history is append-only'); END""",
        """CREATE TRIGGER labels_no_update BEFORE UPDATE ON labels
           BEGIN SELECT RAISE(ABORT, 'labels are append-only'); END""",
        """CREATE TRIGGER labels_no_delete BEFORE DELETE ON labels
           BEGIN SELECT RAISE(ABORT, 'labels are append-only'); END""",
    ],
    [  # 2: the open events a new report may join are found in the index alone (both window bounds)
        "CREATE INDEX events_window ON events (status, focus, last_utc, first_utc)",
        "DROP INDEX events_open",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)

# The priority of an item now: its stored base plus the waiting part, computed in SQL so the
# ranking is always current (the same formula as route.waiting_part).
_PRIORITY = ("(i.base_priority + MIN(:cap, MAX(0.0, :rate * 24.0 * "
             "(julianday(:now) - julianday(i.received_utc)))))")
_EXPIRED = "(i.status = 'claimed' AND i.claim_expires <= :now)"
_STATUS = f"(CASE WHEN {_EXPIRED} THEN 'open' ELSE i.status END)"


@dataclass
class AddResult:
    """What ``Queue.add`` did: ``new``, ``exists`` (same id or same content already queued;
    ``id`` is the queued one) or ``conflict`` (the id is queued with a different text)."""

    status: str
    id: str
    event: str | None
    priority: float | None


def utc_text(dt: datetime) -> str:
    """The UTC form stored in the database: sortable and understood by SQLite's julianday."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def from_utc_text(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)


def content_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def parse_time_arg(value: str, config: Config, now: datetime, end_of_day: bool = False) -> datetime:
    """A --since/--until value: ``24h`` / ``7d`` (before now), a date (``2026-11-20``; with
    ``end_of_day``, the end of that day) or a date and time, in the configured time zone
    unless an offset is given."""
    value = value.strip()
    m = re.fullmatch(r"(\d+)\s*([hd])", value)
    if m:
        n = int(m.group(1))
        return now - (timedelta(hours=n) if m.group(2) == "h" else timedelta(days=n))
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"无法识别的时间“{value}”：请用 2026-11-20、2026-11-20 08:00、24h 或 7d") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(config.ingest.timezone))
    if end_of_day and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        dt += timedelta(days=1)
    return dt


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


def _loads(s):
    return json.loads(s) if s else None


# json.dumps(x, ensure_ascii=False) builds a new encoder on every call; this one is shared.
_dumps = json.JSONEncoder(ensure_ascii=False).encode


@functools.lru_cache(maxsize=4096)
def _places(stored: str) -> tuple[str, ...]:
    """An event's stored place list, parsed (read for every candidate event of every report)."""
    return tuple(json.loads(stored))


class _Thread:
    """What the queue keeps in memory about one event between inserts (see ``ThreadCache``)."""

    __slots__ = ("recent", "members", "members_bytes", "size")

    def __init__(self):
        # [(received_utc, rowid), thread text or its signature] of the latest reports, latest first
        self.recent: list | None = None
        # (received_utc, id, received_at, casualty facts) of every report, in thread order; set
        # once every adjacent pair was compared for rising casualties
        self.members: list | None = None
        self.members_bytes = 0
        self.size = 0

    def add_member(self, i: int, member: tuple) -> None:
        self.members.insert(i, member)
        self.members_bytes += 300 + (0 if member[3] is None else 400 + 300 * len(member[3]["evidence"]))


class ThreadCache:
    """The event threads a process has recently linked reports to: the thread texts (as
    signatures once compared) of each event's latest reports and the casualty facts of all
    its reports. It saves re-reading and re-shingling those texts, and re-comparing every
    adjacent pair of the thread, on each new report.

    It is only a cache: an event not in it is read from the database. It is valid while no
    other connection has committed (``PRAGMA data_version``) and this one made no other write
    (a rescore may change facts); otherwise it is dropped. Its size is bounded in bytes,
    least recently used events going first."""

    def __init__(self, max_bytes: int = 40 << 20):
        self.max_bytes = max_bytes
        self.version: int | None = None  # data_version while valid
        self._events: "OrderedDict[str, _Thread]" = OrderedDict()
        self._bytes = 0

    def begin(self, version: int) -> None:
        """Start a write transaction that sees ``version``; drop everything if stale."""
        if version != self.version:
            self.clear()
        self.version = None  # invalid until the transaction commits

    def clear(self) -> None:
        self._events.clear()
        self._bytes = 0
        self.version = None

    def get(self, event_id: str) -> _Thread:
        th = self._events.get(event_id)
        if th is None:
            th = self._events[event_id] = _Thread()
        else:
            self._events.move_to_end(event_id)
        return th

    def resize(self, event_id: str, th: _Thread) -> None:
        """Account for a change in what ``th`` holds, then evict down to the budget."""
        if self._events.get(event_id) is not th:
            return  # evicted meanwhile
        size = 200 + th.members_bytes
        for _, sig in th.recent or ():
            size += 2 * len(sig) + 100 if isinstance(sig, str) else sig.nbytes + 200
        self._bytes += size - th.size
        th.size = size
        while self._bytes > self.max_bytes and len(self._events) > 1:
            _, old = self._events.popitem(last=False)
            self._bytes -= old.size


class Queue:
    """The editors' queue in one SQLite file. Not shared between threads; open one per process
    (or per thread): SQLite serialises the writers."""

    def __init__(self, db_path: str | os.PathLike, config: Config,
                 clock: Callable[[], datetime] | None = None, create: bool = True):
        self.path = Path(db_path)
        self.config = config
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.tz = ZoneInfo(config.ingest.timezone)
        if not create and not self.path.exists():
            raise QueueError(f"队列数据库 {self.path} 不存在：先用 triage process 把报告放入队列")
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=config.queue.busy_timeout_seconds,
                                         isolation_level=None)
        except sqlite3.Error as exc:
            raise QueueError(f"无法打开队列数据库 {self.path}：{exc}") from None
        self._conn.row_factory = sqlite3.Row
        self._threads = ThreadCache()
        try:
            self._retry(lambda: self._conn.execute("PRAGMA journal_mode = WAL").fetchone())
            self._conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable across process crashes
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    # ------------------------------------------------------------ plumbing
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Queue":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _retry(self, fn):
        """Run ``fn``; while the database is locked, retry until busy_timeout_seconds pass."""
        timeout = float(self.config.queue.busy_timeout_seconds)
        deadline = time.monotonic() + timeout
        pause = 0.005
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            self._conn.execute(f"PRAGMA busy_timeout = {int(remaining * 1000)}")
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise QueueError(f"队列数据库 {self.path} 出错：{exc}") from None
                if time.monotonic() >= deadline:
                    raise QueueBusy(f"队列数据库 {self.path} 被其他进程锁定，等待 {timeout:g} 秒后仍未释放，"
                                    f"未做任何修改；请稍后重试（等待时间见 [queue] busy_timeout_seconds）") from None
                time.sleep(min(pause * (1 + random.random()), max(0.0, deadline - time.monotonic())))
                pause = min(pause * 2, 0.1)
            except sqlite3.DatabaseError as exc:
                raise QueueError(f"队列数据库 {self.path} 无法使用：{exc}") from None

    def _tx(self, fn, write: bool = True, keeps_threads: bool = False):
        """Run ``fn(conn)`` in one transaction (``BEGIN IMMEDIATE`` for writes), retried as a
        whole while the database is locked; rolled back on any error. A write drops the
        thread cache unless ``keeps_threads`` (the adding path, which keeps it current)."""
        if write and not keeps_threads:
            self._threads.clear()

        def attempt():
            self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = fn(self._conn)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            return result
        return self._retry(attempt)

    def _migrate(self) -> None:
        def version(c):
            return c.execute("PRAGMA user_version").fetchone()[0]

        found = self._tx(version, write=False)
        if found > SCHEMA_VERSION:
            raise QueueError(f"队列数据库 {self.path} 的版本（{found}）比本程序支持的（{SCHEMA_VERSION}）新，请升级 triage")
        if found == SCHEMA_VERSION:
            return

        def migrate(c):
            for v in range(version(c), SCHEMA_VERSION):  # re-read under the write lock
                for stmt in MIGRATIONS[v]:
                    c.execute(stmt)
                c.execute(f"PRAGMA user_version = {v + 1}")
        self._tx(migrate)

    def _now(self) -> datetime:
        return self.clock().astimezone(timezone.utc).replace(microsecond=0)

    def _params(self, now: datetime) -> dict:
        pc = self.config.priority
        return {"now": utc_text(now), "cap": float(pc.waiting_cap), "rate": float(pc.waiting_per_hour)}

    def local(self, utc: str | None) -> str | None:
        """A stored UTC time as ISO 8601 in the configured time zone."""
        return from_utc_text(utc).astimezone(self.tz).isoformat(timespec="seconds") if utc else None

    @staticmethod
    def _log(c, item_id: str, at: str, actor: str, action: str, detail: dict | None = None) -> None:
        c.execute("INSERT INTO history (item_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
                  (item_id, at, actor, action, _dumps(detail or {})))

    @staticmethod
    def _row(c, item_id: str) -> sqlite3.Row:
        row = c.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            raise ItemNotFound(f"队列中没有编号为 {item_id} 的信息")
        return row

    def _received(self, iso: str) -> datetime:
        dt = datetime.fromisoformat(iso)
        return dt if dt.tzinfo else dt.replace(tzinfo=self.tz)

    # ------------------------------------------------------------ adding
    def add(self, item) -> AddResult:
        """Put one processed report (a ``Processed`` or its record dict) in the queue, once.

        Idempotent: a report whose id or cleaned text is already queued is not added again
        (``exists``). A new report is linked to its event thread in the same transaction."""
        return self.add_many([item])[0]

    def add_many(self, items) -> list[AddResult]:
        """``add`` for a batch, in one transaction: all of the batch is queued or none of it
        (a crash mid-batch leaves nothing half-done, and rerunning adds what is missing)."""
        if not items:
            return []
        now = self._now()
        seen: list[int] = []

        def tx(c):
            version = c.execute("PRAGMA data_version").fetchone()[0]
            self._threads.begin(version)
            results = [self._add_one(c, item, now) for item in items]
            seen.append(version)
            return results
        results = self._tx(tx, keeps_threads=True)
        self._threads.version = seen[-1]  # committed: the cache matches the database
        return results

    def _add_one(self, c, item, now: datetime) -> AddResult:
        rec = dict(getattr(item, "record", item))
        received = self._received(rec["received_at"])
        chash = content_hash(rec["text"])
        prediction = {k: rec.get(k) for k in PREDICTION_KEYS}
        prediction["flags"] = list(rec.get("flags") or [])
        parts = route.base_parts(rec, self.config)
        base = route.score(parts)
        priority = round(base + route.waiting_part(received, now, self.config).points, 1)
        extra = {k: v for k, v in rec.items() if k not in COLUMN_KEYS}
        if rec.get("event"):
            extra["event_given"] = rec["event"]
        original = (rec.get("original") if rec.get("original") is not None else rec["text"])

        rows = c.execute("SELECT id, content_hash, event_id, base_priority, received_utc FROM items "
                         "WHERE id = ? OR content_hash = ?", (rec["id"], chash)).fetchall()
        if rows:
            return self._existing(rows, rec["id"], chash, now)
        at, queued = utc_text(received), utc_text(now)
        received_at = received.isoformat(timespec="seconds")
        title = rec.get("title") or ""
        event_id, similarity, mine = self._link(c, rec, received, at, now)
        facts = rec.get("facts") or {}
        cur = c.execute(
            """INSERT INTO items (id, content_hash, source, unit, title, received_at, received_utc, queued_at,
                   original, text, facts, severity, signals, prediction, extra, focus, urgency, flags,
                   model_version, delay_minutes, event_id, base_priority, priority_parts, status, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)
               ON CONFLICT DO NOTHING""",
            (rec["id"], chash, rec.get("source") or "", rec.get("unit") or "", title,
             received_at, at, queued, original.encode("utf-8", "surrogatepass"), rec["text"],
             _dumps(facts), _dumps(rec.get("severity") or {"grade": None, "reasons": []}),
             _dumps(rec.get("signals") or []), _dumps(prediction), _dumps(extra),
             rec.get("focus"), rec.get("urgency") or "routine",
             _dumps(prediction["flags"]), rec.get("model_version"),
             route.report_delay_minutes(rec), event_id, base,
             _dumps([p.to_dict() for p in parts]), queued))
        if cur.rowcount == 0:  # cannot happen under the write lock; kept as a guard
            return AddResult("exists", rec["id"], event_id, None)
        detail = {"event": event_id, "priority": priority, "model_version": rec.get("model_version")}
        if similarity is not None:
            detail["similarity"] = round(similarity, 3)
        self._log(c, rec["id"], queued, "system", "queued", detail)
        # The thread text compared with later reports is the stored one (title as stored).
        text = f"{title}\n{rec['text']}"
        if mine is None or text != f"{rec.get('title', '')}\n{rec.get('text', '')}":
            mine = text  # shingled when first compared
        self._joined(event_id, (at, cur.lastrowid), mine)
        self._thread_signals(c, event_id, (at, rec["id"], received_at, route.casualty_facts(facts)), now)
        return AddResult("new", rec["id"], event_id, priority)

    def _existing(self, rows, rid: str, chash: str, now: datetime) -> AddResult:
        same_id = next((r for r in rows if r["id"] == rid), None)
        row = same_id or rows[0]
        if same_id is not None and same_id["content_hash"] != chash:
            return AddResult("conflict", rid, same_id["event_id"], None)
        waiting = route.waiting_part(from_utc_text(row["received_utc"]), now, self.config).points
        return AddResult("exists", row["id"], row["event_id"], round(row["base_priority"] + waiting, 1))

    def _link(self, c, rec: dict, received: datetime, at: str, now: datetime):
        """The event this report belongs to (joined, or opened for it), the similarity, and the
        report's thread signature when it was computed."""
        facts = rec.get("facts") or {}
        place, places = route.places_of(facts)
        final = route.is_final(rec.get("title", ""), rec.get("text", ""))
        event_id, similarity, mine = rec.get("event"), None, None
        if not event_id and places:
            window = timedelta(hours=self.config.queue.thread_window_hours)
            # In the order of the first schema's index, (last_utc, rowid): the first of equals wins.
            rows = c.execute("SELECT id, place, places, last_utc FROM events WHERE status = 'open' AND focus IS ? "
                             "AND last_utc >= ? AND first_utc <= ? ORDER BY last_utc, rowid",
                             (rec.get("focus"), utc_text(received - window), utc_text(received + window))).fetchall()
            candidates = []
            for r in rows:
                theirs = _places(r["places"])
                if route.places_overlap(place, places, r["place"], theirs):
                    candidates.append(route.Candidate(r["id"], r["place"], list(theirs),
                                                      self._recent_signatures(c, r["id"]), r["last_utc"]))
            if candidates:
                mine = route.compact_signature(f"{rec.get('title', '')}\n{rec.get('text', '')}")
                chosen = route.choose_event(rec, candidates, self.config, mine)
                if chosen:
                    event_id, similarity = chosen
        if not event_id:
            event_id = f"ev-{rec['id']}"
        row = c.execute("SELECT places, first_utc, last_utc FROM events WHERE id = ?", (event_id,)).fetchone()
        if row is None:
            c.execute("INSERT INTO events (id, focus, place, places, first_utc, last_utc, status, created_at) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      (event_id, rec.get("focus"), place, _dumps(places), at, at,
                       "closed" if final else "open", utc_text(now)))
            th = self._threads.get(event_id)  # a new event: nothing of it can be stale
            th.recent, th.members = [], []
        else:
            merged = list(dict.fromkeys(json.loads(row["places"]) + places))
            c.execute("UPDATE events SET places = ?, first_utc = MIN(first_utc, ?), last_utc = MAX(last_utc, ?), "
                      "status = CASE WHEN ? THEN 'closed' ELSE status END WHERE id = ?",
                      (_dumps(merged), at, at, final, event_id))
        return event_id, similarity, mine

    def _recent_signatures(self, c, event_id: str) -> list:
        """The signatures of the thread texts of the event's latest ``THREAD_TEXTS`` reports."""
        th = self._threads.get(event_id)
        if th.recent is None:
            # The order an index scan of items_event gives: received_utc, then rowid, latest first.
            th.recent = [[(r[0], r[1]), f"{r[2]}\n{r[3]}"] for r in c.execute(
                "SELECT received_utc, rowid, title, text FROM items WHERE event_id = ? "
                "ORDER BY received_utc DESC, rowid DESC LIMIT ?", (event_id, THREAD_TEXTS))]
        changed = False
        for entry in th.recent:
            if isinstance(entry[1], str):
                entry[1] = route.compact_signature(entry[1])
                changed = True
        if changed:
            self._threads.resize(event_id, th)
        return [sig for _, sig in th.recent]

    def _joined(self, event_id: str, key: tuple, text_or_signature) -> None:
        """Keep the cached latest reports of an event current after a report joined it."""
        th = self._threads.get(event_id)
        if th.recent is None:
            return  # read from the database when first needed
        th.recent.append([key, text_or_signature])
        th.recent.sort(key=lambda e: e[0], reverse=True)
        del th.recent[THREAD_TEXTS:]
        self._threads.resize(event_id, th)

    def _thread_signals(self, c, event_id: str, new: tuple, now: datetime) -> None:
        """Give each report of the thread whose casualty counts the next report raises a
        ``concealment.thread_rising`` signal (once).

        ``new`` is the report just added: (received_utc, id, received_at, casualty facts).
        The first time in a cache's life, every adjacent pair of the thread is compared (an
        earlier process or a rescore may have left pairs unchecked); after that only the two
        pairs the new report forms, since no other pair changed."""
        th = self._threads.get(event_id)
        if th.members is None:
            rows = c.execute("SELECT id, received_at, received_utc, facts, signals FROM items "
                             "WHERE event_id = ? ORDER BY received_utc, id", (event_id,)).fetchall()
            th.members = []
            for r in rows:
                th.add_member(len(th.members), (r["received_utc"], r["id"], r["received_at"],
                                                route.casualty_facts(json.loads(r["facts"]))))
            for (a, b), row in zip(zip(th.members, th.members[1:]), rows):
                self._rising(c, a, b, now, row["signals"])
        else:
            i = bisect.bisect(th.members, new[:2], key=lambda m: m[:2])
            if i:
                self._rising(c, th.members[i - 1], new, now)
            if i < len(th.members):
                self._rising(c, new, th.members[i], now)
            th.add_member(i, new)
        self._threads.resize(event_id, th)

    def _rising(self, c, earlier: tuple, later: tuple, now: datetime, earlier_signals: str | None = None) -> None:
        """Add the rising-casualty signals the later report (a thread member tuple) gives the
        earlier one, if new."""
        if earlier[3] is None or later[3] is None:
            return
        earlier_id, later_id = earlier[1], later[1]
        when = self._received(later[2]).astimezone(self.tz).strftime("%m月%d日%H:%M")
        found = route.rising_casualties({"facts": earlier[3]}, {"id": later_id, "facts": later[3]}, when)
        if not found:
            return
        if earlier_signals is None:
            earlier_signals = c.execute("SELECT signals FROM items WHERE id = ?", (earlier_id,)).fetchone()[0]
        have = json.loads(earlier_signals)
        new = [s for s in found if s not in have]
        if not new:
            return
        row = self._row(c, earlier_id)
        pred = json.loads(row["prediction"])
        if "concealment" not in pred["flags"]:
            pred["flags"] = route_flag_order(pred["flags"] + ["concealment"])
        c.execute("UPDATE items SET signals = ?, prediction = ? WHERE id = ?",
                  (json.dumps(have + new, ensure_ascii=False), json.dumps(pred, ensure_ascii=False), earlier_id))
        self._refresh(c, earlier_id, now)
        for s in new:
            self._log(c, earlier_id, utc_text(now), "system", "signal",
                      {"rule": s["rule"], "message": s["message"], "by": later_id})

    def _corrections(self, c, item_id: str) -> dict:
        """The editors' corrections of an item: per field, the latest one given."""
        out: dict = {}
        for r in c.execute("SELECT focus, urgency, flags FROM labels WHERE item_id = ? ORDER BY seq", (item_id,)):
            for key in ("focus", "urgency"):
                if r[key] is not None:
                    out[key] = r[key]
            if r["flags"] is not None:
                out["flags"] = json.loads(r["flags"])
        return out

    def _refresh(self, c, item_id: str, now: datetime) -> tuple[float, float]:
        """Recompute the item's effective focus/urgency/flags (correction, else prediction)
        and its base priority. Returns the old and new base priority."""
        row = self._row(c, item_id)
        pred = json.loads(row["prediction"])
        corr = self._corrections(c, item_id)
        view = {**pred, "focus": corr.get("focus", pred.get("focus")),
                "urgency": corr.get("urgency", pred.get("urgency") or "routine"),
                "flags": corr.get("flags", pred.get("flags") or []),
                "severity": json.loads(row["severity"]), "title": row["title"], "text": row["text"]}
        parts = route.base_parts(view, self.config, corrected_urgency="urgency" in corr)
        base = route.score(parts)
        c.execute("UPDATE items SET focus = ?, urgency = ?, flags = ?, base_priority = ?, priority_parts = ?, "
                  "updated_at = ? WHERE id = ?",
                  (view["focus"], view["urgency"], json.dumps(view["flags"], ensure_ascii=False), base,
                   json.dumps([p.to_dict() for p in parts], ensure_ascii=False), utc_text(now), item_id))
        return row["base_priority"], base

    # ------------------------------------------------------------ reading
    def _summary(self, row: sqlite3.Row) -> dict:
        return {"id": row["id"], "priority": round(row["priority"], 1), "status": row["eff_status"],
                "claimed_by": row["claimed_by"] if row["eff_status"] == "claimed" else None,
                "urgency": row["urgency"], "focus": row["focus"], "flags": json.loads(row["flags"]),
                "unit": row["unit"], "received_at": row["received_at"], "title": row["title"],
                "event": row["event_id"], "severity": json.loads(row["severity"]).get("grade"),
                "needs_review": bool(json.loads(row["prediction"]).get("needs_review"))}

    def list(self, status: Iterable[str] = ("open", "claimed"), focus: Iterable[str] = (),
             urgency: Iterable[str] = (), flag: Iterable[str] = (), unit: str | None = None,
             since: datetime | None = None, until: datetime | None = None, limit: int = 50) -> list[dict]:
        """Items ranked by priority now (highest first; then the earliest received). Filters:
        any of the given values within an option, every option applies; ``unit`` matches a
        part of the unit name; ``limit`` 0 for all. Each item carries its ``rank``."""
        now = self._now()
        params = self._params(now)
        where = []

        def any_of(expr: str, values, name: str):
            values = list(values)
            if values:
                keys = [f"{name}{i}" for i in range(len(values))]
                params.update(zip(keys, values))
                where.append(f"{expr} IN ({', '.join(':' + k for k in keys)})")

        any_of(_STATUS, status, "st")
        any_of("i.focus", focus, "fo")
        any_of("i.urgency", urgency, "ur")
        flags = list(flag)
        if flags:
            keys = [f"fl{i}" for i in range(len(flags))]
            params.update(zip(keys, flags))
            where.append(f"EXISTS (SELECT 1 FROM json_each(i.flags) WHERE value IN ({', '.join(':' + k for k in keys)}))")
        if unit:
            params["unit"] = f"%{unit.replace('!', '!!').replace('%', '!%').replace('_', '!_')}%"
            where.append("i.unit LIKE :unit ESCAPE '!'")
        _received_between(where, params, since, until, "i.")
        sql = (f"SELECT i.*, {_PRIORITY} AS priority, {_STATUS} AS eff_status FROM items i "
               f"{'WHERE ' + ' AND '.join(where) if where else ''} "
               f"ORDER BY priority DESC, i.received_utc, i.id {'LIMIT :limit' if limit else ''}")
        params["limit"] = limit
        rows = self._tx(lambda c: c.execute(sql, params).fetchall(), write=False)
        return [{"rank": n, **self._summary(r)} for n, r in enumerate(rows, 1)]

    def get(self, item_id: str) -> dict:
        """Everything about one item: the record, status, priority parts (waiting computed
        now), the editors' corrections, the event thread and the history."""
        now = self._now()

        def read(c):
            row = c.execute(f"SELECT i.*, {_PRIORITY} AS priority, {_STATUS} AS eff_status FROM items i "
                            "WHERE i.id = :id", {**self._params(now), "id": item_id}).fetchone()
            if row is None:
                raise ItemNotFound(f"队列中没有编号为 {item_id} 的信息")
            labels = [dict(r) for r in c.execute("SELECT editor, at, focus, urgency, flags, predicted, note "
                                                 "FROM labels WHERE item_id = ? ORDER BY seq", (item_id,))]
            history = self._history(c, item_id)
            thread = self._thread(c, row["event_id"]) if row["event_id"] else None
            return row, labels, history, thread
        row, labels, history, thread = self._tx(read, write=False)
        pred = json.loads(row["prediction"])
        parts = [route.Part(p["part"], p["points"], p["reason"]) for p in json.loads(row["priority_parts"])]
        parts.append(route.waiting_part(from_utc_text(row["received_utc"]), now, self.config))
        for lab in labels:
            lab["at"] = self.local(lab["at"])
            lab["flags"] = _loads(lab["flags"])
            lab["predicted"] = json.loads(lab["predicted"])
        out = self._summary(row)
        extra = json.loads(row["extra"])
        out.update({
            "claim_expires": self.local(row["claim_expires"]) if out["claimed_by"] else None,
            "source": row["source"], "queued_at": self.local(row["queued_at"]),
            "text": row["text"], "original": row["original"].decode("utf-8", "surrogatepass"),
            "facts": json.loads(row["facts"]), "severity": json.loads(row["severity"]),
            "signals": json.loads(row["signals"]), "prediction": pred, "model_version": row["model_version"],
            "parts": [p.to_dict() for p in parts], "labels": labels, "thread": thread, "history": history,
            **{k: extra[k] for k in ("signer", "event_given", "received_at_from") if k in extra},
        })
        out["priority"] = round(route.score(parts), 1)
        return out

    def why(self, item_id: str) -> dict:
        """The priority of an item now, part by part."""
        item = self.get(item_id)
        return {"id": item["id"], "priority": item["priority"], "status": item["status"], "parts": item["parts"]}

    def _thread(self, c, event_id: str) -> dict:
        ev = c.execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()
        rows = c.execute(f"SELECT i.id, i.title, i.text, i.received_at, i.facts, i.severity, i.status, "
                         f"i.claim_expires, {_STATUS} AS eff_status FROM items i WHERE i.event_id = :ev "
                         f"ORDER BY i.received_utc, i.id", {"ev": event_id, "now": utc_text(self._now())}).fetchall()
        members, before = [], None
        for n, r in enumerate(rows):
            facts = json.loads(r["facts"])
            counts = {k: facts.get(k) for k in ("dead", "injured", "missing", "trapped")}
            grade = json.loads(r["severity"]).get("grade")
            changes = {}
            if before is not None:
                for k, v in counts.items():
                    if v != before["counts"][k] and not (v is None and before["counts"][k] is None):
                        changes[k] = [before["counts"][k], v]
                if grade != before["grade"]:
                    changes["grade"] = [before["grade"], grade]
            members.append({"id": r["id"], "stage": route.stage(r["title"], r["text"], n == 0),
                            "received_at": r["received_at"], "title": r["title"], "status": r["eff_status"],
                            **counts, "grade": grade, "changes": changes})
            before = {"counts": counts, "grade": grade}
        return {"id": event_id, "status": ev["status"] if ev else "open", "place": ev["place"] if ev else None,
                "reports": members}

    def _history(self, c, item_id: str) -> list[dict]:
        return [{"seq": r["seq"], "at": self.local(r["at"]), "actor": r["actor"], "action": r["action"],
                 "detail": json.loads(r["detail"])}
                for r in c.execute("SELECT * FROM history WHERE item_id = ? ORDER BY seq", (item_id,))]

    def history(self, item_id: str) -> list[dict]:
        """The audit trail of one item, oldest first."""
        def read(c):
            self._row(c, item_id)
            return self._history(c, item_id)
        return self._tx(read, write=False)

    def count(self) -> int:
        return self._tx(lambda c: c.execute("SELECT COUNT(*) FROM items").fetchone()[0], write=False)

    # ------------------------------------------------------------ claims and status
    def _claim_row(self, c, row: sqlite3.Row, editor: str, now: datetime) -> None:
        at = utc_text(now)
        expired = row["status"] == "claimed" and row["claim_expires"] <= at
        if expired:
            self._log(c, row["id"], at, "system", "claim_expired", {"claimed_by": row["claimed_by"]})
        renew = row["status"] == "claimed" and not expired and row["claimed_by"] == editor
        expires = utc_text(now + timedelta(minutes=self.config.queue.claim_minutes))
        c.execute("UPDATE items SET status = 'claimed', claimed_by = ?, claim_expires = ?, updated_at = ? "
                  "WHERE id = ?", (editor, expires, at, row["id"]))
        self._log(c, row["id"], at, editor, "renew" if renew else "claim", {"expires": self.local(expires)})

    def next(self, editor: str) -> dict | None:
        """Atomically claim the highest-priority open item for ``editor`` (None when nothing is open)."""
        now = self._now()

        def tx(c):
            row = c.execute(f"SELECT i.* FROM items i WHERE i.status = 'open' OR {_EXPIRED} "
                            f"ORDER BY {_PRIORITY} DESC, i.received_utc, i.id LIMIT 1", self._params(now)).fetchone()
            if row is None:
                return None
            self._claim_row(c, row, editor, now)
            return row["id"]
        item_id = self._tx(tx)
        return self.get(item_id) if item_id else None

    def _check_claim(self, row: sqlite3.Row, editor: str, now: datetime) -> None:
        if (row["status"] == "claimed" and row["claimed_by"] != editor
                and row["claim_expires"] > utc_text(now)):
            raise ClaimConflict(f"{row['id']} 已由 {row['claimed_by']} 认领，"
                                f"至 {self.local(row['claim_expires'])[:16].replace('T', ' ')} 到期")

    def claim(self, item_id: str, editor: str) -> dict:
        """Claim one item for ``editor`` (or renew the editor's own claim)."""
        now = self._now()

        def tx(c):
            row = self._row(c, item_id)
            self._check_claim(row, editor, now)
            if row["status"] not in ("open", "claimed"):
                raise ClaimConflict(f"{item_id} 状态为“{STATUS_NAMES[row['status']]}”，不能认领")
            self._claim_row(c, row, editor, now)
        self._tx(tx)
        return self.get(item_id)

    def release(self, item_id: str, editor: str) -> dict:
        """Give a claimed item back to the queue (only its claimer may, unless the claim expired)."""
        now = self._now()

        def tx(c):
            row = self._row(c, item_id)
            if row["status"] != "claimed":
                raise ClaimConflict(f"{item_id} 未被认领（状态为“{STATUS_NAMES[row['status']]}”）")
            self._check_claim(row, editor, now)
            c.execute("UPDATE items SET status = 'open', claimed_by = NULL, claim_expires = NULL, updated_at = ? "
                      "WHERE id = ?", (utc_text(now), item_id))
            self._log(c, item_id, utc_text(now), editor, "release", {"claimed_by": row["claimed_by"]})
        self._tx(tx)
        return self.get(item_id)

    def _close(self, item_id: str, editor: str, status: str, detail: dict) -> dict:
        now = self._now()

        def tx(c):
            row = self._row(c, item_id)
            self._check_claim(row, editor, now)
            if row["status"] not in TRANSITIONS[status]:
                raise ClaimConflict(f"{item_id} 状态为“{STATUS_NAMES[row['status']]}”，"
                                    f"不能改为“{STATUS_NAMES[status]}”")
            c.execute("UPDATE items SET status = ?, claimed_by = NULL, claim_expires = NULL, updated_at = ? "
                      "WHERE id = ?", (status, utc_text(now), item_id))
            self._log(c, item_id, utc_text(now), editor, status, {"from": row["status"], **detail})
        self._tx(tx)
        return self.get(item_id)

    def done(self, item_id: str, editor: str, note: str | None = None) -> dict:
        """The item is adopted (采用) and finished."""
        return self._close(item_id, editor, "done", {"note": note} if note else {})

    def dismiss(self, item_id: str, editor: str, reason: str) -> dict:
        """The item is not adopted; the reason is required."""
        if not (reason or "").strip():
            raise LabelError("不采用须说明理由（--reason）")
        return self._close(item_id, editor, "dismissed", {"reason": reason})

    def escalate(self, item_id: str, editor: str, note: str | None = None) -> dict:
        """The item goes to the leadership (报送领导)."""
        return self._close(item_id, editor, "escalated", {"note": note} if note else {})

    # ------------------------------------------------------------ labels
    def label(self, item_id: str, editor: str, focus: str | None = None, urgency: str | None = None,
              flags: list[str] | None = None, note: str | None = None) -> dict:
        """Record an editor's correction beside the model's prediction. Fields left None keep
        the earlier correction or the prediction; with none given, the prediction is confirmed.
        Returns the labels in effect."""
        if focus is not None and focus not in FOCUS:
            raise LabelError(f"领域 {focus} 不在标签集中（{', '.join(FOCUS)}）")
        if urgency is not None and urgency not in URGENCY:
            raise LabelError(f"紧急程度 {urgency} 不在标签集中（{', '.join(URGENCY)}）")
        if flags is not None:
            bad = [f for f in flags if f not in FLAGS]
            if bad:
                raise LabelError(f"标记 {', '.join(bad)} 不在标签集中（{', '.join(FLAGS)}）")
            flags = [f for f in FLAGS if f in flags]
        now = self._now()

        def tx(c):
            row = self._row(c, item_id)
            pred = json.loads(row["prediction"])
            corr = self._corrections(c, item_id)
            if focus is None and corr.get("focus", pred.get("focus")) is None:
                raise LabelError(f"{item_id} 没有模型预测的领域，请用 --focus 给出")
            predicted = {"focus": pred.get("focus"), "urgency": pred.get("urgency"), "flags": pred.get("flags")}
            c.execute("INSERT INTO labels (item_id, editor, at, focus, urgency, flags, predicted, note) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      (item_id, editor, utc_text(now), focus, urgency,
                       json.dumps(flags) if flags is not None else None,
                       json.dumps(predicted, ensure_ascii=False), note))
            given = {k: v for k, v in (("focus", focus), ("urgency", urgency), ("flags", flags)) if v is not None}
            self._log(c, item_id, utc_text(now), editor, "label",
                      {**given, "predicted": predicted, **({"note": note} if note else {})})
            self._refresh(c, item_id, now)
            r = self._row(c, item_id)
            return {"id": item_id, "editor": editor, "given": given, "predicted": predicted,
                    "focus": r["focus"], "urgency": r["urgency"], "flags": json.loads(r["flags"])}
        return self._tx(tx)

    def labeled_history(self) -> list[dict]:
        """Every item an editor labeled, in the corpus record format (id, unit, received_at,
        title, text, focus, urgency, flags; ``event`` when its thread has two or more reports;
        the extracted ``facts`` for flash and urgent reports, as the corpus requires), with the
        editor's correction where given and the prediction elsewhere. Oldest first."""
        def read(c):
            return c.execute(
                "SELECT i.*, (SELECT COUNT(*) FROM items j WHERE j.event_id = i.event_id) AS thread_size "
                "FROM items i WHERE EXISTS (SELECT 1 FROM labels l WHERE l.item_id = i.id) "
                "ORDER BY i.received_utc, i.id").fetchall()
        out = []
        for r in self._tx(read, write=False):
            if r["focus"] is None:
                continue
            rec = {"id": r["id"], "unit": r["unit"], "received_at": r["received_at"], "title": r["title"],
                   "text": r["text"], "focus": r["focus"], "urgency": r["urgency"], "flags": json.loads(r["flags"])}
            if r["thread_size"] >= 2:
                rec["event"] = r["event_id"]
            if r["urgency"] in ("flash", "urgent"):
                facts = json.loads(r["facts"])
                rec["facts"] = {k: facts.get(k) for k in CORPUS_FACT_KEYS}
            out.append(rec)
        return out

    def export_labels(self, path: str | os.PathLike) -> int:
        """Write the labeled history as JSON Lines (atomically). Returns the count."""
        records = self.labeled_history()
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
        return len(records)

    # ------------------------------------------------------------ rescoring
    def rescore(self, processor=None, batch: int = 64) -> dict:
        """Recompute the priority of every open and claimed item with the current config; with
        a ``Processor``, first re-run the stages (facts, model, screening) on the stored text.
        Thread signals are kept; editors' corrections still win. Returns the counts."""
        from .records import Report

        now = self._now()
        ids = [r[0] for r in self._tx(lambda c: c.execute(
            "SELECT id FROM items WHERE status IN ('open', 'claimed') ORDER BY id").fetchall(), write=False)]
        changed = 0
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            fresh: dict[str, dict] = {}
            if processor is not None:
                rows = self._tx(lambda c: [self._row(c, i) for i in chunk], write=False)
                reports = [Report(r["id"], r["source"], self._received(r["received_at"]),
                                  r["original"].decode("utf-8", "surrogatepass"), r["text"], r["unit"], r["title"])
                           for r in rows]
                for p in processor.finish([processor.analyse(rep) for rep in reports]):
                    fresh[p.record["id"]] = p.record

            def tx(c):
                n = 0
                for item_id in chunk:
                    row = self._row(c, item_id)
                    if row["status"] not in ("open", "claimed"):
                        continue
                    old_model = row["model_version"]
                    if item_id in fresh:
                        self._replace_prediction(c, row, fresh[item_id])
                    old, new = self._refresh(c, item_id, now)
                    model = fresh[item_id].get("model_version") if item_id in fresh else old_model
                    if abs(old - new) > 1e-6 or model != old_model:
                        self._log(c, item_id, utc_text(now), "system", "rescore",
                                  {"from": round(old, 1), "to": round(new, 1), "model_version": model})
                        n += 1
                return n
            changed += self._tx(tx)
        return {"items": len(ids), "changed": changed,
                "model_version": getattr(getattr(processor, "model", None), "version", None)}

    def _replace_prediction(self, c, row: sqlite3.Row, rec: dict) -> None:
        kept = [s for s in json.loads(row["signals"]) if s["rule"] == route.THREAD_RULE]
        signals = list(rec.get("signals") or []) + [s for s in kept if s not in (rec.get("signals") or [])]
        pred = {k: rec.get(k) for k in PREDICTION_KEYS}
        pred["flags"] = list(rec.get("flags") or [])
        if kept and "concealment" not in pred["flags"]:
            pred["flags"] = route_flag_order(pred["flags"] + ["concealment"])
        c.execute("UPDATE items SET facts = ?, severity = ?, signals = ?, prediction = ?, model_version = ?, "
                  "delay_minutes = ? WHERE id = ?",
                  (json.dumps(rec.get("facts") or {}, ensure_ascii=False),
                   json.dumps(rec.get("severity") or {}, ensure_ascii=False),
                   json.dumps(signals, ensure_ascii=False), json.dumps(pred, ensure_ascii=False),
                   rec.get("model_version"), route.report_delay_minutes(rec), row["id"]))

    # ------------------------------------------------------------ units
    def units(self, since: datetime | None = None, until: datetime | None = None, by: str = "late") -> list[dict]:
        """The reporting units side by side: reports sent, share flagged late and the median
        delay from event to receipt (first reports that state an event time), shares flagged
        for omission and concealment, shares adopted (done) and dismissed. Flags as the
        editors corrected them. Ranked by ``by`` (late, delay, omission, concealment,
        adopted, dismissed, reports), worst (or most) first."""
        params, where = {}, []
        _received_between(where, params, since, until)
        sql = ("SELECT unit, flags, status, delay_minutes FROM items "
               f"{'WHERE ' + ' AND '.join(where) if where else ''}")
        groups: dict[str, list] = {}
        for r in self._tx(lambda c: c.execute(sql, params).fetchall(), write=False):
            groups.setdefault(r["unit"], []).append(r)
        out = []
        for unit, rows in groups.items():
            n = len(rows)
            flags = [json.loads(r["flags"]) for r in rows]
            delays = [r["delay_minutes"] for r in rows if r["delay_minutes"] is not None]

            def share(pred) -> float:
                return round(sum(1 for x in pred) / n, 4)
            out.append({"unit": unit, "reports": n,
                        "late_share": share(f for f in flags if "delay" in f),
                        "median_delay_minutes": round(statistics.median(delays), 1) if delays else None,
                        "omission_share": share(f for f in flags if "omission" in f),
                        "concealment_share": share(f for f in flags if "concealment" in f),
                        "adopted_share": share(r for r in rows if r["status"] == "done"),
                        "dismissed_share": share(r for r in rows if r["status"] == "dismissed")})
        keys = {"late": ("late_share", "median_delay_minutes"), "delay": ("median_delay_minutes", "late_share"),
                "omission": ("omission_share",), "concealment": ("concealment_share",),
                "adopted": ("adopted_share",), "dismissed": ("dismissed_share",), "reports": ("reports",)}
        if by not in keys:
            raise ValueError(f"unknown ranking {by!r}")
        out.sort(key=lambda u: (tuple(-(u[k] or 0) for k in keys[by]), -u["reports"], u["unit"]))
        return [{"rank": n, **u} for n, u in enumerate(out, 1)]


def route_flag_order(flags: list[str]) -> list[str]:
    """Flags deduplicated, in the label set's order."""
    return [f for f in FLAGS if f in flags]
