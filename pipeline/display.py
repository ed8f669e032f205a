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
