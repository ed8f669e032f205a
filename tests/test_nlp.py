import jieba
import pytest
import spacy

from pipeline.config import load_config
from pipeline.nlp import build_nlp, get_nlp
from pipeline.segment import get_segmenter

TEXTS = [
    "11月25日14时30分许，青岚县石桥镇一在建工地发生塔吊倒塌事故，造成2人死亡。",
    "县应急管理局要求统一口径，不对外发布。\n\n部分群众越级上访，疑似群体性事件苗头。",
    "GDP增长3.5%，PM2.5浓度 45 微克/立方米；  http://www.example.gov.cn",
    "",
]


@pytest.fixture(scope="session")
def nlp():
    return get_nlp()


@pytest.mark.parametrize("text", TEXTS)
def test_tokens_map_exactly_onto_text(nlp, text):
    doc = nlp(text)
    assert doc.text == text
    for tok in doc:
        assert text[tok.idx:tok.idx + len(tok.text)] == tok.text
    assert "".join(t.text for t in doc) == text


def test_domain_dictionary_words_are_single_tokens(nlp):
    words = [t.text for t in nlp("该镇危化品仓库附近塔吊倒塌，有人要求统一口径，另有群众越级上访。")]
    for w in ("危化品", "塔吊", "统一口径", "越级上访"):
        assert w in words


def test_segmenter_is_our_own_instance_not_the_global_one():
    seg = get_segmenter(load_config().segment)
    assert seg is get_segmenter(load_config().segment)  # loaded once per process
    assert seg._tk is not jieba.dt
    assert "统一口径" not in jieba.dt.FREQ or not jieba.dt.initialized


def test_offsets_agree_with_segmenter():
    seg = get_segmenter(load_config().segment)
    text = TEXTS[0]
    toks = seg.tokenize(text)
    assert [(t.text, t.start) for t in toks] == [(t.text, t.idx) for t in get_nlp()(text)]


def test_pipeline_rebuilds_from_its_config(tmp_path):
    nlp = build_nlp(load_config())
    nlp.to_disk(tmp_path / "nlp")
    again = spacy.load(tmp_path / "nlp")
    assert [t.text for t in again(TEXTS[1])] == [t.text for t in nlp(TEXTS[1])]
    cfg_nlp = spacy.blank("zh", config={"nlp": {"tokenizer": dict(nlp.config["nlp"]["tokenizer"])}})
    assert [t.text for t in cfg_nlp(TEXTS[0])] == [t.text for t in nlp(TEXTS[0])]


@pytest.mark.parametrize("text", TEXTS)
def test_tokenizer_doc_equals_a_doc_built_from_the_words(text):
    """The lexeme-id cache gives the very Doc that ``Doc(vocab, words=...)`` gives, for new
    and for cached words, and starts again when the vocab is replaced."""
    from spacy.tokens import Doc

    nlp = build_nlp(load_config())
    tok = nlp.tokenizer
    words = tok.segmenter.cut(text)
    for _ in range(2):  # the first pass adds new lexemes, the second reads the cache
        doc = tok(text)
        ref = Doc(nlp.vocab, words=words, spaces=[False] * len(words))
        attrs = ["ORTH", "NORM", "LOWER", "SHAPE", "LIKE_NUM", "IS_DIGIT", "IS_PUNCT", "IS_SPACE", "IDX"]
        assert [t.text for t in doc] == words and doc.text == ref.text
        assert (doc.to_array(attrs) == ref.to_array(attrs)).all()
    tok.vocab = spacy.blank("zh").vocab
    assert [t.text for t in tok(text)] == words
