import json

import click
import pytest
from click.testing import CliRunner

from cli import EXIT_REJECTED, main


@pytest.fixture(scope="session")
def processed(inbox, small_config, tmp_path_factory):
    """One `triage process` run over the whole fixture inbox."""
    out = tmp_path_factory.mktemp("out")
    cfg = out / "triage.toml"
    cfg.write_text("[ingest]\nmax_file_mb = 0.06\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(cfg), "process", str(inbox),
                                  "--out", str(out / "r.jsonl"), "--errors", str(out / "e.jsonl")])
    records = [json.loads(l) for l in (out / "r.jsonl").read_text(encoding="utf-8").splitlines()]
    errors = [json.loads(l) for l in (out / "e.jsonl").read_text(encoding="utf-8").splitlines()]
    return result, records, errors


def test_process_counts_add_up(processed):
    result, records, errors = processed
    assert result.exit_code == EXIT_REJECTED
    summary = result.stderr.strip().splitlines()[-1]
    assert summary == f"读取 {len(records) + len(errors) + 1} 份，写出 {len(records)} 份，重复跳过 1 份，拒收 {len(errors)} 份"
    assert len(records) == 11
    assert len(errors) == 12
    assert len({r["id"] for r in records}) == len(records)


def test_every_record_has_the_promised_keys(processed):
    _, records, _ = processed
    for rec in records:
        for key in ("id", "source", "unit", "title", "received_at", "text", "original"):
            assert key in rec
        assert rec["received_at"][-6:] in ("+08:00", "+00:00")
        assert rec["text"]


def test_noise_cleaned_and_original_kept(processed):
    _, records, _ = processed
    (noisy,) = [r for r in records if r["source"].endswith("noisy.txt")]
    assert "^/" in noisy["original"]
    assert noisy["text"] == ("信息工作是党委办公室的一项重要工作，\n一、在思想认识上\n……发挥着十分重要的作用。\n"
                             "五、2026年GDP增长3.5%。")
    assert noisy["title"] == "做好新形势下信息工作的几点体会"


def test_errors_name_file_line_and_reason(processed, inbox):
    result, _, errors = processed
    by_source = {(e["source"], e["line"]): e for e in errors}
    assert by_source[(str(inbox / "batch.jsonl"), 2)]["code"] == "E106"
    assert by_source[(str(inbox / "table.csv"), 4)]["kind"] == "missing_field"
    assert by_source[(str(inbox / "bad" / "big.txt"), None)]["kind"] == "oversized"
    assert f"拒收 [E106] {inbox / 'batch.jsonl'} 第2行" in result.stderr


def test_labels_kept_as_gold_only(processed):
    _, records, _ = processed
    (rec,) = [r for r in records if r["id"] == "j-1"]
    assert rec["gold"] == {"focus": "work_safety", "urgency": "flash", "flags": ["delay"]}


def test_gold_labels_never_change_predictions(tmp_path):
    base = {"id": "g-1", "received_at": "2026-11-25T16:20:00+08:00",
            "text": "11月25日14时30分许，某镇一工地发生塔吊倒塌，造成1人死亡，原因正在调查，已停工整顿。"}
    outs = []
    for gold in ({"focus": "general", "urgency": "routine", "flags": []},
                 {"focus": "work_safety", "urgency": "flash", "flags": ["delay", "concealment"]}):
        f = tmp_path / f"{gold['focus']}.jsonl"
        f.write_text(json.dumps({**base, **gold}, ensure_ascii=False) + "\n", encoding="utf-8")
        rec = json.loads(CliRunner().invoke(main, ["process", str(f)]).stdout)
        outs.append({k: rec[k] for k in ("focus", "urgency", "focus_proba", "urgency_proba", "flags", "signals")})
    assert outs[0] == outs[1]


def test_an_event_time_after_receipt_is_for_review_not_a_clock(tmp_path):
    # received 11:10, the text's meal at 12:00 the same day: no delay clock from its other
    # time (至下午3时 read as the day before), no omission of a time, a reason to check it
    text = ("11月26日中午12时许，桃源镇杨柳村村民陈某家办寿宴，就餐后至下午3时，共有21人出现呕吐、腹泻症状，"
            "已送镇卫生院治疗，无死亡。初步怀疑为凉拌菜被污染所致。县市场监管局已对宴席厨师开展调查。")
    f = tmp_path / "in.jsonl"
    rows = [{"id": "t-late", "received_at": "2026-11-26T11:10:00+08:00", "text": text},
            {"id": "t-ok", "received_at": "2026-11-26T16:10:00+08:00", "text": text}]
    f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    res = CliRunner().invoke(main, ["process", str(f)])
    late, ok = (json.loads(line) for line in res.stdout.splitlines())
    assert late["facts"]["event_time"] == "2026-11-26T12:00+08:00"
    assert not [s for s in late["signals"] if s["rule"].startswith(("delay.clock", "omission.time"))]
    assert late["needs_review"]
    assert "文中事发时间11月26日12:00晚于收到时间11月26日11:10，时间可能写错或读错，请核实" in late["review_reasons"]
    assert not any("晚于收到时间" in r for r in ok["review_reasons"])


def test_derived_ids_are_stable(inbox, tmp_path):
    runner = CliRunner()
    ids = []
    for _ in range(2):
        res = runner.invoke(main, ["process", str(inbox / "utf16.txt")])
        assert res.exit_code == 0
        ids.append(json.loads(res.stdout)["id"])
    assert ids[0] == ids[1] and ids[0].startswith("r-")


def test_all_good_exits_zero_and_tokens(inbox):
    res = CliRunner().invoke(main, ["process", "--tokens", str(inbox / "县委办")])
    assert res.exit_code == 0
    rec = json.loads(res.stdout)
    assert ["塔吊", rec["text"].index("塔吊")] in rec["tokens"]


def test_usage_error_exits_2():
    res = CliRunner().invoke(main, ["process"])
    assert res.exit_code == 2


def test_bad_config_is_a_clear_error(tmp_path, inbox):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[ingest]\nmax_file_mb = 'big'\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["--config", str(cfg), "process", str(inbox / "utf16.txt")])
    assert res.exit_code == 1
    assert "max_file_mb" in res.stderr


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


def test_every_command_has_help_and_is_documented():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for path, cmd in _commands(main):
        assert cmd.help, path
        assert f"triage {' '.join(path)}" in readme, f"README lacks `triage {' '.join(path)}`"


def test_workers_give_identical_results_in_order(tmp_path):
    from pathlib import Path

    dev = Path(__file__).resolve().parent.parent / "corpus" / "dev.jsonl"
    small = tmp_path / "dev150.jsonl"
    small.write_text("".join(dev.read_text(encoding="utf-8").splitlines(keepends=True)[:150]), encoding="utf-8")
    outs = []
    for workers in ("1", "2"):
        res = CliRunner().invoke(main, ["process", str(small), "--no-queue", "--workers", workers, "-q"])
        assert res.exit_code == 0, res.output
        outs.append(res.stdout)
    assert outs[0] == outs[1]
    assert len(outs[0].splitlines()) == 150


def test_bench_runs_every_stage(tmp_path):
    from pathlib import Path

    dev = Path(__file__).resolve().parent.parent / "corpus" / "dev.jsonl"
    small = tmp_path / "dev40.jsonl"
    small.write_text("".join(dev.read_text(encoding="utf-8").splitlines(keepends=True)[:40]), encoding="utf-8")
    res = CliRunner().invoke(main, ["bench", str(small), "--min-mb", "0.05", "-j", "1", "-j", "2", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    stages = [(s["stage"], s["workers"]) for s in data["stages"]]
    assert stages == [("jieba", 1), ("classify", 1), ("pipeline", 1), ("pipeline", 2), ("queue", 1), ("queue", 2)]
    assert all(s["reports"] == data["reports"] for s in data["stages"])
    assert data["stages"][0]["ratio_to_jieba"] == 1.0
