"""Fact components: tables of (text, expected) written for these tests."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pipeline.facts import analyse, parse_count, severity, Facts
from pipeline.nlp import get_nlp

TZ = ZoneInfo("Asia/Shanghai")
RECEIVED = datetime(2026, 11, 25, 16, 20, tzinfo=TZ)


@pytest.fixture(scope="session")
def nlp():
    return get_nlp()


def facts_of(nlp, text, received=RECEIVED):
    return analyse(nlp, text, received)._.facts


@pytest.mark.parametrize("text,expected", [
    ("2026年11月25日14时30分许，某镇发生火灾。", "2026-11-25T14:30"),
    ("11月25日14时30分许，某镇发生火灾。", "2026-11-25T14:30"),
    ("25日下午2点半左右，某村发生滑坡。", "2026-11-25T14:30"),
    ("今日凌晨3时许，城关镇一民房起火。", "2026-11-25T03:00"),
    ("昨晚8时许，某路口发生交通事故。", "2026-11-24T20:00"),
    ("昨晚8点左右，两车相撞。", "2026-11-24T20:00"),
    ("14:30，某厂发生泄漏。", "2026-11-25T14:30"),
    ("今天下午两点多，村民报警称发现死鱼。", "2026-11-25T14:00"),
    ("凌晨三点来钟，该村发生火灾。", "2026-11-25T03:00"),
    ("今日凌晨，某镇发生山体滑坡。", "2026-11-25T03:00"),
    ("11月24日，县委召开会议。当日晚上9时许，某厂发生爆炸。", "2026-11-24T21:00"),
    ("11月23日上午，检查组进驻。次日14时许，发现偷排。", "2026-11-24T14:00"),
    ("12月30日23时许，某地发生火灾。", "2025-12-30T23:00"),
])
def test_event_time(nlp, text, expected):
    f = facts_of(nlp, text)
    assert f.event_time is not None and f.event_time.isoformat(timespec="minutes") == expected + "+08:00"


def test_report_times_are_not_event_times(nlp):
    text = "报送时间：11月25日16时\n11月25日14时30分许，某镇一工地发生坍塌。县应急管理局15时10分接报后赶赴现场。"
    f = facts_of(nlp, text)
    assert f.event_time.isoformat(timespec="minutes") == "2026-11-25T14:30+08:00"
    assert f.learned_time.isoformat(timespec="minutes") == "2026-11-25T15:10+08:00"


def test_no_time_of_day_means_no_event_time(nlp):
    assert facts_of(nlp, "11月25日，某镇发生一起火灾，无人员伤亡。").event_time is None


@pytest.mark.parametrize("text,dead,injured,missing", [
    ("事故造成3人死亡、5人受伤。", 3, 5, None),
    ("造成三人死亡，两人受伤。", 3, 2, None),
    ("事故已造成2死5伤。", 2, 5, None),
    ("1人经抢救无效死亡，另有1人受轻伤。", 1, 1, None),
    ("一名工人被卷入机器，经送医抢救无效死亡。", 1, None, None),
    ("事故造成1死2重伤3轻伤。", 1, 5, None),
    ("造成5人受伤，其中2人重伤。", None, 5, None),
    ("此次火灾无人员伤亡。", 0, 0, None),
    ("滑坡导致2人失联，1人受伤。", None, 1, 2),
    ("死亡人数已上升至7人，仍有3人失踪。", 7, None, 3),
    ("事故造成数人受伤。", None, None, None),
    ("火灾造成店主李某某（男，63岁）死亡，其妻王某受伤。", 1, 1, None),
    ("其中2人经120现场确认死亡，1人腿部骨折。", 2, None, None),
    ("经抢救无效于17时20分死亡。患者张某（男，34岁）术后出现并发症。", None, None, None),
    ("槽罐车驾驶员轻微擦伤。", None, 1, None),
    ("现场十余人受伤。", None, None, None),
    ("经核实实际死亡5人，此前上报2人。", 5, None, None),
    ("无人失踪，无人受伤。", 0, 0, 0),  # nobody hurt: nobody died
])
def test_casualty_counts(nlp, text, dead, injured, missing):
    f = facts_of(nlp, text)
    assert (f.dead, f.injured, f.missing) == (dead, injured, missing)


def test_one_dead_two_serious_three_light_is_five_injured(nlp):
    f = facts_of(nlp, "事故造成1人死亡、2人重伤、3人轻伤。")
    assert (f.dead, f.injured, f.serious) == (1, 5, 2)


def test_vague_counts_recorded_as_vague(nlp):
    f = facts_of(nlp, "爆炸造成数人受伤，个别人员死亡。")
    assert f.injured is None and f.dead is None
    assert set(f.vague) == {"injured", "dead"}


def test_earlier_figures_kept_apart(nlp):
    f = facts_of(nlp, "经核实实际死亡5人，此前上报2人。")
    assert f.dead == 5 and f.earlier == {"dead": 2}


@pytest.mark.parametrize("text,loss,crowd", [
    ("直接经济损失约1200万元。", 1200.0, None),
    ("直接经济损失1.5亿元。", 15000.0, None),
    ("约60名农民工在县政府门口聚集讨薪。", None, 60),
    ("聚集人员约120人，堵塞道路。", None, 120),
    ("30余名业主到市政府门口聚集。", None, 30),
])
def test_loss_and_crowd(nlp, text, loss, crowd):
    f = facts_of(nlp, text)
    assert (f.loss_wan, f.crowd) == (loss, crowd)


@pytest.mark.parametrize("text,place", [
    ("青岚县石桥镇东坡村一在建工地发生塔吊倒塌。", "青岚县石桥镇东坡村"),
    ("城关镇锦绣社区一居民楼起火。", "城关镇锦绣社区"),
    ("G318线K2156处发生山体滑坡。", "G318线K2156处"),
])
def test_places(nlp, text, place):
    assert facts_of(nlp, text).place == place


def test_place_does_not_swallow_words(nlp):
    f = facts_of(nlp, "约60名农民工在县政府门口聚集。")
    assert all("农民工" not in p for p in f.places)


@pytest.mark.parametrize("dead,injured,loss,grade", [
    (0, 0, None, "一般"), (2, 9, None, "一般"), (3, 0, None, "较大"), (0, 10, None, "较大"),
    (10, 0, None, "重大"), (29, 0, None, "重大"), (30, 0, None, "特别重大"), (0, 0, 1000.0, "较大"),
    (0, 0, 5000.0, "重大"), (0, 0, 10000.0, "特别重大"), (None, None, None, None),
])
def test_severity_thresholds(dead, injured, loss, grade):
    f = Facts(dead=dead, injured=injured, loss_wan=loss)
    assert severity(f)[0] == grade


@pytest.mark.parametrize("token,value", [("3", 3), ("三", 3), ("两", 2), ("十二", 12), ("二十三", 23),
                                         ("十余", None), ("30多", None)])
def test_parse_count(token, value):
    assert parse_count(token) == value


def test_fact_spans_align_with_tokens(nlp):
    doc = analyse(nlp, "11月25日14时30分许，某镇发生火灾，造成2人死亡。", RECEIVED)
    labels = {s.label_: s.text for s in doc.spans["facts"]}
    assert labels["time"] == "11月25日14时30分许"
    assert labels["dead"] == "2人死亡"
