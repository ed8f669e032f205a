"""Segmentation: the one place jieba lives.

One ``jieba.Tokenizer`` instance of our own (never jieba's global functions), built once per
process and per dictionary, with the domain dictionary from ``corpus/``.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .config import SegmentConfig, load_config
from .errors import ConfigError
from .records import Token

_LOCK = threading.Lock()
_TOKENIZERS: dict[tuple[str, str], "Segmenter"] = {}


class Segmenter:
    """Our jieba tokenizer with the domain dictionary loaded."""

    def __init__(self, dictionary: Path, hmm: bool = False, cache_dir: Path | None = None):
        import jieba

        jieba.setLogLevel(logging.WARNING)
        if not dictionary.is_file():
            raise ConfigError(f"领域词典不存在: {dictionary}")
        self.dictionary = dictionary
        self.hmm = hmm
        self._tk = jieba.Tokenizer()
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            self._tk.tmp_dir = str(cache_dir)
        self._tk.initialize()
        self._tk.load_userdict(str(dictionary))

    def cut(self, text: str) -> list[str]:
        """The words of ``text`` (whitespace included, so they join back to ``text``)."""
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


def get_segmenter(config: SegmentConfig | None = None) -> Segmenter:
    """The process-wide segmenter for this configuration, built on first use."""
    config = config or load_config().segment
    key = (str(config.dictionary_path), str(config.hmm))
    with _LOCK:
        seg = _TOKENIZERS.get(key)
        if seg is None:
            seg = Segmenter(config.dictionary_path, config.hmm, config.cache_path)
            _TOKENIZERS[key] = seg
        return seg
