import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.clean import clean_text, fold_punctuation, fold_width, noise_spans

NOISE_CASES = [
    ("信息工作8 ^/ F0 i4 G6 R( W0 m5 l. A9 L十分重要", "信息工作十分重要"),
    ("\" A# S\" v9 T, g一、在思想认识上", "一、在思想认识上"),
    ("; _# S# O( ^7 S6 ]; b0 Z' h& A9 V五、", "五、"),
    ("……发挥着十分重要的作用。% | k! ]( M: a. a", "……发挥着十分重要的作用。"),
    ("第一段。% | k! ]( M: a. a\n第二段。", "第一段。\n第二段。"),
    ("全年完成8 ^/ F0 i4 G6 R( 目标", "全年完成目标"),
]

KEEP_CASES = [
    "2026-11-25 14:30召开会议",
    "损失约3.5万元，PM2.5浓度上升",
    "请拨打110或12345热线",
    "GDP同比增长5.2%，COVID-19防控，CT检查",
    "依据〔2026〕12号文件",
    "详见http://www.example.gov.cn/news/2026/1125.html?id=3&p=2",
    "G318线K2156处",
    "A级景区、5G基站、3A认证",
    "项目｜1 | 2 | 3",
    "报送单位：县委办 签发人：王某",
    "\"关于…的报告\"",
]


@pytest.mark.parametrize("noisy,clean", NOISE_CASES)
def test_noise_removed(noisy, clean):
    assert clean_text(noisy) == clean


@pytest.mark.parametrize("text", KEEP_CASES)
def test_legitimate_ascii_kept(text):
    assert noise_spans(text) == []
    assert clean_text(text) == fold_punctuation(text)  # nothing cut (quotes may become “”)


def test_width_folding_keeps_chinese_punctuation():
    assert fold_width("２０２６年１１月，ＧＤＰ增长３．５％。（一）") == "2026年11月，GDP增长3.5%。（一）"


def test_whitespace_normalised():
    assert clean_text("　　第一段\r\n\r\n\r\n\r\n第二段\t 内容\u200b ") == "第一段\n\n第二段 内容"


CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
NOISE_ALPHABET = st.sampled_from(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789^/()#&;_'\"%|!]:.,[ "))
DATES = st.builds(lambda y, m, d: f"{y}-{m:02d}-{d:02d}", st.integers(2000, 2030),
                  st.integers(1, 12), st.integers(1, 28))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(CJK, min_size=1, max_size=8), st.text(NOISE_ALPHABET, max_size=20),
                          DATES), min_size=1, max_size=12))
def test_never_removes_cjk_or_date_digits(parts):
    text = "".join(p if not re.fullmatch(r"\d{4}-\d\d-\d\d", p) else f" {p} " for p in parts)
    cleaned = clean_text(text)
    cjk_in = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    cjk_out = [c for c in cleaned if "\u4e00" <= c <= "\u9fff"]
    assert cjk_in == cjk_out
    for p in parts:
        if re.fullmatch(r"\d{4}-\d\d-\d\d", p):
            assert p in cleaned


@pytest.mark.parametrize("text,folded", [
    ("11月14日至17日,我院新生儿科(NICU)陆续有4名患儿发病,约1,800人", "11月14日至17日，我院新生儿科（NICU）陆续有4名患儿发病，约1,800人"),
    ("区委、管委会:\n今日凌晨3:50,关东村发生火灾;无人员伤亡!", "区委、管委会：\n今日凌晨3:50，关东村发生火灾；无人员伤亡！"),
    ('以"企业已私下协商赔偿、损失不大"为由,未上报。', "以“企业已私下协商赔偿、损失不大”为由，未上报。"),
    ('他说"好"吗?还有一个"', '他说"好"吗？还有一个"'),  # an odd count of quotes is left alone
    # between ASCII on both sides a comma stays, as in a URL or a list of codes
    ("详见http://www.example.gov.cn/a?id=3&p=2,PM2.5浓度", "详见http://www.example.gov.cn/a?id=3&p=2,PM2.5浓度"),
    ('He said "fine", (ok)', 'He said "fine", (ok)'),
])
def test_half_width_punctuation_in_chinese_is_folded(text, folded):
    assert clean_text(text) == folded
    assert len(fold_punctuation(text)) == len(text)
