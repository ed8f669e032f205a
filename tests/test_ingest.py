from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.errors import InputError
from pipeline.ingest import decode_bytes, iter_reports, parse_time, read_file, split_header

CST = timezone(timedelta(hours=8))


def reports_of(path, config=None):
    return list(read_file(Path(path), config or load_config()))


def test_gb18030_text_with_header(inbox):
    (rep,) = reports_of(inbox / "县委办" / "塔吊.txt")
    assert rep.unit == "青岚县委办公室"
    assert rep.signer == "王某"
    assert rep.received_at == datetime(2026, 11, 25, 16, 20, tzinfo=CST)
    assert rep.received_at_from == "header"
    assert rep.title == "关于石桥镇一在建工地塔吊倒塌的情况报告"
    assert rep.original.startswith("关于石桥镇")
    assert "报送单位" not in rep.original


def test_utf16_with_ascii_colons(inbox):
    (rep,) = reports_of(inbox / "utf16.txt")
    assert rep.unit == "石门县应急管理局"
    assert rep.received_at.isoformat() == "2026-11-24T09:05:00+08:00"
    assert "锦绣社区" in rep.original


def test_utf8_bom_without_header_uses_mtime_and_first_line(inbox):
    (rep,) = reports_of(inbox / "bom.md")
    assert rep.title == "白沙乡关于秋粮收购进度的情况"
    assert rep.received_at_from == "mtime"
    assert rep.received_at.utcoffset() == timedelta(hours=8)
    assert not rep.original.startswith("\ufeff")


def test_docx_paragraphs_and_tables_in_order(inbox):
    (rep,) = reports_of(inbox / "专报.docx")
    assert rep.unit == "东陵市住建局"
    assert rep.received_at.isoformat() == "2026-11-24T15:10:00+08:00"
    assert rep.original.split("\n") == ["全市在建工地安全检查情况", "检查结果如下：", "项目｜数量",
                                        "检查工地｜126", "发现隐患｜37", "已全部限期整改。"]


def test_eml_body_and_attachments(inbox):
    items = reports_of(inbox / "mail.eml")
    reps = [i for i in items if not isinstance(i, InputError)]
    errs = [i for i in items if isinstance(i, InputError)]
    assert [r.source for r in reps] == [str(inbox / "mail.eml"), str(inbox / "mail.eml") + "#续报.txt",
                                        str(inbox / "mail.eml") + "#物资.docx"]
    body, txt, docx = reps
    assert body.title == "关于G318线K2156处山体滑坡的报告"
    assert body.unit == "云岭县应急管理局"
    assert body.received_at.isoformat() == "2026-11-25T09:30:00+08:00"
    assert txt.unit == "云岭县交通运输局"  # the attachment's own header wins
    assert "抢通" in txt.original
    assert docx.unit == "云岭县应急管理局" and docx.title == "白石镇防汛物资储备情况"
    assert [(e.source, e.kind) for e in errs] == [(str(inbox / "mail.eml") + "#现场.png", "unsupported")]


def test_jsonl_records_lines_and_gold(inbox):
    items = reports_of(inbox / "batch.jsonl")
    kinds = [(i.line, i.kind) if isinstance(i, InputError) else i.id for i in items]
    assert kinds == ["j-1", (2, "json"), "j-2", (4, "missing_field"), (5, "bad_time"), "j-1"]
    first = items[0]
    assert first.source.endswith("batch.jsonl:1")
    assert first.gold == {"focus": "work_safety", "urgency": "flash", "flags": ["delay"]}
    assert first.event == "e-1"
    assert items[2].received_at.isoformat() == "2026-11-25T08:00:00+08:00"


def test_csv_multiline_cell_and_line_numbers(inbox):
    items = reports_of(inbox / "table.csv")
    assert items[0].id == "c-1" and items[0].original == "第一行\n第二行"
    assert items[0].gold == {"focus": "general", "urgency": "routine", "flags": []}
    assert isinstance(items[1], InputError) and items[1].line == 4 and items[1].kind == "missing_field"


@pytest.mark.parametrize("name,kind", [
    ("empty.txt", "empty"), ("image.txt", "binary"), ("random.txt", "binary"),
    ("undecodable.txt", "encoding"), ("big.txt", "oversized"), ("notes.pdf", "unsupported"),
    ("broken.docx", "docx"),
])
def test_bad_inputs_named_with_reason(inbox, small_config, name, kind):
    (err,) = reports_of(inbox / "bad" / name, small_config)
    assert isinstance(err, InputError)
    assert err.kind == kind
    assert err.source == str(inbox / "bad" / name)
    assert str(inbox / "bad" / name) in str(err)


def test_folder_walk_is_sorted_recursive_and_skips_hidden(inbox, small_config):
    sources = [i.source for i in iter_reports([inbox / "bad"], small_config)]
    assert sources == [str(inbox / "bad" / n) for n in
                       ["big.txt", "broken.docx", "empty.txt", "image.txt", "notes.pdf", "random.txt",
                        "undecodable.txt"]]


def test_missing_path_is_an_error(tmp_path):
    (err,) = list(iter_reports([tmp_path / "nope"]))
    assert err.kind == "unreadable"


@pytest.mark.parametrize("text,iso", [
    ("2026-11-25T16:20:00+08:00", "2026-11-25T16:20:00+08:00"),
    ("2026-11-25 16:20", "2026-11-25T16:20:00+08:00"),
    ("2026年11月25日16时20分", "2026-11-25T16:20:00+08:00"),
    ("2026年11月25日 16:20", "2026-11-25T16:20:00+08:00"),
    ("2026/11/25 9:05", "2026-11-25T09:05:00+08:00"),
    ("2026.11.25", "2026-11-25T00:00:00+08:00"),
    ("2026-11-25T08:20:00Z", "2026-11-25T08:20:00+00:00"),
])
def test_parse_time(text, iso):
    assert parse_time(text).isoformat() == iso


@pytest.mark.parametrize("text", ["昨天", "2026年13月40日", "", "16:20"])
def test_parse_time_rejects(text):
    assert parse_time(text) is None


def test_split_header_several_keys_on_one_line():
    meta, body = split_header("报送单位：县委办　签发人：王某\n标题: 关于某事\n正文第一行")
    assert meta == {"报送单位": "县委办", "签发人": "王某", "标题": "关于某事"}
    assert body == "正文第一行"


def test_header_word_inside_text_is_not_a_header():
    meta, body = split_header("县里的报送单位：很多\n正文")
    assert meta == {} and body == "县里的报送单位：很多\n正文"


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030", "gbk", "utf-16", "utf-16-le", "utf-8-sig"])
def test_decode_detects_encodings(encoding):
    text = "报送单位：青岚县委办公室\n今日凌晨3时许，石桥镇发生火灾，2人受伤。Test 123."
    assert decode_bytes(text.encode(encoding), "x.txt").replace("\ufeff", "") == text
