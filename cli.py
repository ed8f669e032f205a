"""The ``triage`` command line: a thin click layer over ``pipeline``.

Exit codes: 0 everything read; 1 a fatal error (bad config, missing model); 2 usage error;
3 some inputs were rejected (the rest were processed, see the errors file); 4 nothing open
(``triage next``); 5 no such item in the queue; 6 conflict (claimed by another editor, or the
item's status does not allow the change); 7 the queue database stayed locked longer than
``[queue] busy_timeout_seconds`` (nothing was changed; try again).
"""

from __future__ import annotations

import contextlib
import json
import sys

import click

EXIT_REJECTED = 3
QUEUE_BATCH = 256  # reports put in the queue per transaction
EXIT_NOTHING_OPEN = 4
EXIT_NOT_FOUND = 5
EXIT_CONFLICT = 6
EXIT_BUSY = 7


def _config(ctx: click.Context):
    from pipeline.config import load_config
    from pipeline.errors import TriageError

    if "config" not in ctx.obj:
        try:
            ctx.obj["config"] = load_config(ctx.obj.get("config_path"))
        except TriageError as exc:
            raise click.ClickException(str(exc)) from None
    return ctx.obj["config"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              envvar="TRIAGE_CONFIG", help="TOML config (defaults: pipeline/defaults.toml).")
@click.version_option(package_name="triage")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """triage: 党委信息报送分拣 — sort incoming reports so editors see the right one first."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--out", "-o", type=click.File("w", encoding="utf-8"), default="-",
              help="Write records here (JSON Lines; default stdout).")
@click.option("--errors", "errors_path", type=click.File("w", encoding="utf-8"),
              help="Also write every rejected input here (JSON Lines).")
@click.option("--tokens", is_flag=True, help="Include the segmented tokens with their offsets.")
@click.option("-q", "--quiet", is_flag=True, help="No per-error lines on stderr, only the summary.")
@click.option("--no-model", is_flag=True, help="Skip the classifiers (urgency then comes from the facts alone).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), envvar="TRIAGE_DB",
              help="Queue database (default: [queue] db in the config, triage.db).")
@click.option("--no-queue", is_flag=True, help="Only write the records; do not put them in the queue.")
@click.option("--workers", "-j", type=click.IntRange(min=0), default=1, show_default=True,
              help="Processes analysing reports in parallel (0: one per core). Output order is kept.")
@click.pass_context
def process(ctx, paths, out, errors_path, tokens, quiet, no_model, db_path, no_queue, workers):
    """Read reports from files and folders, write one JSON record per report and put each
    report in the editors' queue (once, however often it is processed).

    Reads .jsonl .csv .txt .md .docx .eml, folders recursively. Bad inputs are reported
    with file and line, and the rest of the batch goes on. Queued records carry the
    ``event`` they were linked to and their ``priority``.
    """
    from pipeline.display import safe
    from pipeline.records import BatchSummary
    from pipeline.run import Processor, process_reports

    config = _config(ctx)
    summary = BatchSummary()

    def on_error(err):
        if not quiet:
            click.echo(f"拒收 {err}", err=True)
        if errors_path:
            errors_path.write(json.dumps(err.to_dict(), ensure_ascii=False) + "\n")

    def on_duplicate(report, rid):
        if not quiet:
            click.echo(f"重复 {report.source}: 与本批已读的 {rid} 内容相同，跳过", err=True)

    from pipeline.errors import TriageError

    try:
        processor = Processor(config, with_tokens=tokens, use_model=not no_model)
    except TriageError as exc:
        raise click.ClickException(str(exc)) from None
    with contextlib.ExitStack() as stack:
        queue = None if no_queue else stack.enter_context(_queue(ctx, db_path, create=True))
        queued = {"new": 0, "exists": 0, "conflict": 0}
        import os

        workers = workers or os.cpu_count() or 1
        def emit(items):
            results = [None] * len(items)
            if queue is not None:
                try:
                    results = queue.add_many(items)
                except TriageError as exc:
                    out.flush()
                    raise _QueueFailure(exc) from None
            for item, res in zip(items, results):
                if res is not None:
                    queued[res.status] += 1
                    if res.status == "conflict":
                        click.echo(f"未入队 {safe(item.record['source'])}: 队列中已有 id {safe(res.id)} 的另一份内容",
                                   err=True)
                    else:
                        item.record["event"], item.record["priority"] = res.event, res.priority
                out.write(json.dumps(item.record, ensure_ascii=False) + "\n")

        pending = []
        for item in process_reports(paths, processor, summary, on_error, on_duplicate, workers=workers):
            pending.append(item)
            if len(pending) >= QUEUE_BATCH:
                emit(pending)
                pending = []
        emit(pending)
    out.flush()
    if queue is not None:
        click.echo(f"入队 新增 {queued['new']} 份，已在队列 {queued['exists']} 份"
                   + (f"，id 冲突未入队 {queued['conflict']} 份" if queued["conflict"] else ""), err=True)
    click.echo(f"读取 {summary.read} 份，写出 {summary.written} 份，重复跳过 {summary.duplicates} 份，"
               f"拒收 {summary.rejected} 份", err=True)
    if summary.rejected or queued["conflict"]:
        ctx.exit(EXIT_REJECTED)


@main.command("corpus-stats")
@click.option("--corpus", "corpus_dir", type=click.Path(file_okay=False, exists=True),
              help="Corpus folder holding train/dev/test.jsonl (default: corpus/).")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def corpus_stats(corpus_dir, as_json):
    """Count the labeled corpus by split: focus, urgency, flags, threads, facts."""
    from pathlib import Path

    from pipeline.corpus import CORPUS_DIR, corpus_stats as stats, load_corpus, stats_markdown
    from pipeline.labels import load_labels

    try:
        records = load_corpus(Path(corpus_dir) if corpus_dir else CORPUS_DIR)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"语料无法读取: {exc}") from None
    st = stats(records)
    if as_json:
        click.echo(json.dumps(st.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(stats_markdown(st, load_labels().name))


def _fail(exc) -> click.ClickException:
    return click.ClickException(str(exc))


@main.command()
@click.option("--corpus", "corpus_dir", type=click.Path(file_okay=False, exists=True),
              help="Corpus folder with train/dev.jsonl (default: corpus/).")
@click.option("--from-queue", "queue_db", type=click.Path(dir_okay=False),
              help="Also train on the editors' corrected labels in this queue database.")
@click.option("--add", "added", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Also train on this labeled .jsonl file (repeatable): an office's own history, "
                   "or the corpus's extra writers (corpus/extra/). Never on dev.")
@click.option("--seed", default=13, show_default=True, help="Random seed.")
@click.option("--family", "families", multiple=True, type=click.Choice(["logreg", "cnb", "svm", "vote"]),
              help="Model families to compare (repeatable; default logreg, cnb and their soft vote).")
@click.option("--promote", is_flag=True, help="Make the new version current if it is not worse on dev.")
@click.option("--force", is_flag=True, help="With --promote: make it current even if worse.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def train(ctx, corpus_dir, queue_db, added, seed, families, promote, force, as_json):
    """Train focus and urgency classifiers on the train split (plus --add files and queue
    corrections), compare model families on dev, and save a new model version."""
    from pathlib import Path

    from pipeline.classify import format_metrics
    from pipeline.corpus import CORPUS_DIR, load_split
    from pipeline.errors import TriageError
    from pipeline.train import promote as do_promote, save_version, train as do_train

    config = _config(ctx)
    cdir = Path(corpus_dir) if corpus_dir else CORPUS_DIR
    try:
        train_records, dev_records = load_split("train", cdir), load_split("dev", cdir)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"语料无法读取: {exc}") from None
    dev_ids, n_train = {r["id"] for r in dev_records}, len(train_records)
    from pipeline.evaluate import load_labeled

    n_added, added_counts = 0, []
    for path in added:
        try:
            recs = load_labeled(Path(path))
        except TriageError as exc:
            raise _fail(exc)
        clash = [r["id"] for r in recs if r["id"] in dev_ids]
        if clash:
            raise click.ClickException(f"{path}: 这些记录在 dev 中，不能用于训练: {', '.join(clash[:5])}")
        known = {r["id"] for r in train_records}
        same = [r["id"] for r in recs if r["id"] in known]
        if same:
            raise click.ClickException(f"{path}: 这些编号已在训练数据中: {', '.join(same[:5])}")
        train_records.extend(recs)
        n_added += len(recs)
        added_counts.append((path, len(recs)))
    extra = []
    if queue_db:
        from pipeline.queue import Queue

        try:
            extra = Queue(queue_db, config, create=False).labeled_history()
        except TriageError as exc:
            raise _fail(exc)
        extra = [r for r in extra if r["id"] not in dev_ids]
        known = {r["id"]: i for i, r in enumerate(train_records)}
        for r in extra:  # an editor's correction replaces the corpus label of the same report
            if r["id"] in known:
                train_records[known[r["id"]]] = r
            else:
                train_records.append(r)
    log = (lambda m: None) if as_json else (lambda m: click.echo(m, err=True))
    try:
        kwargs = {"families": families} if families else {}
        model, report = do_train(train_records, dev_records, seed=seed, config=config, log=log, **kwargs)
    except TriageError as exc:
        raise _fail(exc)
    model.card["training_data"]["sources"] = ([f"{cdir.name}/train.jsonl ({n_train})"] + [f"{Path(p).as_posix()} ({n})" for p, n in added_counts]
                                              + ([f"queue {queue_db} ({len(extra)})"] if queue_db else []))
    version_dir = save_version(model, config.classify.models_path)
    result = {"version": model.version, "path": str(version_dir), "train_size": len(train_records),
              "added": n_added, "from_queue": len(extra), "families": model.card["families"],
              "comparison_on_dev": report["comparison"], "urgency_stack": report["stack"], "dev": report["dev"]}
    if promote:
        ok, message = do_promote(model, report["dev_prepared"], config.classify.models_path, force, config)
        result["promoted"], result["promotion"] = ok, message
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"trained {model.version} on {len(train_records)} reports ({n_added} from --add files, "
               f"{len(extra)} from the queue), "
               f"saved to {version_dir}")
    click.echo("model families on dev (macro-F1):")
    for fam, v in report["comparison"].items():
        click.echo(f"  {fam:<7} focus {v['focus_macro_f1']:.3f}  urgency {v['urgency_macro_f1']:.3f}  "
                   f"flash recall {v['flash_recall']:.3f}")
    st = report["stack"]
    click.echo(f"chosen: focus {model.card['families']['focus']}, urgency {model.card['families']['urgency']} "
               f"+ a second stage over the facts: urgency {st['dev']['urgency_macro_f1']:.3f}  "
               f"flash recall {st['dev']['flash_recall']:.3f} (before the flash threshold and the rules)")
    click.echo(format_metrics("dev focus 关注领域", report["dev"]["focus"]))
    click.echo(format_metrics("dev urgency 紧急程度 (after rule overrides)", report["dev"]["urgency"]))
    if promote:
        click.echo(result["promotion"])


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--model", "version", help="Model version to score (default: models/current).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--errors", "show_errors", is_flag=True, help="Also list the misses (facts and flags).")
@click.pass_context
def evaluate(ctx, file, version, as_json, show_errors):
    """Score the model, the facts and the screening flags on a labeled .jsonl file."""
    from pathlib import Path

    from pipeline.classify import load_current, load_model_dir
    from pipeline.errors import TriageError
    from pipeline.evaluate import evaluate_all, format_report, load_labeled

    config = _config(ctx)
    try:
        model = load_model_dir(config.classify.models_path / version) if version else load_current(config)
        records = load_labeled(Path(file))
    except TriageError as exc:
        raise _fail(exc)
    rep = evaluate_all(model, records, config)
    if not show_errors:
        rep["facts"].pop("misses"); rep["screening"].pop("errors")
    if as_json:
        click.echo(json.dumps(rep, ensure_ascii=False, indent=2))
        return
    click.echo(format_report(rep))
    if show_errors:
        for m in rep["facts"]["misses"]:
            click.echo(f"facts miss {m['id']} {m['what']}: gold {m['gold']} got {m['got']}")
        for e in rep["screening"]["errors"]:
            click.echo(f"flag {e['error']} {e['id']} {e['flag']}: {','.join(e['signals'])}")


def _highlight(text: str, spans, color: bool) -> str:
    """Text with evidence spans marked: colour on a terminal, 【】 otherwise."""
    from pipeline.display import safe

    marks = sorted({(s, e) for s, e in spans if 0 <= s < e <= len(text)})
    out, pos = [], 0
    for s, e in marks:
        if s < pos:
            continue
        out.append(safe(text[pos:s]))
        seg = safe(text[s:e])
        out.append(click.style(seg, fg="red", bold=True) if color else f"【{seg}】")
        pos = e
    out.append(safe(text[pos:]))
    return "".join(out)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="One JSON record per report (facts, signals, flags).")
@click.option("--no-model", is_flag=True, help="Skip the classifiers (urgency from the facts alone).")
@click.option("--color/--no-color", default=None, help="Colour the evidence (default: on a terminal).")
@click.pass_context
def screen(ctx, paths, as_json, no_model, color):
    """Show each report's facts, screening flags and the evidence in the text."""
    from pipeline.display import safe
    from pipeline.errors import TriageError
    from pipeline.labels import load_labels
    from pipeline.records import BatchSummary
    from pipeline.run import Processor, process_reports

    config = _config(ctx)
    try:
        processor = Processor(config, use_model=not no_model)
    except TriageError as exc:
        raise _fail(exc)
    names = load_labels().name
    summary = BatchSummary()
    color = sys.stdout.isatty() if color is None else color

    def on_error(err):
        click.echo(f"拒收 {err}", err=True)

    for p in process_reports(paths, processor, summary, on_error):
        rec = p.record
        if as_json:
            keep = ("id", "source", "unit", "title", "received_at", "text", "facts", "severity", "focus",
                    "urgency", "urgency_reasons", "signals", "flags")
            click.echo(json.dumps({k: rec.get(k) for k in keep}, ensure_ascii=False))
            continue
        f = rec["facts"]
        flags = "、".join(f"{names(x)}({x})" for x in rec["flags"]) or "无"
        click.echo(f"━━ {rec['id']}  {safe(rec['title'])}")
        click.echo(f"   来源 {safe(rec['source'])}  报送单位 {safe(rec['unit']) or '—'}  收到 {rec['received_at']}")
        focus = f"{names(rec['focus'])}({rec['focus']})" if rec.get("focus") else "—"
        click.echo(f"   领域 {focus}  紧急程度 {names(rec['urgency'])}({rec['urgency']})  "
                   f"等级 {rec['severity']['grade'] or '—'}")
        counts = "  ".join(f"{label}{f[k] if f[k] is not None else '—'}" for label, k in
                           (("死亡", "dead"), ("受伤", "injured"), ("失踪", "missing"), ("被困", "trapped")))
        click.echo(f"   事发时间 {f['event_time'] or '—'}  接报时间 {f['learned_time'] or '—'}  地点 {safe(f['place'] or '—')}")
        click.echo(f"   {counts}  模糊人数 {','.join(f['vague']) or '—'}  损失 {f['loss_wan'] or '—'}万元  聚集 {f['crowd'] or '—'}人")
        click.echo(f"   标记 {flags}")
        for s in rec["signals"]:
            mark = "⚑" if s["flag"] in rec["flags"] else "·"
            click.echo(f"   {mark} [{s['rule']} {s['weight']:g}] {names(s['flag'])}: {safe(s['message'])} @{s['start']}-{s['end']}")
        click.echo("   " + _highlight(rec["text"], [(s["start"], s["end"]) for s in rec["signals"]], color)
                   .replace("\n", "\n   "))
    click.echo(f"读取 {summary.read} 份，写出 {summary.written} 份，重复跳过 {summary.duplicates} 份，"
               f"拒收 {summary.rejected} 份", err=True)
    if summary.rejected:
        ctx.exit(EXIT_REJECTED)


# ---------------------------------------------------------------- the editors' queue

class _QueueFailure(click.ClickException):
    """A queue error as a click error, with the documented exit code."""

    def __init__(self, exc):
        from pipeline.queue import ClaimConflict, ItemNotFound, LabelError, QueueBusy

        super().__init__(str(exc))
        self.exit_code = {ItemNotFound: EXIT_NOT_FOUND, ClaimConflict: EXIT_CONFLICT, QueueBusy: EXIT_BUSY,
                          LabelError: 2}.get(type(exc), 1)


@contextlib.contextmanager
def _queue(ctx: click.Context, db_path: str | None, create: bool = False):
    """The queue for this command (only `process` creates one); its errors become exits with
    their documented codes."""
    from pipeline.config import resolve_path
    from pipeline.errors import TriageError
    from pipeline.queue import Queue

    config = _config(ctx)
    try:
        queue = Queue(db_path or resolve_path(config.queue.db), config, create=create)
    except TriageError as exc:
        raise _QueueFailure(exc) from None
    try:
        yield queue
    except TriageError as exc:
        raise _QueueFailure(exc) from None
    finally:
        queue.close()


def db_option(fn):
    return click.option("--db", "db_path", type=click.Path(dir_okay=False), envvar="TRIAGE_DB",
                        help="Queue database (default: [queue] db in the config, triage.db).")(fn)


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "editor"


def editor_option(fn):
    return click.option("--as", "editor", envvar="TRIAGE_EDITOR", default=_login,
                        show_default="$TRIAGE_EDITOR, else the login name",
                        help="The editor doing this (kept in the history).")(fn)


def output_options(csv: bool = False):
    """--json (and --csv for lists) for scripts; the default is a table for editors."""
    def decorate(fn):
        if csv:
            fn = click.option("--csv", "fmt", flag_value="csv", help="CSV: a header, then one row per item.")(fn)
        fn = click.option("--json", "fmt", flag_value="json", help="JSON for scripts (the item's id and fields).")(fn)
        return click.option("--table", "fmt", flag_value="table", default=True, hidden=True)(fn)
    return decorate


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _echo_csv(rows: list[dict], columns: list[str]) -> None:
    import csv
    import io

    from pipeline.display import safe

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([";".join(r[c]) if isinstance(r[c], list) else
                         safe(r[c]) if isinstance(r[c], str) else "" if r[c] is None else r[c] for c in columns])
    click.echo(buf.getvalue(), nl=False)


def _when(ctx, iso: str | None, fmt: str = "%m-%d %H:%M") -> str:
    """An ISO time shown in the configured time zone."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(_config(ctx).ingest.timezone)).strftime(fmt)


def _time_option(ctx, value: str | None, name: str, end_of_day: bool = False):
    from datetime import datetime, timezone

    from pipeline.queue import parse_time_arg

    if not value:
        return None
    try:
        return parse_time_arg(value, _config(ctx), datetime.now(timezone.utc), end_of_day)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None


def _codes(codes, names) -> str:
    return "、".join(names(c) for c in codes) or "—"


def _status(item: dict) -> str:
    from pipeline.display import safe
    from pipeline.queue import STATUS_NAMES

    name = STATUS_NAMES[item["status"]]
    return f"{name}·{safe(item['claimed_by'])}" if item.get("claimed_by") else name


def _brief(item: dict) -> dict:
    keys = ("id", "status", "claimed_by", "claim_expires", "priority", "urgency", "focus", "flags", "unit",
            "received_at", "title", "event")
    return {k: item.get(k) for k in keys}


def _echo_item(ctx, item: dict, color: bool) -> None:
    """The full view of one item, for `show` and `next`."""
    from pipeline.display import safe
    from pipeline.labels import load_labels
    from pipeline.queue import STATUS_NAMES

    names = load_labels().name
    pred, f = item["prediction"], item["facts"]
    pad = "   "
    click.echo(f"━━ {safe(item['id'])}  {safe(item['title'])}")
    claim = f"（{safe(item['claimed_by'])} 认领，至 {_when(ctx, item['claim_expires'])}）" if item["claimed_by"] else ""
    thread = item["thread"] or {"reports": []}
    event = f"{safe(item['event'])}（共 {len(thread['reports'])} 份）" if item["event"] else "—"
    click.echo(f"{pad}状态 {STATUS_NAMES[item['status']]}{claim}  优先分 {item['priority']:.1f}  事件 {event}")
    signer = f"  签发人 {safe(item['signer'])}" if item.get("signer") else ""
    click.echo(f"{pad}报送单位 {safe(item['unit']) or '—'}  收到 {_when(ctx, item['received_at'], '%Y-%m-%d %H:%M')}"
               f"  来源 {safe(item['source'])}{signer}")
    corrected = {k for lab in item["labels"] for k in ("focus", "urgency", "flags") if lab[k] is not None}

    def proba(p: dict) -> str:
        return " · ".join(f"{names(k)} {v:.2f}" for k, v in sorted(p.items(), key=lambda kv: -kv[1])[:4])

    mark = {k: "（编辑更正）" if k in corrected else "" for k in ("focus", "urgency", "flags")}
    focus = f"{names(item['focus'])}({item['focus']})" if item["focus"] else "—"
    click.echo(f"{pad}领域 {focus}{mark['focus']}" + (f"  模型概率 {proba(pred['focus_proba'])}" if pred.get("focus_proba") else ""))
    click.echo(f"{pad}紧急程度 {names(item['urgency'])}({item['urgency']}){mark['urgency']}"
               + (f"  模型概率 {proba(pred['urgency_proba'])}" if pred.get("urgency_proba") else ""))
    click.echo(f"{pad}判断依据 {safe('；'.join(pred.get('urgency_reasons') or [])) or '—'}  "
               f"模型 {safe(item['model_version'] or '无')}")
    if pred.get("needs_review"):
        click.echo(f"{pad}需人工复核 {safe('；'.join(pred.get('review_reasons') or []))}")
    sev = item["severity"]
    click.echo(f"{pad}等级 {sev.get('grade') or '—'}" + (f"：{'；'.join(sev.get('reasons') or [])}" if sev.get("grade") else ""))
    counts = "  ".join(f"{label}{f.get(k) if f.get(k) is not None else '—'}" for label, k in
                       (("死亡", "dead"), ("受伤", "injured"), ("失踪", "missing"), ("被困", "trapped")))
    click.echo(f"{pad}事发时间 {f.get('event_time') or '—'}  接报时间 {f.get('learned_time') or '—'}  "
               f"地点 {safe(f.get('place') or '—')}")
    click.echo(f"{pad}{counts}  损失 {f.get('loss_wan') or '—'}万元  聚集 {f.get('crowd') or '—'}人")
    click.echo(f"{pad}标记 {_codes(item['flags'], names)}{mark['flags']}")
    for s in item["signals"]:
        sign = "⚑" if s["flag"] in item["flags"] else "·"
        click.echo(f"{pad}{sign} [{s['rule']} {s['weight']:g}] {names(s['flag'])}: {safe(s['message'])} "
                   f"@{s['start']}-{s['end']}")
    click.echo(f"{pad}正文")
    body = _highlight(item["text"], [(s["start"], s["end"]) for s in item["signals"]], color)
    click.echo(pad + "  " + body.replace("\n", "\n" + pad + "  "))
    if len(thread["reports"]) > 1:
        state = "已终报" if thread["status"] == "closed" else "进行中"
        click.echo(f"{pad}事件经过（{state}，按收到时间）")
        for n, r in enumerate(thread["reports"], 1):
            nums = " ".join(f"{label}{r[k]}" for label, k in (("死亡", "dead"), ("受伤", "injured"),
                                                              ("失踪", "missing"), ("被困", "trapped"))
                            if r[k] is not None) or "伤亡未述"
            changed = "；".join(f"{dict(dead='死亡', injured='受伤', missing='失踪', trapped='被困', grade='等级')[k]}"
                               f"{a if a is not None else '—'}→{b if b is not None else '—'}"
                               for k, (a, b) in r["changes"].items())
            here = "  ← 本条" if r["id"] == item["id"] else ""
            click.echo(f"{pad}  {n}. {r['stage']} {_when(ctx, r['received_at'])} {safe(r['id'])} {nums}"
                       f" [{STATUS_NAMES[r['status']]}]" + (f" 变化：{changed}" if changed else "") + here)
    if item["labels"]:
        click.echo(f"{pad}编辑更正")
        for lab in item["labels"]:
            given = "；".join(
                [f"领域 {names(lab['predicted']['focus'] or '—')}→{names(lab['focus'])}"] * (lab["focus"] is not None)
                + [f"紧急程度 {names(lab['predicted']['urgency'])}→{names(lab['urgency'])}"] * (lab["urgency"] is not None)
                + [f"标记 {_codes(lab['predicted']['flags'] or [], names)}→{_codes(lab['flags'], names)}"]
                * (lab["flags"] is not None)) or "确认模型判断"
            note = f"（{safe(lab['note'])}）" if lab["note"] else ""
            click.echo(f"{pad}  {_when(ctx, lab['at'])} {safe(lab['editor'])}：{given}{note}")
    click.echo(f"{pad}处理记录")
    for h in item["history"]:
        click.echo(f"{pad}  {_when(ctx, h['at'])} {safe(h['actor'])} {' '.join(_action(h)).strip()}")


def _action(h: dict) -> tuple[str, str]:
    """One history entry in words: what was done, and the details (safe to print)."""
    from pipeline.display import safe
    from pipeline.queue import ACTION_NAMES

    d = h["detail"]
    detail = {
        "queued": lambda: f"事件 {d.get('event')}，优先分 {d.get('priority')}",
        "claim": lambda: f"至 {d.get('expires', '')[11:16]} 到期",
        "renew": lambda: f"至 {d.get('expires', '')[11:16]} 到期",
        "claim_expired": lambda: f"原认领人 {d.get('claimed_by')}",
        "release": lambda: "",
        "label": lambda: "，".join(f"{k}={v}" for k, v in d.items() if k in ("focus", "urgency", "flags"))
                         or "确认模型判断",
        "signal": lambda: f"{d.get('rule')}：{d.get('message')}",
        "rescore": lambda: f"优先分 {d.get('from')}→{d.get('to')}",
        "dismissed": lambda: f"理由：{d.get('reason')}",
    }.get(h["action"], lambda: d.get("note") or "")()
    return ACTION_NAMES.get(h["action"], h["action"]), safe(detail)


@main.command("queue")
@db_option
@click.option("--status", multiple=True, type=click.Choice(["open", "claimed", "done", "dismissed", "escalated", "all"]),
              help="Only these statuses (repeatable; default: open and claimed).")
@click.option("--focus", multiple=True, help="Only these focus areas (codes, repeatable).")
@click.option("--urgency", multiple=True, type=click.Choice(["flash", "urgent", "routine"]),
              help="Only these urgency levels (repeatable).")
@click.option("--flag", multiple=True, type=click.Choice(["delay", "omission", "concealment"]),
              help="Only items with one of these flags (repeatable).")
@click.option("--unit", help="Only units whose name contains this.")
@click.option("--since", help="Received at or after: 2026-11-20, '2026-11-20 08:00', 24h, 7d.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=0), help="At most N items (0: all).")
@output_options(csv=True)
@click.pass_context
def queue_cmd(ctx, db_path, status, focus, urgency, flag, unit, since, limit, fmt):
    """The ranked queue: what most needs the leadership first."""
    from pipeline.display import clip, safe, table
    from pipeline.labels import FOCUS, load_labels

    bad = [f for f in focus if f not in FOCUS]
    if bad:
        raise click.BadParameter(f"{', '.join(bad)} 不是领域代码（{', '.join(FOCUS)}）", param_hint="--focus")
    statuses = ("open", "claimed", "done", "dismissed", "escalated") if "all" in status else status or ("open", "claimed")
    with _queue(ctx, db_path) as q:
        items = q.list(statuses, focus, urgency, flag, unit, _time_option(ctx, since, "--since"), limit=limit)
    if fmt == "json":
        return _echo_json(items)
    if fmt == "csv":
        return _echo_csv(items, ["rank", "id", "priority", "status", "claimed_by", "urgency", "focus", "flags",
                                 "unit", "received_at", "title", "event"])
    if not items:
        click.echo("队列中没有符合条件的信息", err=True)
        return
    names = load_labels().name
    rows = [[str(i["rank"]), safe(i["id"]), f"{i['priority']:.1f}", names(i["urgency"]),
             names(i["focus"]) if i["focus"] else "—", _codes(i["flags"], names), clip(safe(i["unit"]), 16) or "—",
             _when(ctx, i["received_at"]), _status(i), clip(safe(i["title"]), 36)] for i in items]
    click.echo(table(["名次", "编号", "优先分", "紧急程度", "领域", "标记", "报送单位", "收到时间", "状态", "标题"],
                     rows, right=frozenset({0, 2})))


@main.command()
@click.argument("item_id")
@db_option
@click.option("--color/--no-color", default=None, help="Colour the evidence (default: on a terminal).")
@output_options()
@click.pass_context
def show(ctx, item_id, db_path, color, fmt):
    """One item: the text with its evidence marked, facts, signals, predictions with
    probabilities, the event thread, corrections and history."""
    with _queue(ctx, db_path) as q:
        item = q.get(item_id)
    if fmt == "json":
        return _echo_json(item)
    _echo_item(ctx, item, sys.stdout.isatty() if color is None else color)


@main.command("next")
@db_option
@editor_option
@click.option("--color/--no-color", default=None, help="Colour the evidence (default: on a terminal).")
@output_options()
@click.pass_context
def next_item(ctx, db_path, editor, color, fmt):
    """Claim the top open item for this editor and show it (exit 4 when nothing is open)."""
    with _queue(ctx, db_path) as q:
        item = q.next(editor)
    if item is None:
        click.echo("队列中没有待处理的信息", err=True)
        ctx.exit(EXIT_NOTHING_OPEN)
    if fmt == "json":
        return _echo_json(item)
    _echo_item(ctx, item, sys.stdout.isatty() if color is None else color)


def _echo_change(ctx, item: dict, fmt: str, what: str) -> None:
    from pipeline.display import safe

    if fmt == "json":
        return _echo_json(_brief(item))
    click.echo(f"{what}：{safe(item['id'])}  {safe(item['title'])}")


@main.command()
@click.argument("item_id")
@db_option
@editor_option
@output_options()
@click.pass_context
def claim(ctx, item_id, db_path, editor, fmt):
    """Claim one item (or renew your claim); it expires after [queue] claim_minutes."""
    with _queue(ctx, db_path) as q:
        item = q.claim(item_id, editor)
    _echo_change(ctx, item, fmt, f"已认领，至 {_when(ctx, item['claim_expires'])} 到期")


@main.command()
@click.argument("item_id")
@db_option
@editor_option
@output_options()
@click.pass_context
def release(ctx, item_id, db_path, editor, fmt):
    """Give a claimed item back to the queue."""
    with _queue(ctx, db_path) as q:
        item = q.release(item_id, editor)
    _echo_change(ctx, item, fmt, "已释放")


def _parse_flags(value: str | None) -> list[str] | None:
    from pipeline.labels import FLAGS

    if value is None:
        return None
    import re

    codes = [c for c in re.split(r"[,，;；\s]+", value.strip()) if c and c != "none"]
    bad = [c for c in codes if c not in FLAGS]
    if bad:
        raise click.BadParameter(f"{', '.join(bad)} 不是标记代码（{', '.join(FLAGS)}；无标记用 none）",
                                 param_hint="--flags")
    return codes


@main.command()
@click.argument("item_id")
@db_option
@editor_option
@click.option("--focus", help="The right focus area (code).")
@click.option("--urgency", type=click.Choice(["flash", "urgent", "routine"]), help="The right urgency.")
@click.option("--flags", "flags_text", help="The right flags: delay,omission,concealment or none.")
@click.option("--note", help="Why (kept with the correction).")
@output_options()
@click.pass_context
def label(ctx, item_id, db_path, editor, focus, urgency, flags_text, note, fmt):
    """Record the editor's correction beside the model's prediction (with no option: confirm
    the prediction). The labeled history is what `triage train --from-queue` learns from."""
    from pipeline.display import safe
    from pipeline.labels import FOCUS, load_labels

    if focus is not None and focus not in FOCUS:
        raise click.BadParameter(f"{focus} 不是领域代码（{', '.join(FOCUS)}）", param_hint="--focus")
    flags = _parse_flags(flags_text)
    with _queue(ctx, db_path) as q:
        res = q.label(item_id, editor, focus, urgency, flags, note)
    if fmt == "json":
        return _echo_json(res)
    names = load_labels().name
    click.echo(f"已记录 {safe(editor)} 对 {safe(item_id)} 的标注：领域 {names(res['focus'])}，"
               f"紧急程度 {names(res['urgency'])}，标记 {_codes(res['flags'], names)}"
               + ("" if res["given"] else "（确认模型判断）"))


@main.command()
@click.argument("item_id")
@db_option
@editor_option
@click.option("--note", help="A note kept in the history.")
@output_options()
@click.pass_context
def done(ctx, item_id, db_path, editor, note, fmt):
    """Mark an item adopted and finished (采用)."""
    with _queue(ctx, db_path) as q:
        item = q.done(item_id, editor, note)
    _echo_change(ctx, item, fmt, "已采用")


@main.command()
@click.argument("item_id")
@db_option
@editor_option
@click.option("--reason", required=True, help="Why it is not adopted (required).")
@output_options()
@click.pass_context
def dismiss(ctx, item_id, db_path, editor, reason, fmt):
    """Mark an item not adopted (不采用), with the reason."""
    with _queue(ctx, db_path) as q:
        item = q.dismiss(item_id, editor, reason)
    _echo_change(ctx, item, fmt, "不采用")


@main.command()
@click.argument("item_id")
@db_option
@editor_option
@click.option("--note", help="A note kept in the history.")
@output_options()
@click.pass_context
def escalate(ctx, item_id, db_path, editor, note, fmt):
    """Send an item up to the leadership (报送领导)."""
    with _queue(ctx, db_path) as q:
        item = q.escalate(item_id, editor, note)
    _echo_change(ctx, item, fmt, "已报领导")


@main.command()
@click.argument("item_id")
@db_option
@output_options(csv=True)
@click.pass_context
def history(ctx, item_id, db_path, fmt):
    """The audit trail of one item, oldest first (append-only)."""
    from pipeline.display import safe, table

    with _queue(ctx, db_path) as q:
        entries = q.history(item_id)
    if fmt == "json":
        return _echo_json(entries)
    if fmt == "csv":
        rows = [{**h, "detail": json.dumps(h["detail"], ensure_ascii=False)} for h in entries]
        return _echo_csv(rows, ["seq", "at", "actor", "action", "detail"])
    rows = [[str(h["seq"]), _when(ctx, h["at"], "%Y-%m-%d %H:%M:%S"), safe(h["actor"]), *_action(h)]
            for h in entries]
    click.echo(table(["序号", "时间", "操作人", "操作", "说明"], rows, right=frozenset({0})))


@main.command("export-labels")
@click.argument("out", type=click.Path(dir_okay=False))
@db_option
@output_options()
@click.pass_context
def export_labels(ctx, out, db_path, fmt):
    """Write the labeled history (editors' corrections, else the prediction) as JSON Lines
    in the corpus record format."""
    with _queue(ctx, db_path) as q:
        n = q.export_labels(out)
    if fmt == "json":
        return _echo_json({"path": out, "records": n})
    click.echo(f"导出 {n} 条标注到 {out}")


def _minutes(m: float | None) -> str:
    if m is None:
        return "—"
    m = int(round(m))
    return f"{m // 1440}天{m % 1440 // 60}小时" if m >= 1440 else f"{m // 60}小时{m % 60}分" if m >= 60 else f"{m}分钟"


@main.command()
@db_option
@click.option("--since", help="Received at or after: 2026-11-20, '2026-11-20 08:00', 24h, 7d.")
@click.option("--until", help="Received before (a date: up to the end of that day).")
@click.option("--by", type=click.Choice(["late", "delay", "omission", "concealment", "adopted", "dismissed", "reports"]),
              default="late", show_default=True, help="Rank by this share (highest first).")
@output_options(csv=True)
@click.pass_context
def units(ctx, db_path, since, until, by, fmt):
    """The reporting units side by side: reports, late share and median delay, omission and
    concealment shares, adopted vs dismissed."""
    from pipeline.display import clip, safe, table

    with _queue(ctx, db_path) as q:
        rows = q.units(_time_option(ctx, since, "--since"), _time_option(ctx, until, "--until", True), by)
    if fmt == "json":
        return _echo_json(rows)
    if fmt == "csv":
        return _echo_csv(rows, ["rank", "unit", "reports", "late_share", "median_delay_minutes", "omission_share",
                                "concealment_share", "adopted_share", "dismissed_share"])
    if not rows:
        click.echo("这段时间没有报送", err=True)
        return

    def pct(x: float) -> str:
        return f"{x:.0%}"
    click.echo(table(["名次", "报送单位", "报送", "迟报", "迟报中位时长", "漏报", "瞒报谎报", "采用", "不采用"],
                     [[str(u["rank"]), clip(safe(u["unit"]), 20) or "（未注明）", str(u["reports"]), pct(u["late_share"]),
                       _minutes(u["median_delay_minutes"]), pct(u["omission_share"]), pct(u["concealment_share"]),
                       pct(u["adopted_share"]), pct(u["dismissed_share"])] for u in rows],
                     right=frozenset({0, 2, 3, 4, 5, 6, 7, 8})))


@main.command()
@click.argument("item_id")
@db_option
@output_options()
@click.pass_context
def why(ctx, item_id, db_path, fmt):
    """An item's priority, part by part, with the reasons."""
    from pipeline.display import safe, table

    with _queue(ctx, db_path) as q:
        res = q.why(item_id)
    if fmt == "json":
        return _echo_json(res)
    click.echo(f"{safe(res['id'])} 优先分 {res['priority']:.1f}")
    click.echo(table(["组成", "分值", "说明"], [[p["label"], f"{p['points']:+.1f}", safe(p["reason"])] for p in res["parts"]],
                     right=frozenset({1})))


@main.command()
@db_option
@click.option("--config-only", is_flag=True,
              help="Keep the stored predictions; only recompute the scores with the current config.")
@output_options()
@click.pass_context
def rescore(ctx, db_path, config_only, fmt):
    """Recompute the open and claimed items after a new model (re-running the stages on the
    stored text) or a new config."""
    from pipeline.errors import TriageError
    from pipeline.run import Processor

    processor = None
    if not config_only:
        try:
            processor = Processor(_config(ctx))
        except TriageError as exc:
            raise click.ClickException(f"{exc}（只按新配置重新评分请用 --config-only）") from None
    with _queue(ctx, db_path) as q:
        res = q.rescore(processor)
    if fmt == "json":
        return _echo_json(res)
    model = f"，模型 {res['model_version']}" if res["model_version"] else ""
    click.echo(f"重新评分 {res['items']} 条待处理信息，{res['changed']} 条有变化{model}")


@main.command()
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--workers", "-j", "workers", multiple=True, type=click.IntRange(min=1),
              help="Worker counts to measure (repeatable; default 1 and the core count).")
@click.option("--repeat", default=1, show_default=True, type=click.IntRange(min=1),
              help="Runs per stage; the fastest counts.")
@click.option("--min-mb", default=20.0, show_default=True, help="Repeat the texts up to this many MB.")
@click.option("--train-reports", default=0, show_default=True, type=click.IntRange(min=0),
              help="Also time `train` on this many labeled reports (the train split repeated).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_context
def bench(ctx, path, workers, repeat, min_mb, train_reports, as_json):
    """Measure throughput against raw jieba on the same texts (default: the corpus, repeated
    to 20 MB): jieba alone, the classifiers alone, the pipeline, the pipeline into a fresh
    queue (and, with --train-reports, training); reports/s, MB/s, ratio to jieba and peak RSS
    of each stage's process."""
    import os
    import tempfile
    from datetime import date
    from pathlib import Path

    from pipeline.bench import format_table, help_seconds, machine, make_input, make_labeled_input, run_child

    _config(ctx)
    cfg_path = ctx.obj.get("config_path")
    workers = list(workers) or sorted({1, os.cpu_count() or 1})
    tmp = Path(tempfile.mkdtemp(prefix="triage-bench-")) / "input.jsonl"
    n, mb = make_input(tmp, Path(path) if path else None, min_mb)
    click.echo(f"input: {n} reports, {mb:.1f} MB of text; machine: {machine()}; {date.today()}", err=True)

    def best(stage, w):
        runs = [run_child(stage, tmp, w, cfg_path) for _ in range(repeat)]
        res = min(runs, key=lambda r: r.seconds)
        click.echo(f"  {stage} workers={w}: {res.seconds:.1f}s", err=True)
        return res

    floor = best("jieba", 1)
    results = [floor, best("classify", 1)]
    results += [best(stage, w) for stage in ("pipeline", "queue") for w in workers]
    if train_reports:
        labeled = tmp.with_name("labeled.jsonl")
        make_labeled_input(labeled, train_reports)
        res = run_child("train", labeled, train_reports, cfg_path)
        click.echo(f"  train on {train_reports} reports: {res.seconds:.1f}s", err=True)
        results.append(res)
    help_s = help_seconds()
    if as_json:
        click.echo(json.dumps({"machine": machine(), "date": str(date.today()), "reports": n, "megabytes": mb,
                               "help_seconds": help_s,
                               "stages": [dict(r.__dict__, reports_per_s=r.reports_per_s, mb_per_s=r.mb_per_s,
                                               ratio_to_jieba=r.mb_per_s / floor.mb_per_s) for r in results]},
                              ensure_ascii=False, indent=2))
    else:
        click.echo(format_table(results, floor))
        click.echo(f"triage --help: {help_s:.2f}s")


if __name__ == "__main__":
    main()
