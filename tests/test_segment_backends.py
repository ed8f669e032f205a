"""The rjieba backend gives exactly our jieba tokens, on the whole corpus, with our dictionary."""

import json

import pytest

from pipeline.clean import clean_text
from pipeline.config import load_config
from pipeline.corpus import CORPUS_DIR, SPLITS
from pipeline.errors import ConfigError
from pipeline.segment import Segmenter

rjieba = pytest.importorskip("rjieba")


@pytest.fixture(scope="module")
def segmenters():
    cfg = load_config().segment
    return (Segmenter(cfg.dictionary_path, cfg.hmm, cfg.cache_path, "jieba"),
            Segmenter(cfg.dictionary_path, cfg.hmm, cfg.cache_path, "rjieba"))


def test_same_tokens_on_the_whole_corpus(segmenters):
    py, rs = segmenters
    texts = [clean_text(json.loads(line)["text"]) for split in SPLITS
             for line in open(CORPUS_DIR / f"{split}.jsonl", encoding="utf-8")]
    assert len(texts) > 1200
    differing = [t[:40] for t in texts if py.cut(t) != rs.cut(t)]
    assert differing == []


def test_domain_words_and_near_ties(segmenters):
    py, rs = segmenters
    for text in ("处理方式", "县应急管理局要求统一口径", "B超检查", "GDP增长3.5%，PM2.5"):
        assert rs.cut(text) == py.cut(text)


def test_unknown_backend_is_a_config_error():
    cfg = load_config().segment
    with pytest.raises(ConfigError):
        Segmenter(cfg.dictionary_path, cfg.hmm, cfg.cache_path, "pkuseg")
