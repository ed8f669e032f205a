"""Frozen configuration loaded from TOML, with the documented defaults in ``defaults.toml``."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
DEFAULTS_FILE = PACKAGE_DIR / "defaults.toml"


@dataclass(frozen=True)
class IngestConfig:
    max_file_mb: float
    max_text_chars: int
    timezone: str


@dataclass(frozen=True)
class SegmentConfig:
    dictionary: str
    hmm: bool
    cache_dir: str
    backend: str = "jieba"

    @property
    def dictionary_path(self) -> Path:
        return resolve_path(self.dictionary)

    @property
    def cache_path(self) -> Path:
        if self.cache_dir:
            return resolve_path(self.cache_dir)
        return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "triage"


@dataclass(frozen=True)
class DeadlineConfig:
    flash_minutes: int
    urgent_minutes: int

    def minutes(self, urgency: str) -> int | None:
        """The deadline for a report of this urgency, or None (routine has none)."""
        return {"flash": self.flash_minutes, "urgent": self.urgent_minutes}.get(urgency)


@dataclass(frozen=True)
class ScreenConfig:
    threshold: float


@dataclass(frozen=True)
class ClassifyConfig:
    models_dir: str
    review_threshold: float
    override_recent_hours: int
    override_serious: int
    override_crowd: int
    override_evacuated: int

    @property
    def models_path(self) -> Path:
        return resolve_path(self.models_dir)


@dataclass(frozen=True)
class QueueConfig:
    db: str
    busy_timeout_seconds: float
    claim_minutes: int
    thread_window_hours: int
    thread_similarity: float


@dataclass(frozen=True)
class PriorityConfig:
    urgency: dict
    severity: dict
    flags: dict
    waiting_per_hour: float
    waiting_cap: float
    needs_review: float
    watchlist: dict


SECTIONS = {"ingest": IngestConfig, "segment": SegmentConfig, "deadlines": DeadlineConfig,
            "screen": ScreenConfig, "classify": ClassifyConfig, "queue": QueueConfig,
            "priority": PriorityConfig}


@dataclass(frozen=True)
class Config:
    ingest: IngestConfig
    segment: SegmentConfig
    deadlines: DeadlineConfig
    screen: ScreenConfig
    classify: ClassifyConfig
    queue: QueueConfig
    priority: PriorityConfig
    source: str = "defaults"


def resolve_path(p: str) -> Path:
    path = Path(p).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"配置文件不存在: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"配置文件 {path} 不是合法的 TOML: {exc}") from None


def _build(section: str, cls: type, values: dict[str, Any], origin: str):
    kwargs = {}
    for f in fields(cls):
        if f.name not in values:
            raise ConfigError(f"{origin}: [{section}] 缺少 {f.name}")
        value = values[f.name]
        expected = {"float": (int, float), "int": int, "bool": bool, "str": str, "dict": dict}.get(str(f.type))
        if expected and (not isinstance(value, expected) or (expected is int and isinstance(value, bool))):
            raise ConfigError(f"{origin}: [{section}] {f.name} 应为 {f.type}，实际为 {value!r}")
        kwargs[f.name] = value
    return cls(**kwargs)


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Load the defaults, then overlay ``path`` (or ``$TRIAGE_CONFIG``) if given."""
    data = _read_toml(DEFAULTS_FILE)
    origin = "defaults"
    path = path or os.environ.get("TRIAGE_CONFIG") or None
    if path:
        user = _read_toml(Path(path))
        origin = str(path)
        for section, values in user.items():
            if section not in SECTIONS or not isinstance(values, dict):
                raise ConfigError(f"{path}: 未知的配置节 [{section}]")
            unknown = set(values) - {f.name for f in fields(SECTIONS[section])}
            if unknown:
                raise ConfigError(f"{path}: [{section}] 中有未知的键 {sorted(unknown)}")
            merged = {**data[section], **values}
            for key, value in values.items():
                # Tables replace the default table whole, except the urgency/severity/flag
                # weights, where a user may override one entry.
                if isinstance(value, dict) and key != "watchlist":
                    merged[key] = {**data[section].get(key, {}), **value}
            data[section] = merged
    built = {name: _build(name, cls, data.get(name, {}), origin) for name, cls in SECTIONS.items()}
    return Config(**built, source=origin)
