"""Showing untrusted report text on a terminal: control characters and escapes shown literally."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def safe(text: str | None) -> str:
    """Make control characters visible (ESC → \\x1b) so that ANSI escapes in a report are
    printed, never interpreted; newlines and tabs are kept."""
    if not text:
        return text or ""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def width(text: str) -> int:
    """Columns a string takes on a terminal: CJK wide and full-width characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def clip(text: str, cols: int) -> str:
    """``text`` cut to at most ``cols`` terminal columns, with … when cut."""
    if width(text) <= cols:
        return text
    out, used = [], 0
    for ch in text:
        w = width(ch)
        if used + w > cols - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def table(headers: list[str], rows: list[list[str]], right: frozenset[int] = frozenset()) -> str:
    """A plain-text table aligned by terminal width (cells must already be safe to print);
    the columns whose index is in ``right`` are right-aligned."""
    cols = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells):
        out = []
        for i, cell in enumerate(cells):
            pad = " " * (cols[i] - width(cell))
            out.append(pad + cell if i in right else cell + pad)
        return "  ".join(out).rstrip()

    return "\n".join([line(headers)] + [line(r) for r in rows])
