"""Our own exception classes. Messages an editor sees are in Chinese; each has a code."""

from __future__ import annotations


class TriageError(Exception):
    """Base class for every error triage raises on purpose."""

    code = "E000"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class ConfigError(TriageError):
    """The TOML configuration is missing, malformed or holds a bad value."""

    code = "E001"


class InputError(TriageError):
    """One input (a file, a line of a file, an attachment) could not be read as a report.

    ``kind`` is a stable machine name for the reason (``binary``, ``empty``, ...);
    the rest of the batch goes on.
    """

    code = "E100"
    codes = {
        "unreadable": "E101",
        "binary": "E102",
        "empty": "E103",
        "oversized": "E104",
        "encoding": "E105",
        "json": "E106",
        "missing_field": "E107",
        "bad_time": "E108",
        "unsupported": "E109",
        "bad_record": "E110",
        "csv": "E111",
        "docx": "E112",
        "eml": "E113",
    }

    def __init__(self, source: str, reason: str, kind: str, line: int | None = None):
        self.source = source
        self.line = line
        self.kind = kind
        self.reason = reason
        self.code = self.codes.get(kind, "E100")
        where = f"{source} 第{line}行" if line is not None else source
        super().__init__(f"{where}: {reason}")

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "line": self.line,
            "code": self.code,
            "kind": self.kind,
            "message": self.reason,
        }


class ModelError(TriageError):
    """A model file is missing, untrusted or does not fit this version."""

    code = "E200"
