"""``triage bench``: throughput of the pipeline against raw jieba, on the same texts.

Each stage runs in a fresh child process (``python -m pipeline.bench STAGE FILE ...``), so
its peak RSS is its own:
1. ``jieba``: our jieba tokenizer alone on the texts (the floor we cannot beat with jieba);
2. ``pipeline``: ingest, clean, nlp, classify, screen (records serialised, not kept);
3. ``queue``: the same into a fresh SQLite queue.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .config import load_config


@dataclass
class StageResult:
    stage: str
    workers: int
    reports: int
    megabytes: float
    seconds: float
    peak_rss_mb: float

    @property
    def reports_per_s(self) -> float:
        return self.reports / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.megabytes / self.seconds if self.seconds else 0.0


def make_input(out: Path, source: Path | None = None, min_mb: float = 20.0) -> tuple[int, float]:
    """Write the benchmark's JSON Lines input: ``source`` (a .jsonl) or the whole corpus,
    repeated until the texts reach ``min_mb`` MB. Each copy gets its own id and a marker line,
    so that the queue does not take copies for duplicates. Returns (reports, text MB)."""
    from .corpus import CORPUS_DIR, SPLITS

    files = [source] if source else [CORPUS_DIR / f"{s}.jsonl" for s in SPLITS]
    base = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            base.extend(json.loads(line) for line in fh if line.strip())
    if not base:
        raise ValueError(f"no records in {files}")
    n, size, copy = 0, 0, 0
    with open(out, "w", encoding="utf-8") as fh:
        while size < min_mb * 1e6 or copy == 0:
            for rec in base:
                r = {k: rec[k] for k in ("id", "unit", "received_at", "title", "text") if k in rec}
                if copy:
                    r["id"] = f"{rec['id']}-c{copy}"
                    r["text"] = rec["text"] + f"\n（第{copy}份）"
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
                n += 1
                size += len(r["text"].encode("utf-8"))
            copy += 1
    return n, size / 1e6


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024  # Linux reports KiB


def run_stage(stage: str, path: Path, workers: int, config_path: str | None) -> StageResult:
    """One stage in this process (called in the child)."""
    config = load_config(config_path)
    texts_mb = 0.0
    if stage == "jieba":
        from .segment import get_segmenter

        seg = get_segmenter(config.segment)
        with open(path, encoding="utf-8") as fh:
            texts = [json.loads(line)["text"] for line in fh]
        texts_mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        t0 = time.perf_counter()
        for t in texts:
            seg.cut(t)
        return StageResult(stage, 1, len(texts), texts_mb, time.perf_counter() - t0, _peak_rss_mb())
    if stage == "classify":
        return _classify_stage(path, config)
    if stage == "train":
        return _train_stage(path, workers, config)
    from .records import BatchSummary
    from .run import BATCH, Processor, process_reports

    processor = Processor(config)
    summary = BatchSummary()
    queue = None
    if stage == "queue":
        from .queue import Queue

        db = Path(tempfile.mkdtemp(prefix="triage-bench-")) / "bench.db"
        queue = Queue(db, config)
    t0 = time.perf_counter()
    pending = []
    for item in process_reports([path], processor, summary, lambda e: None, workers=workers):
        json.dumps(item.record, ensure_ascii=False)
        texts_mb += len(item.record["original"].encode("utf-8")) / 1e6
        if queue is not None:
            pending.append(item)
            if len(pending) >= BATCH:
                queue.add_many(pending)
                pending = []
    if queue is not None:
        queue.add_many(pending)
    seconds = time.perf_counter() - t0
    if queue is not None:
        queue.close()
    return StageResult(stage, workers, summary.written, texts_mb, seconds, _peak_rss_mb())


def _classify_stage(path: Path, config) -> StageResult:
    """The classifiers alone (features + both models): each batch is analysed untimed, then
    classified on the clock; batches are dropped as they go, so the RSS is the stage's own."""
    from .classify import load_current, make_inputs
    from .clean import clean_text
    from .ingest import parse_time
    from .nlp import analyse_text, get_nlp
    from .run import BATCH

    nlp, model = get_nlp(config), load_current(config)
    gc.freeze()  # as ``Processor`` does once the stages are loaded
    seconds, mb, n = 0.0, 0.0, 0
    with open(path, encoding="utf-8") as fh:
        while True:
            chunk = []
            for line in fh:
                rec = json.loads(line)
                text, title = clean_text(rec["text"]), clean_text(rec.get("title") or "")
                rec_at = parse_time(rec["received_at"])
                chunk.append((analyse_text(nlp, text, title, rec_at), title, rec_at))
                if len(chunk) >= BATCH:
                    break
            if not chunk:
                break
            mb += sum(len(a.doc.user_data["triage_text"].encode("utf-8")) for a, _, _ in chunk) / 1e6
            n += len(chunk)
            t0 = time.perf_counter()
            inputs = [make_inputs(a.doc, title, a.title_words, a.facts, rec_at) for a, title, rec_at in chunk]
            model.predict(inputs, [a.facts for a, _, _ in chunk], [r for _, _, r in chunk], config)
            seconds += time.perf_counter() - t0
    return StageResult("classify", 1, n, mb, seconds, _peak_rss_mb())


def _train_stage(path: Path, n: int, config) -> StageResult:
    """``train`` on the first ``n`` labeled reports of ``path`` (dev: the corpus dev split)."""
    from .corpus import load_split
    from .train import train

    with open(path, encoding="utf-8") as fh:
        records = [json.loads(line) for _, line in zip(range(n), fh)]
    mb = sum(len(r["text"].encode("utf-8")) for r in records) / 1e6
    t0 = time.perf_counter()
    train(records, load_split("dev"), config=config)
    return StageResult("train", 1, len(records), mb, time.perf_counter() - t0, _peak_rss_mb())


def make_labeled_input(out: Path, n: int) -> int:
    """``n`` labeled reports: the train split repeated, each copy with its own id and marker."""
    from .corpus import CORPUS_DIR

    base = [json.loads(l) for l in open(CORPUS_DIR / "train.jsonl", encoding="utf-8") if l.strip()]
    with open(out, "w", encoding="utf-8") as fh:
        for i in range(n):
            rec = dict(base[i % len(base)])
            copy = i // len(base)
            if copy:
                rec["id"] = f"{rec['id']}-c{copy}"
                rec["text"] = rec["text"] + f"\n（第{copy}份）"
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return n


def run_child(stage: str, path: Path, workers: int, config_path: str | None) -> StageResult:
    """Run a stage in a fresh interpreter and read its result."""
    cmd = [sys.executable, "-m", "pipeline.bench", stage, str(path), str(workers), config_path or ""]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(Path(__file__).resolve().parent.parent))
    if proc.returncode != 0:
        raise RuntimeError(f"bench stage {stage} failed: {proc.stderr.strip()[-2000:]}")
    return StageResult(**json.loads(proc.stdout.strip().splitlines()[-1]))


def help_seconds(repeat: int = 5) -> float:
    """Best wall time of ``triage --help`` in a fresh interpreter."""
    best = float("inf")
    root = Path(__file__).resolve().parent.parent
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(root / "cli.py"), "--help"], capture_output=True, check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def format_table(results: list[StageResult], floor: StageResult) -> str:
    lines = [f"| stage | workers | reports | MB | seconds | reports/s | MB/s | × jieba | peak RSS MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        ratio = r.mb_per_s / floor.mb_per_s if floor.mb_per_s else 0.0
        lines.append(f"| {r.stage} | {r.workers} | {r.reports} | {r.megabytes:.1f} | {r.seconds:.1f} | "
                     f"{r.reports_per_s:.0f} | {r.mb_per_s:.3f} | {ratio:.2f} | {r.peak_rss_mb:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    stage, path, workers, cfg = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] or None
    print(json.dumps(run_stage(stage, path, workers, cfg).__dict__))
