"""Shared fixtures: the tests build their own inbox of real files."""

from __future__ import annotations

import io
import json
import os
from email.message import EmailMessage
from pathlib import Path

import pytest

HEADER_REPORT = (
    "报送单位：青岚县委办公室\n"
    "报送时间：2026年11月25日 16:20\n"
    "签发人：王某\n"
    "\n"
    "关于石桥镇一在建工地塔吊倒塌的情况报告\n"
    "11月25日14时30分许，石桥镇东坡村一在建工地发生塔吊倒塌事故，造成1人死亡、2人受伤。\n"
)
UTF16_REPORT = "报送单位: 石门县应急管理局\n报送时间: 2026-11-24 09:05\n\n昨晚8时许，城关镇锦绣社区一居民楼发生火灾，无人员伤亡。\n"
PLAIN_REPORT = "白沙乡关于秋粮收购进度的情况\n截至11月20日，全乡已收购秋粮3.5万吨，同比增长12%。\n"
NOISY_REPORT = (
    "报送时间：2026-11-20 10:00\n"
    "标题：做好新形势下信息工作的几点体会\n"
    "信息工作是党委办公室的一项重要工作8 ^/ F0 i4 G6 R( W0 m5 l. A9 L，\n"
    "\" A# S\" v9 T, g一、在思想认识上\n"
    "……发挥着十分重要的作用。% | k! ]( M: a. a\n"
    "; _# S# O( ^7 S6 ]; b0 Z' h& A9 V五、2026年GDP增长3.5%。\n"
)


def make_docx(path: Path, paragraphs: list[str], table: list[list[str]] | None = None,
              after: list[str] | None = None) -> Path:
    from docx import Document

    doc = Document()
    for p in paragraphs:
        doc.add_paragraph(p)
    if table:
        t = doc.add_table(rows=len(table), cols=len(table[0]))
        for i, row in enumerate(table):
            for j, cell in enumerate(row):
                t.cell(i, j).text = cell
    for p in after or []:
        doc.add_paragraph(p)
    doc.save(path)
    return path


def docx_bytes(paragraphs: list[str]) -> bytes:
    from docx import Document

    doc = Document()
    for p in paragraphs:
        doc.add_paragraph(p)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def make_eml(path: Path, with_attachments: bool = True) -> Path:
    msg = EmailMessage()
    msg["Subject"] = "关于G318线K2156处山体滑坡的报告"
    msg["From"] = "云岭县应急管理局 <yj@example.gov>"
    msg["To"] = "xxk@example.gov"
    msg["Date"] = "Wed, 25 Nov 2026 09:30:00 +0800"
    msg.set_content("11月25日8时10分许，G318线K2156处发生山体滑坡，道路中断，暂无人员伤亡报告。\n已设置警戒。\n")
    if with_attachments:
        msg.add_attachment("报送单位：云岭县交通运输局\n\n续报：滑坡处已清理一半，预计今晚抢通。\n".encode("gb18030"),
                           maintype="text", subtype="plain", filename="续报.txt")
        msg.add_attachment(docx_bytes(["白石镇防汛物资储备情况", "已储备编织袋2万条。"]),
                           maintype="application",
                           subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                           filename="物资.docx")
        msg.add_attachment(b"\x89PNG\r\n\x1a\n\x00\x00", maintype="image", subtype="png",
                           filename="现场.png")
    path.write_bytes(bytes(msg))
    return path


@pytest.fixture(scope="session")
def inbox(tmp_path_factory) -> Path:
    """A realistic inbox: every supported format and every kind of bad input."""
    root = tmp_path_factory.mktemp("inbox")
    (root / "县委办").mkdir()
    (root / "县委办" / "塔吊.txt").write_bytes(HEADER_REPORT.encode("gb18030"))
    (root / "utf16.txt").write_bytes(UTF16_REPORT.encode("utf-16"))
    (root / "bom.md").write_bytes(b"\xef\xbb\xbf" + PLAIN_REPORT.encode("utf-8"))
    (root / "noisy.txt").write_text(NOISY_REPORT, encoding="utf-8")
    make_docx(root / "专报.docx", ["报送单位：东陵市住建局", "报送时间：2026年11月24日15时10分",
                                   "全市在建工地安全检查情况", "检查结果如下："],
              table=[["项目", "数量"], ["检查工地", "126"], ["发现隐患", "37"]], after=["已全部限期整改。"])
    make_eml(root / "mail.eml")
    records = [
        {"id": "j-1", "unit": "某县委办", "received_at": "2026-11-25T16:20:00+08:00",
         "title": "塔吊倒塌", "text": "11月25日14时30分许，某镇发生塔吊倒塌。", "focus": "work_safety",
         "urgency": "flash", "flags": ["delay"], "event": "e-1"},
        {"id": "j-2", "received_at": "2026-11-25 08:00", "text": "全县秋粮收购进展顺利。"},
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    lines.insert(1, "{not json")
    lines.append(json.dumps({"id": "j-3", "text": "缺少时间"}, ensure_ascii=False))
    lines.append(json.dumps({"id": "j-4", "text": "时间错", "received_at": "昨天下午"}, ensure_ascii=False))
    lines.append(lines[0])  # the same record again: a duplicate, not a second report
    (root / "batch.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "table.csv").write_text(
        "id,unit,received_at,title,text,focus,urgency,flags\n"
        "c-1,某乡,2026-11-20T09:00:00+08:00,标题,\"第一行\n第二行\",general,routine,\n"
        "c-2,某乡,2026-11-20T09:00:00+08:00,标题,,general,routine,\n",
        encoding="utf-8")
    bad = root / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    (bad / "random.txt").write_bytes(b"\x00\x01\x02\x03\xff\xfe\xfd" * 20)
    (bad / "undecodable.txt").write_bytes(bytes([0x81, 0x20, 0xFE, 0x7F, 0x80, 0xFF]) * 10)
    (bad / "big.txt").write_text("很长的报告。" * 5000, encoding="utf-8")
    (bad / "notes.pdf").write_bytes(b"%PDF-1.4")
    (bad / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (bad / ".hidden").write_text("ignored", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def small_config(tmp_path_factory):
    """The default config with a 60 KB file limit, so oversized files are cheap to make."""
    from pipeline.config import load_config

    path = tmp_path_factory.mktemp("cfg") / "triage.toml"
    path.write_text("[ingest]\nmax_file_mb = 0.06\n", encoding="utf-8")
    return load_config(path)


@pytest.fixture(scope="session", autouse=True)
def _queue_db_outside_the_tree(tmp_path_factory):
    """`triage process` queues by default: keep the tests' queue out of the project folder."""
    old = os.environ.get("TRIAGE_DB")
    os.environ["TRIAGE_DB"] = str(tmp_path_factory.mktemp("queue") / "triage.db")
    yield
    if old is None:
        os.environ.pop("TRIAGE_DB", None)
    else:
        os.environ["TRIAGE_DB"] = old
