"""The label set (focus areas, urgency levels, screening flags, severity grades) as data."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LABELS_FILE = Path(__file__).resolve().parent / "data" / "labels.toml"


@dataclass(frozen=True)
class Label:
    code: str
    name: str
    about: str


@dataclass(frozen=True)
class SeverityGrade:
    grade: str
    dead: int
    injured: int
    loss_wan: float  # direct economic loss, in 万元


@dataclass(frozen=True)
class LabelSet:
    focus: tuple[Label, ...]
    urgency: tuple[Label, ...]
    flags: tuple[Label, ...]
    severity: tuple[SeverityGrade, ...]  # most severe first

    @property
    def focus_codes(self) -> tuple[str, ...]:
        return tuple(l.code for l in self.focus)

    @property
    def urgency_codes(self) -> tuple[str, ...]:
        return tuple(l.code for l in self.urgency)

    @property
    def flag_codes(self) -> tuple[str, ...]:
        return tuple(l.code for l in self.flags)

    def name(self, code: str) -> str:
        for group in (self.focus, self.urgency, self.flags):
            for label in group:
                if label.code == code:
                    return label.name
        return code


@lru_cache(maxsize=1)
def load_labels() -> LabelSet:
    """The label set shipped with the package."""
    with open(LABELS_FILE, "rb") as fh:
        data = tomllib.load(fh)

    def group(name):
        return tuple(Label(code, v["name"], v["about"]) for code, v in data[name].items())

    grades = tuple(SeverityGrade(g["grade"], g["dead"], g["injured"], g["loss_wan"]) for g in data["severity"])
    return LabelSet(group("focus"), group("urgency"), group("flags"), grades)


FOCUS = load_labels().focus_codes
URGENCY = load_labels().urgency_codes
FLAGS = load_labels().flag_codes
