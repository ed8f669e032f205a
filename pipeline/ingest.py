"""Ingest: read an inbox of files and folders into ``Report`` records, one at a time.

Formats: ``.jsonl`` and ``.csv`` in the record format, ``.txt``/``.md`` in any of UTF-8 (with
or without BOM), GB18030/GBK or UTF-16 (detected from the bytes, never from the extension),
``.docx`` (paragraphs and tables in document order) and ``.eml`` (the body, plus ``.txt``,
``.md`` and ``.docx`` attachments as reports of their own).

Everything is streamed: ``iter_reports`` yields a ``Report`` or an ``InputError`` for each
input, so one bad file or line never stops the batch and nothing is held in memory.
"""

from __future__ import annotations

import csv
import email
import email.policy
import email.utils
import html.parser
import io
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo

from .config import Config, load_config
from .errors import InputError
from .records import GOLD_KEYS, Report

TEXT_EXTS = {".txt", ".md"}
SUPPORTED_EXTS = TEXT_EXTS | {".jsonl", ".csv", ".docx", ".eml"}
HEADER_KEYS = ("报送单位", "报送时间", "标题", "签发人")
_HEADER_KEY = re.compile(r"(报送单位|报送时间|标题|签发人)\s*[:：]")
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x7fELF",
                 b"\xd0\xcf\x11\xe0")
_TIME = re.compile(
    r"^\s*(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})\s*[日号]?"
    r"(?:\s*T?\s*(\d{1,2})\s*[:：时点]\s*(?:(\d{1,2})\s*分?)?(?:\s*[:：]?\s*(\d{1,2})\s*秒?)?)?\s*$")


# ---------------------------------------------------------------- times

def parse_time(value: str, tz: str = "Asia/Shanghai") -> datetime | None:
    """Parse an ISO 8601 or Chinese-style date-time; naive times are taken in ``tz``."""
    if not isinstance(value, str) or not value.strip():
        return None
    s = value.strip()
    dt = None
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        m = _TIME.match(s)
        if m:
            y, mo, d, h, mi, se = (int(g) if g else 0 for g in m.groups())
            try:
                dt = datetime(y, mo, d, h, mi, se)
            except ValueError:
                return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return dt


# ---------------------------------------------------------------- decoding

_ALLOWED = ((0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x22FF), (0x2460, 0x26FF), (0x2E80, 0x9FFF),
            (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF))


def _plausible(text: str, tolerance: float = 0.02) -> bool:
    """Decoded text that is mostly CJK, ASCII and common symbols, not mojibake."""
    if not text:
        return True
    bad = 0
    for ch in text:
        o = ord(ch)
        if ch in "\t\n\r" or any(lo <= o <= hi for lo, hi in _ALLOWED):
            continue
        bad += 1
    return bad / len(text) < tolerance


def decode_bytes(data: bytes, source: str) -> str:
    """Detect the encoding of a text file and decode it, or raise ``InputError``."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(source, "UTF-16 文本无法解码", "encoding") from None
    if data.startswith(_BINARY_MAGIC):
        raise InputError(source, "二进制文件，不是文本报告", "binary")
    if b"\x00" in data:
        # UTF-16 without a BOM shows NUL bytes beside ASCII characters; anything else is binary.
        for codec in ("utf-16-le", "utf-16-be"):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                continue
            if _plausible(text, 0.005):
                return text
        raise InputError(source, "二进制文件，不是文本报告", "binary")
    for codec in ("utf-8", "gb18030"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if _plausible(text):
            return text
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        text = str(best)
        if _plausible(text):
            return text
    raise InputError(source, "无法识别文本编码（支持 UTF-8、GB18030/GBK、UTF-16）", "encoding")


# ---------------------------------------------------------------- headers

def split_header(text: str) -> tuple[dict[str, str], str]:
    """Parse 报送单位/报送时间/标题/签发人 lines at the top of ``text``.

    Returns the header values and the body without those lines. Several keys may share a
    line (报送单位：县委办　签发人：张某); either colon works.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    meta: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i].strip().strip("\ufeff\u3000 ")
        if not line:
            i += 1
            continue
        hits = list(_HEADER_KEY.finditer(line))
        if not hits or hits[0].start() != 0:
            break
        for j, hit in enumerate(hits):
            end = hits[j + 1].start() if j + 1 < len(hits) else len(line)
            meta[hit.group(1)] = line[hit.end():end].strip().strip("\u3000 ")
        i += 1
    if not meta:
        return {}, text
    return meta, "\n".join(lines[i:])


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().strip("\u3000")
        if line:
            return line[:120]
    return ""


def _from_document(text: str, source: str, received_at: datetime | None, received_from: str,
                   config: Config, unit: str = "", title: str = "") -> Report:
    """A report from a plain document: header lines win over the container's metadata."""
    meta, body = split_header(text)
    tz = config.ingest.timezone
    if "报送时间" in meta:
        header_time = parse_time(meta["报送时间"], tz)
        if header_time is None:
            raise InputError(source, f"报送时间无法解析: {meta['报送时间']!r}", "bad_time")
        received_at, received_from = header_time, "header"
    if received_at is None:
        raise InputError(source, "缺少报送时间", "missing_field")
    if not body.strip():
        raise InputError(source, "报告正文为空", "empty")
    if len(body) > config.ingest.max_text_chars:
        raise InputError(source, f"正文 {len(body)} 字，超过上限 {config.ingest.max_text_chars} 字",
                         "oversized")
    return Report(
        id="",
        source=source,
        received_at=received_at,
        original=body,
        unit=meta.get("报送单位") or unit,
        title=meta.get("标题") or title or _first_line(body),
        signer=meta.get("签发人", ""),
        received_at_from=received_from,
    )


def _mtime(path: Path, tz: str) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=ZoneInfo(tz))


# ---------------------------------------------------------------- records (.jsonl / .csv)

def report_from_record(rec: dict, source: str, line: int | None, config: Config) -> Report:
    """A report from a record of the corpus format; labels go to ``gold``."""
    if not isinstance(rec, dict):
        raise InputError(source, "记录不是 JSON 对象", "bad_record", line)
    missing = [k for k in ("id", "text", "received_at") if rec.get(k) in (None, "")]
    if missing:
        raise InputError(source, f"缺少必填字段 {', '.join(missing)}", "missing_field", line)
    for key in ("id", "text", "received_at"):
        if not isinstance(rec[key], str):
            raise InputError(source, f"字段 {key} 应为字符串", "bad_record", line)
    received_at = parse_time(rec["received_at"], config.ingest.timezone)
    if received_at is None:
        raise InputError(source, f"received_at 无法解析: {rec['received_at']!r}", "bad_time", line)
    if len(rec["text"]) > config.ingest.max_text_chars:
        raise InputError(source, f"正文 {len(rec['text'])} 字，超过上限 {config.ingest.max_text_chars} 字",
                         "oversized", line)
    meta, _ = split_header(rec["text"])
    gold = {k: rec[k] for k in GOLD_KEYS if rec.get(k) not in (None, "")}
    return Report(
        id=rec["id"].strip(),
        source=f"{source}:{line}" if line is not None else source,
        received_at=received_at,
        original=rec["text"],
        unit=str(rec.get("unit") or meta.get("报送单位") or ""),
        title=str(rec.get("title") or meta.get("标题") or ""),
        event=str(rec["event"]) if rec.get("event") else None,
        signer=meta.get("签发人", ""),
        gold=gold or None,
    )


def _read_jsonl(path: Path, config: Config) -> Iterator[Report | InputError]:
    source = str(path)
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError:
                yield InputError(source, "该行不是 UTF-8 编码", "encoding", lineno)
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                yield InputError(source, f"JSON 格式错误: {exc.msg}（第{exc.colno}列）", "json", lineno)
                continue
            try:
                yield report_from_record(rec, source, lineno, config)
            except InputError as err:
                yield err


def _parse_flags(value: str) -> list[str]:
    value = value.strip()
    if not value:
        return []
    if value.startswith("["):
        return list(json.loads(value))
    return [f for f in re.split(r"[;,，；|\s]+", value) if f]


def _read_csv(path: Path, config: Config) -> Iterator[Report | InputError]:
    source = str(path)
    try:
        text = decode_bytes(path.read_bytes(), source)
    except InputError as err:
        yield err
        return
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or not {"id", "text", "received_at"} <= set(reader.fieldnames):
        yield InputError(source, "CSV 表头须包含 id、text、received_at 列", "csv", 1)
        return
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield InputError(source, f"CSV 格式错误: {exc}", "csv", start)
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if None in row:
            yield InputError(source, "该行的列数多于表头", "csv", line)
            continue
        rec = {k: v for k, v in row.items() if v not in (None, "")}
        try:
            if "flags" in row and ("focus" in rec or "urgency" in rec or "flags" in rec):
                rec["flags"] = _parse_flags(row["flags"] or "")  # an empty cell is "no flags"
            if "facts" in rec:
                rec["facts"] = json.loads(rec["facts"])
        except (json.JSONDecodeError, TypeError):
            yield InputError(source, "flags 或 facts 列不是合法的 JSON", "csv", line)
            continue
        try:
            yield report_from_record(rec, source, line, config)
        except InputError as err:
            yield err


# ---------------------------------------------------------------- documents

def _check_size(path: Path, config: Config) -> None:
    size = path.stat().st_size
    if size == 0:
        raise InputError(str(path), "空文件", "empty")
    limit = config.ingest.max_file_mb * 1024 * 1024
    if size > limit:
        raise InputError(str(path), f"文件 {size / 1048576:.1f} MB，超过上限 {config.ingest.max_file_mb} MB",
                         "oversized")


def docx_text(data: bytes, source: str) -> str:
    """Paragraphs and tables of a .docx in document order; table cells joined by ｜."""
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        doc = Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several types for a broken package
        raise InputError(source, f"不是可读的 Word 文档: {type(exc).__name__}", "docx") from None
    parts: list[str] = []
    for child in doc.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            parts.append(Paragraph(child, doc).text)
        elif tag == "tbl":
            for row in Table(child, doc).rows:
                cells, seen = [], set()
                for cell in row.cells:
                    if id(cell._tc) in seen:  # a merged cell repeats
                        continue
                    seen.add(id(cell._tc))
                    cells.append(cell.text.replace("\n", " ").strip())
                parts.append("｜".join(cells))
    return "\n".join(parts)


class _HTMLText(html.parser.HTMLParser):
    BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "section"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")
        elif tag == "td":
            self.parts.append("｜")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_text(markup: str) -> str:
    """Visible text of an HTML body, block elements on their own lines."""
    parser = _HTMLText()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def _read_eml(path: Path, config: Config) -> Iterator[Report | InputError]:
    source = str(path)
    tz = config.ingest.timezone
    try:
        _check_size(path, config)
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    except InputError as err:
        yield err
        return
    except Exception as exc:
        yield InputError(source, f"邮件无法解析: {exc}", "eml")
        return
    try:
        subject = str(msg.get("Subject", "") or "").strip()
        name, addr = email.utils.parseaddr(str(msg.get("From", "") or ""))
    except Exception as exc:  # malformed headers raise from the header registry
        yield InputError(source, f"邮件头无法解析: {exc}", "eml")
        return
    sender = name or addr
    received_at, received_from = None, "email"
    if msg.get("Date"):
        try:
            received_at = email.utils.parsedate_to_datetime(str(msg["Date"]))
            if received_at.tzinfo is None:
                received_at = received_at.replace(tzinfo=ZoneInfo(tz))
            received_at = received_at.astimezone(ZoneInfo(tz))
        except (TypeError, ValueError):
            yield InputError(source, f"邮件 Date 头无法解析: {msg['Date']!r}", "bad_time")
            return
    if received_at is None:
        received_at, received_from = _mtime(path, tz), "mtime"

    body_part = msg.get_body(preferencelist=("plain", "html"))
    body = ""
    if body_part is not None:
        try:
            content = body_part.get_content()
        except (LookupError, UnicodeDecodeError):
            content = decode_bytes(body_part.get_payload(decode=True) or b"", source)
        body = html_text(content) if body_part.get_content_type() == "text/html" else content
    attachments = list(msg.iter_attachments())
    if body.strip():
        try:
            yield _from_document(body, source, received_at, received_from, config, sender, subject)
        except InputError as err:
            yield err
    elif not attachments:
        yield InputError(source, "邮件没有正文，也没有附件", "empty")

    for part in attachments:
        fname = part.get_filename() or "附件"
        asource = f"{source}#{fname}"
        ext = Path(fname).suffix.lower()
        data = part.get_payload(decode=True) or b""
        try:
            if ext in TEXT_EXTS:
                text = decode_bytes(data, asource)
            elif ext == ".docx":
                text = docx_text(data, asource)
            else:
                raise InputError(asource, f"不支持的附件类型 {ext or '(无扩展名)'}（支持 .txt .md .docx）",
                                 "unsupported")
            if not text.strip():
                raise InputError(asource, "附件为空", "empty")
            # Title: the attachment's 标题 header, else its first line (not the file name).
            yield _from_document(text, asource, received_at, received_from, config, sender)
        except InputError as err:
            yield err


def _read_document(path: Path, config: Config) -> Iterator[Report | InputError]:
    source = str(path)
    try:
        _check_size(path, config)
        data = path.read_bytes()
        text = docx_text(data, source) if path.suffix.lower() == ".docx" else decode_bytes(data, source)
        yield _from_document(text, source, _mtime(path, config.ingest.timezone), "mtime", config)
    except InputError as err:
        yield err


# ---------------------------------------------------------------- walking the inbox

def iter_files(paths: Iterable[str | os.PathLike]) -> Iterator[Path | InputError]:
    """Files under ``paths`` (folders recursively, sorted, hidden files skipped)."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(root) / name
        elif path.is_file():
            yield path
        else:
            yield InputError(str(path), "文件或文件夹不存在", "unreadable")


def read_file(path: Path, config: Config) -> Iterator[Report | InputError]:
    """Every report in one file (a single one for documents, many for .jsonl/.csv/.eml)."""
    ext = path.suffix.lower()
    try:
        if ext == ".jsonl":
            yield from _read_jsonl(path, config)
        elif ext == ".csv":
            yield from _read_csv(path, config)
        elif ext == ".eml":
            yield from _read_eml(path, config)
        elif ext in TEXT_EXTS or ext == ".docx":
            yield from _read_document(path, config)
        else:
            yield InputError(str(path), f"不支持的文件类型 {ext or '(无扩展名)'}"
                             f"（支持 {' '.join(sorted(SUPPORTED_EXTS))}）", "unsupported")
    except OSError as exc:
        yield InputError(str(path), f"无法读取: {exc.strerror or exc}", "unreadable")


def iter_reports(paths: Iterable[str | os.PathLike], config: Config | None = None
                 ) -> Iterator[Report | InputError]:
    """Stream every report (or the error that stopped it) under ``paths``."""
    config = config or load_config()
    for item in iter_files(paths):
        if isinstance(item, InputError):
            yield item
        else:
            yield from read_file(item, config)
