"""Cleaning: fold widths, strip web-scrape noise, normalise whitespace.

Each fix is a small function; ``clean_text`` applies them in order. The original text is
kept by the caller; the cleaned text is what the later stages and editors see.
"""

from __future__ import annotations

import re

# Full-width digits and Latin letters → half-width. Chinese punctuation (，。：；（）！？) is kept.
_WIDTH_TABLE = {cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)}
_WIDTH_TABLE.update({cp: cp - 0xFEE0 for cp in range(0xFF21, 0xFF3B)})
_WIDTH_TABLE.update({cp: cp - 0xFEE0 for cp in range(0xFF41, 0xFF5B)})
_WIDTH_TABLE[0xFF05] = ord("%")  # ％
_WIDTH_TABLE[0xFF0B] = ord("+")  # ＋
_FULLWIDTH_POINT = re.compile(r"(?<=\d)．(?=\d)")
# Any character that fold_width changes (most texts have none, and translate is slow).
_FULLWIDTH = re.compile("[" + "".join(chr(cp) for cp in sorted(_WIDTH_TABLE)) + "．]")

# Half-width , : ; ? ! ( ) next to a Chinese character are Chinese punctuation typed on a
# half-width keyboard or pasted from a chat (some offices write whole reports so); the rules
# read the full-width forms. Between digits or Latin letters (1,800  14:30  http://) they stay.
_HALF_PUNCT_TABLE = str.maketrans(",:;?!()", "，：；？！（）")
_CJK = r"[\u3000-\u303f\u3400-\u9fff\uff01-\uff5e“”‘’…—]"
_HALF_PUNCT = re.compile(rf"(?<={_CJK})[,:;?!()]+|[,:;?!()]+(?={_CJK})")
_ANY_HALF = re.compile(r'[,:;?!()"]')
_HAS_CJK = re.compile(r"[\u3400-\u9fff]")

_SPACES = re.compile(r"[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MULTISPACE = re.compile(r" {2,}")
_BLANK_LINES = re.compile(r"\n{3,}")

# A run of printable ASCII, possibly with spaces inside: the only place noise can hide.
_ASCII_RUN = re.compile(r"[!-~](?:[ ]*[!-~])*")
_TOKEN = re.compile(r"\S+")
# A two-character token pairing one Latin letter with a digit or a symbol: F0, i4, R(, A#, k!
_MIXED = re.compile(r"^(?:[A-Za-z][^A-Za-z]|[^A-Za-z][A-Za-z])$")
_SYMBOL = re.compile(r"[^0-9A-Za-z]")
# Three short tokens in a row, each ending or starting at a space: noise needs at least that.
_SHORT_TOKENS = re.compile(r"[!-~] +[!-~]{1,2} +[!-~]")


def fold_width(text: str) -> str:
    """Fold full-width digits, letters, ％ and the decimal point to half-width."""
    if not _FULLWIDTH.search(text):
        return text
    return _FULLWIDTH_POINT.sub(".", text.translate(_WIDTH_TABLE))


def fold_punctuation(text: str) -> str:
    """Half-width punctuation in Chinese text to full-width, one character for one: , : ; ? !
    ( ) touching a Chinese character or full-width mark, and straight double quotes paired
    within a line of Chinese (an odd count is left alone) to “ ”."""
    if not _ANY_HALF.search(text):
        return text
    text = _HALF_PUNCT.sub(lambda m: m.group().translate(_HALF_PUNCT_TABLE), text)
    if '"' in text:
        lines = text.split("\n")
        for i, line in enumerate(lines):
            n = line.count('"')
            if n and n % 2 == 0 and _HAS_CJK.search(line):
                parts = line.split('"')
                lines[i] = "".join(part + ("“" if k % 2 == 0 else "”") for k, part in enumerate(parts[:-1])) + parts[-1]
        text = "\n".join(lines)
    return text


def _is_noise(tokens: list[str]) -> bool:
    if len(tokens) < 3:
        return False
    mixed = sum(1 for t in tokens if _MIXED.match(t))
    symbolic = sum(1 for t in tokens if _SYMBOL.search(t))
    return mixed >= 2 or (len(tokens) >= 4 and symbolic >= 3)


def noise_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of web-scrape noise: runs of three or more one- or two-character
    ASCII tokens mixing letters with digits or symbols (``8 ^/ F0 i4 G6 R( W0``).

    Real ASCII in reports (2026-11-25, 14:30, 3.5万元, PM2.5, GDP, COVID-19, URLs) comes in
    tokens longer than two characters or without that mix, so it is never matched.
    """
    spans = []
    if not _SHORT_TOKENS.search(text):
        return spans
    for run in _ASCII_RUN.finditer(text):
        toks = [(m.start() + run.start(), m.end() + run.start(), m.group())
                for m in _TOKEN.finditer(run.group())]
        group: list[tuple[int, int, str]] = []
        for tok in toks + [(0, 0, "LONG-SENTINEL")]:
            if len(tok[2]) <= 2:
                group.append(tok)
                continue
            if _is_noise([g[2] for g in group]):
                spans.append((group[0][0], group[-1][1]))
            group = []
    return spans


def remove_noise(text: str) -> str:
    """Cut the noise spans, with the spaces around them."""
    spans = noise_spans(text)
    if not spans:
        return text
    out, pos = [], 0
    for start, end in spans:
        while start > pos and text[start - 1] == " ":
            start -= 1
        while end < len(text) and text[end] == " ":
            end += 1
        out.append(text[pos:start])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def normalize_whitespace(text: str) -> str:
    """Unify line breaks, drop invisible and control characters, collapse spaces and blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    lines = [_MULTISPACE.sub(" ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def clean_text(text: str) -> str:
    """The cleaned text: widths folded, noise removed, whitespace normalised, then half-width
    punctuation in Chinese folded (after the noise, which is found in runs of ASCII)."""
    text = normalize_whitespace(fold_width(text))
    cut = remove_noise(text)
    # normalize_whitespace is idempotent: only a text that lost noise needs it again.
    return fold_punctuation(text if cut is text else normalize_whitespace(cut))
