"""The spaCy ``zh`` pipeline, tokenized by our jieba segmenter.

The tokenizer is registered as ``triage.JiebaTokenizer.v1`` (also as a ``spacy_tokenizers``
entry point), so the pipeline can be rebuilt from its config. Tokens map exactly onto the
cleaned text: ``doc.text == text`` and ``token.idx`` is the jieba offset.
Later stages add their rule components to the pipeline returned by ``get_nlp``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import spacy
from spacy.tokens import Doc
from spacy.util import registry

from .config import Config, SegmentConfig, load_config
from .segment import Segmenter, get_segmenter

if TYPE_CHECKING:
    from .facts import Facts


class JiebaTokenizer:
    """A spaCy tokenizer that segments with our ``Segmenter``."""

    def __init__(self, vocab, segmenter: Segmenter):
        self.vocab = vocab
        self.segmenter = segmenter
        self._orth: dict[str, int] = {}
        self._orth_vocab = vocab

    def _orths(self, words: list[str]) -> list[int]:
        """The words' lexeme ids. ``Doc`` hashes each string it is given (UTF-8 encoding and
        murmurhash per token); most words recur, so their ids come from a dict instead (a
        third less time building the ``Doc``, same ``Doc``)."""
        if self._orth_vocab is not self.vocab:
            self._orth, self._orth_vocab = {}, self.vocab
        cache = self._orth
        out = list(map(cache.get, words))
        if None in out:
            for k, orth in enumerate(out):
                if orth is None:
                    out[k] = orth = self.vocab[words[k]].orth  # adds the lexeme if new
                    if len(cache) < 300_000:
                        cache[words[k]] = orth
        return out

    def __call__(self, text: str) -> Doc:
        words = self.segmenter.cut(text)
        doc = Doc(self.vocab, words=self._orths(words), spaces=[False] * len(words))
        # The words as strings, for the stages that need only those (creating a Token object
        # per word to read its text again is the dearest part of iterating a Doc).
        doc.user_data["triage_words"] = words
        return doc

    def pipe(self, texts, batch_size: int = 1000):
        for text in texts:
            yield self(text)

    # Stateless beyond its config: serialisation writes nothing.
    def to_bytes(self, **kwargs) -> bytes:
        return b""

    def from_bytes(self, data: bytes, **kwargs) -> "JiebaTokenizer":
        return self

    def to_disk(self, path, **kwargs) -> None:
        return None

    def from_disk(self, path, **kwargs) -> "JiebaTokenizer":
        return self


@registry.tokenizers("triage.JiebaTokenizer.v1")
def create_jieba_tokenizer(dictionary: str = "corpus/dict/domain.txt", hmm: bool = False,
                           cache_dir: str = "", backend: str = "jieba") -> Callable:
    """spaCy factory: a jieba tokenizer with the given domain dictionary."""

    def make(nlp) -> JiebaTokenizer:
        cfg = SegmentConfig(dictionary=dictionary, hmm=hmm, cache_dir=cache_dir, backend=backend)
        return JiebaTokenizer(nlp.vocab, get_segmenter(cfg))

    return make


_LOCK = threading.Lock()
_NLP: dict[tuple, "spacy.Language"] = {}


def build_nlp(config: Config | None = None) -> "spacy.Language":
    """A fresh blank ``zh`` pipeline with our tokenizer (no components yet)."""
    seg = (config or load_config()).segment
    tok = {
        "@tokenizers": "triage.JiebaTokenizer.v1",
        "dictionary": seg.dictionary,
        "hmm": seg.hmm,
        "cache_dir": seg.cache_dir,
        "backend": seg.backend,
    }
    return spacy.blank("zh", config={"nlp": {"tokenizer": tok}})


def get_nlp(config: Config | None = None) -> "spacy.Language":
    """The process-wide pipeline for this configuration, built once: our tokenizer and the
    fact components (times, casualties, places)."""
    from .facts import add_fact_components

    config = config or load_config()
    key = (config.segment,)
    with _LOCK:
        nlp = _NLP.get(key)
        if nlp is None:
            nlp = add_fact_components(build_nlp(config))
            _NLP[key] = nlp
        return nlp


@dataclass
class Analysis:
    """The nlp stage's output for one report: the ``Doc`` (tokens, fact spans), the facts,
    and the title's words."""

    doc: Doc
    facts: "Facts"
    title_words: list[str]


def analyse_text(nlp, text: str, title: str, received_at) -> Analysis:
    """Run the pipeline on one report's cleaned text (and segment its title)."""
    from .facts import analyse, deaths_in_title

    doc = analyse(nlp, text, received_at)
    deaths_in_title(title, doc._.facts)
    return Analysis(doc, doc._.facts, nlp.tokenizer.segmenter.words(title) if title else [])
