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
@click.pass_context
def process(ctx, paths, out, errors_path, tokens, quiet):
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

    processor = Processor(config, with_tokens=tokens)
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


if __name__ == "__main__":
    main()
