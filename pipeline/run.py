"""Run the stages over a batch: ingest → clean → nlp → classify → screen (→ route → queue).

``process_reports`` streams: reports are read one at a time and classified in small batches,
so memory does not grow with the inbox. Every input is counted once:
read == written + duplicates + rejected.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from .clean import clean_text
from .config import Config, load_config
from .errors import InputError, ModelError
from .ingest import iter_reports
from .records import BatchSummary, Report

log = logging.getLogger("triage")
BATCH = 256


def content_id(text: str) -> str:
    """A stable id derived from the cleaned text: the same content gives the same id."""
    return "r-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class Processed:
    """A report after the stages: its analysis (Doc, facts), prediction, screening, record."""

    report: Report
    analysis: object
    title: str = ""  # the cleaned title the classifiers saw
    prediction: object = None
    screening: object = None
    record: dict = field(default_factory=dict)


def fact_record(facts) -> dict:
    """The facts an output record carries (JSON-ready)."""
    d = facts.to_dict()
    keep = ("event_time", "learned_time", "dead", "injured", "serious", "missing", "trapped", "vague",
            "earlier", "casualties_stated", "casualties_unknown", "loss_wan", "crowd", "crowd_vague",
            "place", "places")
    out = {k: d[k] for k in keep}
    out["evidence"] = [{"kind": m["kind"], "start": m["start"], "end": m["end"], "text": m["text"]}
                       for m in ([d["event_time_mention"]] if d["event_time_mention"] else []) + d["mentions"]]
    return out


class Processor:
    """Holds the loaded stages (loaded once per process) and runs them."""

    def __init__(self, config: Config | None = None, with_tokens: bool = False, model=None,
                 use_model: bool = True):
        from .classify import load_current
        from .nlp import get_nlp
        from .screen import Screener

        self.config = config or load_config()
        self.nlp = get_nlp(self.config)
        self.screener = Screener(self.config)
        self.with_tokens = with_tokens
        self.model = model
        if self.model is None and use_model:
            self.model = load_current(self.config)
        # The loaded stages (jieba's dictionary, spaCy's vocabulary, the model) live as long as
        # the process: out of the collector's full passes, which re-walked them all every few
        # thousand reports (4% of a run), and out of forked workers' copy-on-write pages.
        gc.freeze()

    def clean(self, report: Report) -> Report:
        report.text = clean_text(report.original)
        if not report.text:
            raise InputError(report.source, "清洗后正文为空（只有乱码或空白）", "empty")
        if not report.id:
            report.id = content_id(report.text)
        return report

    def analyse(self, report: Report) -> Processed:
        from .nlp import analyse_text

        title = clean_text(report.title) if report.title else ""
        return Processed(report, analyse_text(self.nlp, report.text, title, report.received_at), title=title)

    def finish(self, batch: list[Processed]) -> list[Processed]:
        """Classify a batch, screen each report and build its output record."""
        from .classify import make_inputs
        from .facts import severity
        from .screen import urgency_from_facts

        preds = [None] * len(batch)
        if self.model is not None and batch:
            inputs = [make_inputs(p.analysis.doc, p.title, p.analysis.title_words,
                                  p.analysis.facts, p.report.received_at) for p in batch]
            preds = self.model.predict(inputs, [p.analysis.facts for p in batch],
                                       [p.report.received_at for p in batch], self.config)
        flag_model = self.model.flag_model if self.model is not None else None
        urgencies = []
        for p, pred in zip(batch, preds):
            urgency = pred.urgency if pred else urgency_from_facts(p.analysis.facts)
            urgencies.append(urgency)
            p.prediction = pred
            p.screening = self.screener.screen(p.report.text, p.report.title, p.analysis.facts, urgency,
                                               p.report.received_at)
        if flag_model is not None and batch:
            from .screen import flag_features

            feats = [flag_features(p.screening, p.analysis.facts, u, p.report.title, p.report.text)
                     for p, u in zip(batch, urgencies)]
            for p, flags in zip(batch, flag_model.decide_batch(feats, [p.screening for p in batch])):
                p.screening.flags = flags
        for p, pred, urgency in zip(batch, preds, urgencies):
            facts = p.analysis.facts
            grade, reasons = severity(facts)
            rec = p.report.to_dict()
            doc = p.analysis.doc
            words = doc.user_data.get("triage_words") or [t.text for t in doc]
            rec["n_tokens"] = len(words) - sum(map(str.isspace, words))
            if self.with_tokens:
                rec["tokens"] = [[t.text, t.idx] for t in doc if not t.is_space]
            rec["facts"] = fact_record(facts)
            rec["severity"] = {"grade": grade, "reasons": reasons}
            if pred:
                rec.update(pred.to_dict())
            else:
                rec.update({"focus": None, "urgency": urgency, "urgency_reasons": ["无模型：按事实规则判断"],
                            "model_version": None})
            rec["signals"] = [s.to_dict() for s in p.screening.signals]
            rec["flags"] = p.screening.flags
            p.record = rec
        return batch


def _cleaned(paths, processor: Processor, summary: BatchSummary, on_error, on_duplicate) -> Iterator[Report]:
    """Read, clean and de-duplicate: the part of the run that stays in the main process."""
    seen = SeenIds()
    try:
        yield from _cleaned_into(paths, processor, summary, on_error, on_duplicate, seen)
    finally:
        seen.close()


class SeenIds:
    """The ids read so far in a run, each with a digest of its cleaned text, kept in a
    temporary SQLite file rather than a dict: a million ids cost ~170 MB as a dict, and the
    run must stay in constant memory however large the inbox (the page cache is capped)."""

    def __init__(self, cache_mb: int = 8):
        import sqlite3
        import tempfile

        self._dir = tempfile.TemporaryDirectory(prefix="triage-seen-")
        self._conn = sqlite3.connect(os.path.join(self._dir.name, "seen.db"), isolation_level=None)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", f"cache_size = -{cache_mb * 1024}"):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.execute("CREATE TABLE seen (id TEXT PRIMARY KEY, digest BLOB NOT NULL) WITHOUT ROWID")
        self._conn.execute("BEGIN")

    def add(self, rid: str, digest: bytes) -> bytes | None:
        """Remember ``rid``; returns the digest it was first seen with, or None if it is new."""
        row = self._conn.execute("SELECT digest FROM seen WHERE id = ?", (rid,)).fetchone()
        if row is not None:
            return row[0]
        self._conn.execute("INSERT INTO seen VALUES (?, ?)", (rid, digest))
        return None

    def close(self) -> None:
        self._conn.close()
        self._dir.cleanup()


def _cleaned_into(paths, processor: Processor, summary: BatchSummary, on_error, on_duplicate,
                  seen: SeenIds) -> Iterator[Report]:
    for item in iter_reports(paths, processor.config):
        summary.read += 1
        if isinstance(item, InputError):
            summary.rejected += 1
            on_error(item)
            continue
        try:
            report = processor.clean(item)
        except InputError as err:
            summary.rejected += 1
            on_error(err)
            continue
        digest = hashlib.blake2b(report.text.encode("utf-8"), digest_size=12).digest()
        first = seen.add(report.id, digest)
        if first is not None:
            if first == digest:
                summary.duplicates += 1
                if on_duplicate:
                    on_duplicate(report, report.id)
            else:
                summary.rejected += 1
                on_error(InputError(report.source, f"id {report.id} 与本批已读的另一份内容不同的报告重复",
                                    "bad_record"))
            continue
        yield report


def _batches(reports: Iterator[Report], size: int) -> Iterator[list[Report]]:
    batch: list[Report] = []
    for report in reports:
        batch.append(report)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


_WORKER: Processor | None = None
_FORKED: Processor | None = None


def _init_worker(spec: tuple | None) -> None:
    """A forked worker takes the processor it inherited; a spawned one builds its own from
    ``spec`` (config, with_tokens, use_model)."""
    global _WORKER
    if spec is None:
        _WORKER = _FORKED
    else:
        config, with_tokens, use_model = spec
        _WORKER = Processor(config, with_tokens=with_tokens, use_model=use_model)


def _work(batch: list[Report]) -> list[dict]:
    return [p.record for p in _WORKER.finish([_WORKER.analyse(r) for r in batch])]


def process_reports(paths: Iterable[str | os.PathLike], processor: Processor,
                    summary: BatchSummary, on_error: Callable[[InputError], None],
                    on_duplicate: Callable[[Report, str], None] | None = None,
                    batch_size: int = BATCH, workers: int = 1) -> Iterator[Processed]:
    """Stream processed reports, in input order; errors and duplicates go to the callbacks and
    the summary. With ``workers`` > 1 the analysis runs in that many processes while this one
    reads, cleans and de-duplicates; at most two batches per worker are in flight, so memory
    stays flat however large the inbox."""
    batches = _batches(_cleaned(paths, processor, summary, on_error, on_duplicate), batch_size)
    if workers <= 1:
        for batch in batches:
            for p in processor.finish([processor.analyse(r) for r in batch]):
                summary.written += 1
                yield p
        return
    import multiprocessing as mp
    from collections import deque

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    global _FORKED
    # Forked workers use the processor loaded here, inherited page for page (the model's arrays
    # and the dictionaries stay shared) instead of each loading its own copy.
    forked = ctx.get_start_method() == "fork"
    _FORKED = processor
    spec = None if forked else (processor.config, processor.with_tokens, processor.model is not None)
    with ctx.Pool(workers, initializer=_init_worker, initargs=(spec,)) as pool:
        pending: deque = deque()
        for batch in batches:
            pending.append((batch, pool.apply_async(_work, (batch,))))
            while len(pending) >= 2 * workers:
                yield from _collect(pending.popleft(), summary)
        while pending:
            yield from _collect(pending.popleft(), summary)


def _collect(item, summary: BatchSummary) -> Iterator[Processed]:
    batch, result = item
    for report, record in zip(batch, result.get()):
        summary.written += 1
        yield Processed(report, None, record=record)
