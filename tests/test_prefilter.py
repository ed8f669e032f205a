"""The literal prefilter: a guarded pattern finds exactly what the plain one finds."""

import re

import pytest

from pipeline.corpus import load_split
from pipeline.prefilter import REGEX_FROM, Guarded, guard


@pytest.fixture(scope="module")
def texts():
    return [r["text"] for r in load_split("dev")] + ["", "终报", "已全部撤离5人", "a.b(c)*"]


@pytest.mark.parametrize("pattern", [
    r"终报|已平息|已全部撤离|已全部劝返|全部扑灭|明火已(?:被)?扑灭|已恢复通行|已恢复正常|处置完毕|已解除",
    r"(?:转移|疏散|撤离|安置)[^。；\n]{0,12}?(?P<n>\d+)(?:余|多)?(?:名|人)",
    r"拟于|计划|准备|酝酿|扬言|动向|苗头|串联|相约",
    r"饮用水|水源地|取水口|自来水厂|水厂|供水",
    r"a\.b|\(c\)\*|x\|y|终报|平息|撤离|劝返",  # strings that are regex syntax, escaped
])
def test_guarded_finds_what_the_pattern_finds(pattern, texts):
    rx = re.compile(pattern)
    g = guard(rx)
    assert isinstance(g, Guarded)
    for t in texts:
        assert [m.span() for m in g.finditer(t)] == [m.span() for m in rx.finditer(t)]
        assert bool(g.search(t)) == bool(rx.search(t))


def test_large_groups_are_tested_by_one_regex():
    g = guard(re.compile(r"终报|已平息|已全部撤离|已全部劝返|全部扑灭|已恢复通行|已恢复正常|处置完毕"))
    assert len(g.need[0]) >= REGEX_FROM and not isinstance(g._tests[0], tuple)
    assert g.may_match("险情已平息") and not g.may_match("险情仍在发展")


@pytest.mark.parametrize("pattern, led", [
    (r"(?<!第)\d+人|死亡", True),  # a count behind a lookbehind: re has no prefix of its own
    (r"(?:出现|有)症状|(?P<n>\d+)例", True),
    (r"(?:a|b)?c+", True),
    (r"abc|abd", False),  # re's own literal prefix
    (r"[^a]b|c", False),  # any character may come first
    (r"x*", False),  # may match empty
    (r"(?<=另)\d+人", False),  # a lookaround in front
    (r"(?i)abc|d", False),
])
def test_lead_only_where_re_scans_every_position(pattern, led, texts):
    from pipeline.prefilter import lead

    rx = re.compile(pattern)
    out = lead(rx)
    assert (out is not rx) == led
    for t in texts + ["另12人", "有症状", "3例", "ccc", "C"]:
        assert [(m.span(), m.groups()) for m in out.finditer(t)] == [(m.span(), m.groups()) for m in rx.finditer(t)]
        ours, theirs = out.match(t, 1), rx.match(t, 1)
        assert (ours and ours.span()) == (theirs and theirs.span())
    assert out.groupindex == rx.groupindex and out.groups == rx.groups
