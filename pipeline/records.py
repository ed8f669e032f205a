"""Typed records that flow between the stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Keys of a labeled record that are labels, not input: kept as ``gold``, never used to predict.
GOLD_KEYS = ("focus", "urgency", "flags", "facts")


@dataclass
class Report:
    """One report as read from the inbox, before and after cleaning.

    ``original`` is the text exactly as read (decoded); ``text`` is the cleaned text that the
    later stages and editors see. ``source`` names the file, and the line (``file:12``) or the
    attachment (``mail.eml#附件.docx``) it came from.
    """

    id: str
    source: str
    received_at: datetime
    original: str
    text: str = ""
    unit: str = ""
    title: str = ""
    event: str | None = None
    signer: str = ""
    gold: dict[str, Any] | None = None
    received_at_from: str = "record"  # record | header | email | mtime

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready record that ``triage process`` writes; later stages add keys."""
        out: dict[str, Any] = {
            "id": self.id,
            "source": self.source,
            "unit": self.unit,
            "title": self.title,
            "received_at": self.received_at.isoformat(timespec="seconds"),
            "text": self.text,
            "original": self.original,
        }
        if self.signer:
            out["signer"] = self.signer
        if self.event:
            out["event"] = self.event
        if self.received_at_from != "record":
            out["received_at_from"] = self.received_at_from
        if self.gold:
            out["gold"] = self.gold
        return out


@dataclass
class Token:
    """A segment of the cleaned text with its character offsets."""

    text: str
    start: int
    end: int


@dataclass
class BatchSummary:
    """What a batch run read, wrote, skipped and rejected: read == written + duplicates + rejected."""

    read: int = 0
    written: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"read": self.read, "written": self.written, "duplicates": self.duplicates,
                "rejected": self.rejected}
