"""The ``triage`` command line: a thin click layer over ``pipeline``.

Exit codes: 0 everything read; 1 a fatal error (bad config, missing model); 2 usage error;
3 some inputs were rejected (the rest were processed, see the errors file).
"""

from __future__ import annotations

import json
import sys

import click

EXIT_REJECTED = 3


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
@click.pass_context
def process(ctx, paths, out, errors_path, tokens, quiet, no_model):
    """Read reports from files and folders and write one JSON record per report.

    Reads .jsonl .csv .txt .md .docx .eml, folders recursively. Bad inputs are reported
    with file and line, and the rest of the batch goes on.
    """
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
    for item in process_reports(paths, processor, summary, on_error, on_duplicate):
        out.write(json.dumps(item.record, ensure_ascii=False) + "\n")
    out.flush()
    click.echo(f"读取 {summary.read} 份，写出 {summary.written} 份，重复跳过 {summary.duplicates} 份，"
               f"拒收 {summary.rejected} 份", err=True)
    if summary.rejected:
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
@click.option("--seed", default=13, show_default=True, help="Random seed.")
@click.option("--promote", is_flag=True, help="Make the new version current if it is not worse on dev.")
@click.option("--force", is_flag=True, help="With --promote: make it current even if worse.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def train(ctx, corpus_dir, queue_db, seed, promote, force, as_json):
    """Train focus and urgency classifiers on the train split (plus queue corrections),
    compare model families on dev, and save a new model version."""
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
    extra = []
    if queue_db:
        from pipeline.queue import Queue

        try:
            extra = Queue(queue_db, config).labeled_history()
        except TriageError as exc:
            raise _fail(exc)
        dev_ids = {r["id"] for r in dev_records}
        extra = [r for r in extra if r["id"] not in dev_ids]
        known = {r["id"]: i for i, r in enumerate(train_records)}
        for r in extra:  # an editor's correction replaces the corpus label of the same report
            if r["id"] in known:
                train_records[known[r["id"]]] = r
            else:
                train_records.append(r)
    log = (lambda m: None) if as_json else (lambda m: click.echo(m, err=True))
    model, report = do_train(train_records, dev_records, seed=seed, config=config, log=log)
    version_dir = save_version(model, config.classify.models_path)
    result = {"version": model.version, "path": str(version_dir), "train_size": len(train_records),
              "from_queue": len(extra), "families": model.card["families"],
              "comparison_on_dev": report["comparison"], "dev": report["dev"]}
    if promote:
        ok, message = do_promote(model, report["dev_prepared"], config.classify.models_path, force, config)
        result["promoted"], result["promotion"] = ok, message
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"trained {model.version} on {len(train_records)} reports ({len(extra)} from the queue), "
               f"saved to {version_dir}")
    click.echo("model families on dev (macro-F1):")
    for fam, v in report["comparison"].items():
        click.echo(f"  {fam:<7} focus {v['focus_macro_f1']:.3f}  urgency {v['urgency_macro_f1']:.3f}  "
                   f"flash recall {v['flash_recall']:.3f}")
    click.echo(f"chosen: focus {model.card['families']['focus']}, urgency {model.card['families']['urgency']}")
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


if __name__ == "__main__":
    main()
