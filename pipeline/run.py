"""Run the stages over a batch: ingest → clean → nlp (→ classify → screen → route → queue).

``process_reports`` streams: one report in, one record out, so memory does not grow with the
inbox. Every input is counted once: read == written + duplicates + rejected.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from .clean import clean_text
from .config import Config, load_config
from .errors import InputError
from .ingest import iter_reports
from .records import BatchSummary, Report


def content_id(text: str) -> str:
    """A stable id derived from the cleaned text: the same content gives the same id."""
    return "r-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class Processed:
    """A report after the stages, with its spaCy ``Doc``."""

    report: Report
    doc: object
    record: dict = field(default_factory=dict)


class Processor:
    """Holds the loaded stages (loaded once per process) and runs them on one report."""

    def __init__(self, config: Config | None = None, with_tokens: bool = False):
        from .nlp import get_nlp

        self.config = config or load_config()
        self.nlp = get_nlp(self.config)
        self.with_tokens = with_tokens

    def clean(self, report: Report) -> Report:
        report.text = clean_text(report.original)
        if not report.text:
            raise InputError(report.source, "清洗后正文为空（只有乱码或空白）", "empty")
        if not report.id:
            report.id = content_id(report.text)
        return report

    def process(self, report: Report) -> Processed:
        """Clean and analyse one report (the report must already be cleaned)."""
        doc = self.nlp(report.text)
        record = report.to_dict()
        record["n_tokens"] = sum(1 for t in doc if not t.is_space)
        if self.with_tokens:
            record["tokens"] = [[t.text, t.idx] for t in doc if not t.is_space]
        return Processed(report, doc, record)


def process_reports(paths: Iterable[str | os.PathLike], processor: Processor,
                    summary: BatchSummary, on_error: Callable[[InputError], None],
                    on_duplicate: Callable[[Report, str], None] | None = None
                    ) -> Iterator[Processed]:
    """Stream processed reports; errors and duplicates go to the callbacks and the summary."""
    seen: dict[str, bytes] = {}
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
        if report.id in seen:
            if seen[report.id] == digest:
                summary.duplicates += 1
                if on_duplicate:
                    on_duplicate(report, report.id)
            else:
                summary.rejected += 1
                on_error(InputError(report.source, f"id {report.id} 与本批已读的另一份内容不同的报告重复",
                                    "bad_record"))
            continue
        seen[report.id] = digest
        processed = processor.process(report)
        summary.written += 1
        yield processed
