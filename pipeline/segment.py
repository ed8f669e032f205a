"""Segmentation: the one place jieba lives.

One ``jieba.Tokenizer`` instance of our own (never jieba's global functions), built once per
process and per dictionary, with the domain dictionary from ``corpus/``.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path

from .config import SegmentConfig, load_config
from .errors import ConfigError
from .records import Token

_LOCK = threading.Lock()
_TOKENIZERS: dict[tuple[str, str], "Segmenter"] = {}


class Segmenter:
    """Our jieba tokenizer with the domain dictionary loaded.

    ``backend="rjieba"`` cuts with the Rust port (jieba-rs, the ``fast`` extra) loaded with
    the same main dictionary and the same domain dictionary, for the same tokens, faster."""

    def __init__(self, dictionary: Path, hmm: bool = False, cache_dir: Path | None = None,
                 backend: str = "jieba"):
        import jieba

        jieba.setLogLevel(logging.WARNING)
        if not dictionary.is_file():
            raise ConfigError(f"领域词典不存在: {dictionary}")
        self.dictionary = dictionary
        self.hmm = hmm
        self.backend = backend
        self._tk = jieba.Tokenizer()
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            self._tk.tmp_dir = str(cache_dir)
        self._tk.initialize()
        self._tk.load_userdict(str(dictionary))
        self._rs = None
        if backend == "rjieba":
            self._rs = _rjieba(dictionary)
        elif backend != "jieba":
            raise ConfigError(f"[segment] backend 只能是 jieba 或 rjieba，而不是 {backend!r}")

    def cut(self, text: str) -> list[str]:
        """The words of ``text`` (whitespace included, so they join back to ``text``)."""
        if self._rs is not None:
            return self._rs.cut(text, self.hmm)
        return list(self._tk.cut(text, HMM=self.hmm))

    def tokenize(self, text: str) -> list[Token]:
        """Tokens with character offsets into ``text``."""
        out, pos = [], 0
        for word in self._tk.cut(text, HMM=self.hmm):
            out.append(Token(word, pos, pos + len(word)))
            pos += len(word)
        return out

    def words(self, text: str) -> list[str]:
        """Words without whitespace tokens, for features."""
        return [w for w in self._tk.cut(text, HMM=self.hmm) if not w.isspace()]


def _main_dictionary() -> Path:
    import jieba

    return Path(jieba.__file__).parent / "dict.txt"


def _entries(path: Path):
    """(word, frequency, tag) of each line of a jieba dictionary file (frequency 1 and tag None
    where a line leaves them out)."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 1
            tag = parts[2] if len(parts) > 2 else (parts[1] if len(parts) > 1 and not parts[1].isdigit() else None)
            yield parts[0], freq, tag


@lru_cache(maxsize=4)
def words_tagged(tags: frozenset[str]) -> frozenset[str]:
    """The words jieba's main dictionary tags with one of ``tags`` (parts of speech: v, p, r…)."""
    return frozenset(word for word, _, tag in _entries(_main_dictionary()) if tag in tags)


def _rjieba(dictionary: Path):
    """A jieba-rs tokenizer holding jieba's own main dictionary plus ours."""
    try:
        import rjieba
    except ImportError:
        raise ConfigError("[segment] backend = \"rjieba\" 需要安装 rjieba：pip install -e '.[fast]'") from None
    rs = rjieba.Jieba.empty()
    seen: dict[str, int] = {}
    shortfall = 0
    for path in (_main_dictionary(), dictionary):
        for word, freq, tag in _entries(path):
            # Python jieba adds a re-added word's frequency to its total; jieba-rs replaces
            # it. The total sets every word's probability, so keep the difference.
            shortfall += seen.get(word, 0)
            seen[word] = freq
            rs.add_word(word, freq, tag)
    if shortfall:
        # The balance goes on one private-use character that no report contains.
        rs.add_word("\ue000", shortfall, None)
    return rs


def get_segmenter(config: SegmentConfig | None = None) -> Segmenter:
    """The process-wide segmenter for this configuration, built on first use."""
    config = config or load_config().segment
    key = (str(config.dictionary_path), str(config.hmm), config.backend)
    with _LOCK:
        seg = _TOKENIZERS.get(key)
        if seg is None:
            seg = Segmenter(config.dictionary_path, config.hmm, config.cache_path, config.backend)
            _TOKENIZERS[key] = seg
        return seg
