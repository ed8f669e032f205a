"""Screening rules: honest bad news passes clean; each sign is raised with its evidence."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import load_config
from pipeline.facts import analyse
from pipeline.nlp import get_nlp
from pipeline.screen import Screener

TZ = ZoneInfo("Asia/Shanghai")

HONEST = [
    # (text, urgency, received)
    ("11月25日14时30分许，青岚县石桥镇东坡村一在建工地发生塔吊倒塌事故，造成2人死亡、3人受伤。"
     "初步判断系塔吊基础螺栓松动所致，具体原因正在调查。县应急管理局、住建局已赶赴现场，伤者已送县人民医院救治，"
     "全县在建工地已开展塔吊安全排查。", "flash", datetime(2026, 11, 25, 15, 5, tzinfo=TZ)),
    ("今日凌晨3时许，城关镇锦绣社区一居民楼发生火灾，1人经抢救无效死亡。起火原因正在调查。消防救援大队出动4车20人，"
     "3时40分明火扑灭，已疏散居民60余人。", "flash", datetime(2026, 3, 14, 3, 50, tzinfo=TZ)),
    ("7月12日5时50分许，受强降雨影响，龙潭镇岩门村发生山体滑坡，2人失联，1人受伤。县应急、消防已赶赴现场搜救，"
     "紧急转移群众152人。", "flash", datetime(2026, 7, 12, 6, 30, tzinfo=TZ)),
    ("11月24日上午10时许，白沙乡政府门口有20余名农民工聚集讨要工资，未发生过激行为，无人员伤亡。经了解，系某劳务公司"
     "拖欠工资所致。乡党委已安排专人劝导，人社局已约谈企业负责人。", "urgent", datetime(2026, 11, 24, 13, 0, tzinfo=TZ)),
]


@pytest.fixture(scope="session")
def nlp():
    return get_nlp()


@pytest.fixture(scope="session")
def screener():
    return Screener(load_config())


def run(nlp, screener, text, urgency, received, title=""):
    doc = analyse(nlp, text, received)
    return screener.screen(text, title, doc._.facts, urgency, received)


@pytest.mark.parametrize("text,urgency,received", HONEST)
def test_honest_bad_news_gets_no_flag(nlp, screener, text, urgency, received):
    res = run(nlp, screener, text, urgency, received)
    assert res.flags == [], [s.message for s in res.signals]


def test_late_flash_report_is_delay_with_event_time_evidence(nlp, screener):
    text, urgency, _ = HONEST[0]
    res = run(nlp, screener, text, urgency, datetime(2026, 11, 25, 17, 40, tzinfo=TZ))
    assert res.flags == ["delay"]
    (sig,) = [s for s in res.signals if s.flag == "delay"]
    assert sig.rule == "delay.clock"
    assert text[sig.start:sig.end] == "11月25日14时30分许"
    assert "3小时10分钟" in sig.message and "1小时0分钟" in sig.message


def test_deadline_is_configurable(nlp, tmp_path):
    cfg = tmp_path / "t.toml"
    cfg.write_text("[deadlines]\nflash_minutes = 30\n", encoding="utf-8")
    text, urgency, received = HONEST[0]  # received 35 minutes after the event
    res = run(nlp, Screener(load_config(cfg)), text, urgency, received)
    assert res.flags == ["delay"]


def test_follow_up_is_not_held_to_the_clock(nlp, screener):
    text = "续报：" + HONEST[0][0]
    res = run(nlp, screener, text, "flash", datetime(2026, 11, 26, 9, 0, tzinfo=TZ), title="续报")
    assert "delay" not in res.flags


@pytest.mark.parametrize("title,text,follow_up", [
    ("续报", "今日事故情况续报如下。", True),
    ("", "【终报】山火已全部扑灭。", True),
    ("关于登革热聚集性疫情的紧急报告", "8月31日至9月5日，新埠社区陆续报告登革热病例11例。", False),
    ("", "请各乡镇继续报送防汛信息。", False),
])
def test_what_reads_as_a_follow_up(title, text, follow_up):
    from pipeline.corpus import is_follow_up

    assert is_follow_up(title, text) is follow_up


def test_admitted_delay(nlp, screener):
    text = ("11月20日16时许，某镇一养殖场发生沼气池中毒事故，造成1人死亡。原因正在调查，已停产整顿。"
            "因镇里当时忙于处置，未及时上报，现予补报。")
    res = run(nlp, screener, text, "flash", datetime(2026, 11, 20, 16, 40, tzinfo=TZ))
    assert "delay" in res.flags
    assert any(s.rule == "delay.admission" for s in res.signals)


def test_general_talk_about_late_reporting_is_not_an_admission(nlp, screener):
    text = "今年以来，全县信息工作取得新进展，但仍存在紧急信息报送不及时、要素不全等问题，下一步将加强考核。"
    res = run(nlp, screener, text, "routine", datetime(2026, 11, 20, 9, 0, tzinfo=TZ))
    assert res.flags == []


@pytest.mark.parametrize("text,missing", [
    ("某镇一民房发生火灾，无人员伤亡，起火原因正在调查，消防已将明火扑灭。", "omission.time"),
    ("今日14时许发生一起交通事故，造成1人死亡，事故原因正在调查，交警已封闭现场。", "omission.place"),
    ("今日14时许，石桥镇东坡村一民房发生火灾，起火原因正在调查，消防已将明火扑灭。", "omission.casualties"),
    ("今日14时许，石桥镇东坡村一民房发生火灾，无人员伤亡。", "omission.measures"),
])
def test_each_missing_element_is_named(nlp, screener, text, missing):
    res = run(nlp, screener, text, "urgent", datetime(2026, 11, 25, 15, 0, tzinfo=TZ))
    assert "omission" in res.flags
    assert missing in {s.rule for s in res.signals}


def test_routine_report_is_not_checked_for_elements(nlp, screener):
    res = run(nlp, screener, "全县秋粮收购进展顺利。", "routine", datetime(2026, 11, 25, 15, 0, tzinfo=TZ))
    assert res.signals == []


@pytest.mark.parametrize("text,rule", [
    ("今日14时许，石桥镇东坡村一砖厂发生事故，1人死亡，原因正在调查。企业已与死者家属达成赔偿协议。", "concealment.control"),
    ("今日14时许，石桥镇东坡村一民房发生爆炸，造成数人受伤，原因正在调查，已送医救治。", "concealment.vague_counts"),
    ("今日14时许，石桥镇东坡村一矿井发生透水，3人死亡，原因正在调查。有关情况暂不对外发布。", "concealment.control"),
    ("续报：经核实，实际死亡5人，此前上报2人。原因正在调查，善后工作正在进行。", "concealment.admitted"),
    ("今日14时许，石桥镇东坡村一工地发生坍塌，无人员伤亡。事故造成2人死亡，原因正在调查，已停工。", "concealment.contradiction"),
])
def test_concealment_signs(nlp, screener, text, rule):
    res = run(nlp, screener, text, "flash", datetime(2026, 11, 25, 14, 30, tzinfo=TZ))
    assert "concealment" in res.flags
    sig = next(s for s in res.signals if s.rule == rule)
    assert 0 <= sig.start < sig.end <= len(text)


def test_every_flag_has_evidence(nlp, screener):
    text = "某地发生爆炸，造成数人受伤。各方统一口径，情况已得到有效控制。"
    res = run(nlp, screener, text, "flash", datetime(2026, 11, 25, 14, 30, tzinfo=TZ))
    for flag in res.flags:
        assert any(s.flag == flag and s.end > s.start for s in res.signals)


# ---------------------------------------------------------------- element detectors

RECEIVED = datetime(2026, 6, 10, 10, 30, tzinfo=TZ)

HONEST_MORE = [
    # cause as 受…影响, measures as 已组织 + 转移
    ("今日9时50分许，受持续强降雨影响，红岩乡松林村三组一处边坡发生垮塌，冲毁民房1间，无人员伤亡。"
     "乡政府已组织干部赶赴现场，转移受威胁群众5户18人，并设置警示标志。"),
    # cause as 经初步查明…所致, measures as 立即启动应急预案 + 送医救治
    ("今日9时40分许，金沙镇一食品厂发生液氨泄漏，2名工人受伤。经初步查明，系阀门密封件老化所致。"
     "企业立即启动应急预案，伤者已送镇卫生院救治，周边50米已拉起警戒。"),
    # nature of a gathering as 诉求, measures as 接待 + 疏导
    ("今日9时许，约60名装修工人聚集在清河街道锦园小区售楼部门前，诉求为追讨被拖欠的工程款，无人员受伤。"
     "街道已派员到场接待工人代表，派出所民警正在疏导，住建局已约谈开发商。"),
    # nature unknown but admitted: 原因正在调查; measures: 正在搜救
    ("今日8时30分许，沙河镇大桥村一辆三轮车坠入河中，1人失联，事故原因正在调查。"
     "消防救援人员正在搜救，镇村干部已到场做好家属安抚。"),
]


@pytest.mark.parametrize("text", HONEST_MORE)
def test_honest_reports_in_other_words_get_no_flag(nlp, screener, text):
    res = run(nlp, screener, text, "urgent", RECEIVED)
    assert res.flags == [], [(s.rule, s.message) for s in res.signals]
    assert not [s for s in res.signals if s.flag == "omission"], [s.rule for s in res.signals]


@pytest.mark.parametrize("text,rule", [
    # a consequence (造成) is not a cause; a death (已死亡) is not a measure
    ("今日9时许，桃溪镇新华村一处民房发生火灾，造成1人受伤，伤者已送医。", "omission.cause_weak"),
    ("今日9时许，桃溪镇新华村一村民在自家鱼塘边落水，打捞上岸时已死亡，落水原因尚不清楚。", "omission.measures"),
    # nothing at all said about cause or measures
    ("今日9时许，约80名村民聚集在桃溪镇政府门口，现场无人员受伤。", "omission.cause"),
])
def test_missing_cause_or_measures_is_named(nlp, screener, text, rule):
    res = run(nlp, screener, text, "urgent", RECEIVED)
    assert rule in {s.rule for s in res.signals}


def test_casualty_phrase_counts_even_without_a_count(nlp, screener):
    text = ("今日9时许，桃溪镇新华村一处民房发生火灾，屋内人员均已安全撤离。起火原因正在调查，消防已将明火扑灭。")
    res = run(nlp, screener, text, "urgent", RECEIVED)
    assert "omission.casualties" not in {s.rule for s in res.signals}


def test_harm_word_used_as_a_cause_is_not_an_event(nlp, screener):
    # 受台风影响 names the cause of a price rise; no casualties are expected
    text = "受台风影响，今日8时全市主要农贸市场蔬菜价格上涨三成。市发改委已启动价格监测日报，组织储备菜投放。"
    res = run(nlp, screener, text, "urgent", RECEIVED)
    assert "omission.casualties" not in {s.rule for s in res.signals}


def test_vague_place_is_an_omission(nlp, screener):
    text = "今日9时许，我县一处在建工地发生脚手架坍塌，2人受伤，已送医救治。事故原因正在调查，已责令停工。"
    res = run(nlp, screener, text, "urgent", RECEIVED)
    assert "omission" in res.flags
    sig = next(s for s in res.signals if s.rule == "omission.place")
    assert text[sig.start:sig.end] in ("一处", "我县一")


def test_named_place_is_not_vague(nlp, screener):
    text = "今日9时许，桃溪镇新华村一处在建工地发生脚手架坍塌，2人受伤，已送医救治。事故原因正在调查，已责令停工。"
    res = run(nlp, screener, text, "urgent", RECEIVED)
    assert "omission.place" not in {s.rule for s in res.signals}


def test_follow_up_is_not_checked_for_elements(nlp, screener):
    text = "续报：桃溪镇新华村火灾现场清理完毕，伤者病情稳定。"
    res = run(nlp, screener, text, "urgent", RECEIVED, title="续报")
    assert not [s for s in res.signals if s.flag == "omission"]


def test_bare_part_of_day_is_a_missing_time_and_no_clock(nlp, screener):
    text = ("桃溪镇新华村村民反映，夜间有人盗割电缆，造成全村停电，无人员伤亡。派出所已立案侦查，供电所正在抢修。")
    res = run(nlp, screener, text, "urgent", datetime(2026, 6, 10, 16, 0, tzinfo=TZ))
    rules = {s.rule for s in res.signals}
    assert "omission.time" in rules
    assert not rules & {"delay.clock", "delay.clock_unconfirmed"}


def test_planned_time_is_not_the_event_time(nlp, screener):
    text = ("桃溪镇新华村近期有多名外地人员聚集居住，疑似传销，无人员伤亡。派出所已加强布控，拟于明日凌晨组织清查。")
    res = run(nlp, screener, text, "urgent", datetime(2026, 6, 10, 16, 0, tzinfo=TZ))
    assert "delay" not in res.flags


# ---------------------------------------------------------------- delay clock and the flash call

def test_late_only_by_flash_deadline_without_flash_sign_is_unconfirmed(nlp, screener):
    # no death, no one missing, no gathering: late for 特急, on time for 加急
    text = ("今日7时10分许，桃溪镇新华村一处边坡发生塌方，约300立方米土石堵塞村道，无人员伤亡。"
            "初步判断系连日降雨所致，镇政府已组织机械抢通。")
    res = run(nlp, screener, text, "flash", datetime(2026, 6, 10, 9, 40, tzinfo=TZ))
    assert res.flags == []
    (sig,) = [s for s in res.signals if s.flag == "delay"]
    assert sig.rule == "delay.clock_unconfirmed" and text[sig.start:sig.end] == "今日7时10分许"


def test_late_flash_with_a_death_is_delay(nlp, screener):
    text = ("今日7时10分许，桃溪镇新华村一处边坡发生塌方，1名村民被埋，经抢救无效死亡。"
            "初步判断系连日降雨所致，镇政府已组织机械抢通。")
    res = run(nlp, screener, text, "flash", datetime(2026, 6, 10, 9, 40, tzinfo=TZ))
    assert res.flags == ["delay"]
    assert [s.rule for s in res.signals if s.flag == "delay"] == ["delay.clock"]


def test_later_than_the_urgent_deadline_is_delay_either_way(nlp, screener):
    text = ("今日7时10分许，桃溪镇新华村一处边坡发生塌方，约300立方米土石堵塞村道，无人员伤亡。"
            "初步判断系连日降雨所致，镇政府已组织机械抢通。")
    res = run(nlp, screener, text, "flash", datetime(2026, 6, 10, 14, 40, tzinfo=TZ))
    assert res.flags == ["delay"]
    assert [s.rule for s in res.signals if s.flag == "delay"] == ["delay.clock"]


# ---------------------------------------------------------------- concealment wording

@pytest.mark.parametrize("text,rule", [
    ("今日14时许，桃溪镇一在建厂房发生坍塌，3人受伤，原因正在调查。镇里已与各方统一了对外口径。", "concealment.control"),
    ("今日14时许，桃溪镇中学发生学生斗殴，1人受伤，已送医。网上视频已协调平台下架。", "concealment.control"),
    ("今日14时许，桃溪镇敬老院一名老人摔倒死亡，原因正在调查。院方已与家属签订赔偿协议。", "concealment.control"),
    ("今日14时许，桃溪镇停水，原因正在调查，正在抢修。此事暂不通过政务新媒体对外发布。", "concealment.control"),
    ("续报：经县纪委监委核查，此前上报材料称无人员死亡，与事实不符，实有1人死亡。", "concealment.admitted"),
    ("续报：首报时镇里只掌握2人，漏报了1名临时雇工，现已确认3人失联。", "concealment.admitted"),
    ("今日14时许，桃溪镇突发山洪，冲毁民房5间，未造成人员死亡。遇难者家属情绪稳定，善后工作有序开展。",
     "concealment.contradiction"),
    ("今日14时许，桃溪镇一化工厂废水溢出，河道出现死鱼，原因正在调查，已封堵排口。经分析不会对下游造成影响。",
     "concealment.reassurance"),
])
def test_concealment_wordings(nlp, screener, text, rule):
    res = run(nlp, screener, text, "urgent", RECEIVED)
    assert rule in {s.rule for s in res.signals}, [s.rule for s in res.signals]


@pytest.mark.parametrize("text", [
    # a rule about concealment, not an admission
    "全县要严格执行信息报送制度，严禁迟报、漏报、瞒报，对瞒报的一律追责问责。",
    # 不实 about work style, 调整为 about a policy, 虚报冒领 is fraud, not a report's figures
    "个别干部作风不实。申请条件拟调整为连续缴纳社保6个月。查处虚报冒领补贴案件3件。",
])
def test_general_talk_about_concealment_is_not_an_admission(nlp, screener, text):
    res = run(nlp, screener, text, "routine", RECEIVED)
    assert "concealment.admitted" not in {s.rule for s in res.signals}
    assert res.flags == []


def test_no_casualties_among_a_subgroup_is_not_a_contradiction(nlp, screener):
    text = ("今日4时许，桃溪镇派出所在抓捕一名嫌疑人时，2名民警被刺伤，已送县人民医院救治，无生命危险。"
            "嫌疑人已被当场制服，周边群众无伤亡。案件正在侦办。")
    res = run(nlp, screener, text, "flash", datetime(2026, 6, 10, 4, 40, tzinfo=TZ))
    assert "concealment.contradiction" not in {s.rule for s in res.signals}
    assert res.flags == [], [(s.rule, s.message) for s in res.signals]


def test_unsaid_video_deletion_is_not_control(nlp, screener):
    text = ("今日19时许，网上出现一段学生被打视频，派出所已介入调查，涉事学生均已到派出所接受询问，无人员重伤。"
            "原视频依法保留、未作删除。")
    res = run(nlp, screener, text, "urgent", RECEIVED)
    assert "concealment.control" not in {s.rule for s in res.signals}


# ---------------------------------------------------------------- omission: more wordings

@pytest.mark.parametrize("text", [
    # a petition: nature is what people 反映/不满; measures are 接待 and 答复
    ("今日9时20分许，桃溪镇新华村30余名村民到镇政府反映退耕还林补助未到账问题，对发放进度不满，无人员受伤。"
     "镇党委书记已接待村民代表，县林草局答复本月底前兑付。"),
    # an accident: the mechanism (被…砸中) is the nature
    ("今日9时许，桃溪镇一采石场工人在清理边坡时被滚落石块砸中，经抢救无效死亡。"
     "县应急局已责令企业停产整顿，并对全镇采石场开展排查。"),
])
def test_more_honest_wordings_have_all_elements(nlp, screener, text):
    res = run(nlp, screener, text, "urgent", RECEIVED)
    assert not [s for s in res.signals if s.flag == "omission"], [(s.rule, s.message) for s in res.signals]


@pytest.mark.parametrize("text,rule", [
    ("续报：首报中未报告伤亡信息，经逐户排查，现确认2人受伤。", "omission.admission"),
    ("今日9时许，桃溪镇一饭店后厨起火，无人员伤亡。后厨未安装燃气泄漏报警装置，已责令停业整改。", None),
    ("一季度信息报送存在一些问题：个别单位首报、续报衔接不够，事件处置结束后未报送终报。", "omission.admission_general"),
])
def test_omission_admission_wordings(nlp, screener, text, rule):
    res = run(nlp, screener, text, "routine", RECEIVED)
    rules = {s.rule for s in res.signals}
    if rule is None:
        assert not rules & {"omission.admission", "omission.admission_general"}
    else:
        assert rule in rules


def test_casualties_only_being_verified_is_named(nlp, screener):
    text = ("今日10时20分许，桃溪镇一采石场爆破时飞石击中山下作业人员，具体伤亡情况正在核实。"
            "事故原因正在调查，镇政府已派人到场。")
    res = run(nlp, screener, text, "flash", datetime(2026, 6, 10, 10, 50, tzinfo=TZ))
    assert "omission.casualties_unknown" in {s.rule for s in res.signals}


def test_violence_report_must_state_casualties(nlp, screener):
    text = "今日17时许，桃溪镇中学门口4名学生殴打1名同学，派出所已介入调查，系同学间琐事纠纷引发。"
    res = run(nlp, screener, text, "urgent", RECEIVED)
    assert "omission.casualties" in {s.rule for s in res.signals}


@pytest.mark.parametrize("text,vague", [
    # the only named place is where the bus came from
    ("今日7时20分许，一辆由桃溪镇开往县城的客车在行驶途中翻入路边沟内，造成1人死亡、6人受伤，伤者已送医救治。"
     "初步分析为车速过快所致，交警已到场处置。", True),
    ("今日7时20分许，一辆客车在桃溪镇新华村路段翻入路边沟内，造成1人死亡、6人受伤，伤者已送医救治。"
     "初步分析为车速过快所致，交警已到场处置。", False),
])
def test_place_on_the_way_is_vague_unless_named(nlp, screener, text, vague):
    res = run(nlp, screener, text, "flash", datetime(2026, 6, 10, 7, 50, tzinfo=TZ))
    assert ("omission.place" in {s.rule for s in res.signals}) is vague


def test_no_rule_pattern_matches_the_empty_string():
    from pipeline.screen import rules

    for name, rx in rules().items():
        if name != "weights":
            assert rx.search("") is None, name


def test_analysis_text_is_not_checked_for_elements_even_if_called_urgent(nlp, screener):
    text = ("全县现有农村寄宿制学校31所，寄宿学生1万余人。近年来办学条件明显改善，但运行中的问题也逐渐显现："
            "一是生活老师不足，二是运转经费偏紧。建议按寄宿生人数核定生活老师岗位。")
    res = run(nlp, screener, text, "urgent", RECEIVED)
    assert not [s for s in res.signals if s.flag == "omission"], [s.rule for s in res.signals]


def test_incident_in_a_summary_like_opening_is_still_checked(nlp, screener):
    text = "全镇今日发生一起火灾，桃溪镇新华村一处民房被烧毁。"
    res = run(nlp, screener, text, "urgent", RECEIVED)
    assert "omission.measures" in {s.rule for s in res.signals}


@pytest.mark.parametrize("text,missing", [
    # measures told as history are not measures taken on this event
    ("今日10时许，桃溪镇新华村5名村民在微信群商议赴省上访，反映征地补偿标准偏低问题。"
     "此前相关部门已作过答复，但其对答复不满意。", True),
    ("今日10时许，桃溪镇新华村5名村民在微信群商议赴省上访，反映征地补偿标准偏低问题。"
     "镇党委已派干部上门做工作。", False),
])
def test_measures_told_as_history_do_not_count(nlp, screener, text, missing):
    res = run(nlp, screener, text, "urgent", RECEIVED)
    assert ("omission.measures" in {s.rule for s in res.signals}) is missing


def test_dust_complaint_needs_no_casualty_statement(nlp, screener):
    text = ("今日9时许，县信访局转来桃溪镇新华村群众联名信，反映村里石材厂夜间违规生产，粉尘噪音扰民。"
            "镇环保办已到现场核查，已责令停产整改。")
    res = run(nlp, screener, text, "urgent", RECEIVED)
    assert "omission.casualties" not in {s.rule for s in res.signals}


@pytest.mark.parametrize("text,rule", [
    ("今日14时许，桃溪镇林区发生森林火情，火势沿山脊蔓延，起火原因正在调查。镇里已组织扑火队扑救。"
     "目前火情已得到有效控制，请领导放心。", "concealment.reassurance"),
    ("今日0时许，桃溪镇一KTV门前发生持械斗殴，造成人员伤亡，具体伤亡人数以公安机关通报为准。"
     "起因系双方酒后争执，已控制涉案人员。", "concealment.vague_counts"),
])
def test_more_concealment_wordings(nlp, screener, text, rule):
    res = run(nlp, screener, text, "flash", datetime(2026, 6, 10, 15, 0, tzinfo=TZ))
    assert rule in {s.rule for s in res.signals}, [s.rule for s in res.signals]


def test_exact_counts_are_not_vague(nlp, screener):
    text = ("今日0时许，桃溪镇一KTV门前发生持械斗殴，造成人员伤亡，其中1人死亡、3人受伤，伤者已送医。"
            "起因系双方酒后争执，已控制涉案人员8名。")
    res = run(nlp, screener, text, "flash", datetime(2026, 6, 10, 0, 40, tzinfo=TZ))
    assert "concealment.vague_counts" not in {s.rule for s in res.signals}
    assert res.flags == [], [(s.rule, s.message) for s in res.signals]


# ---------------------------------------------------------------- admissions in general talk

@pytest.mark.parametrize("text", [
    # a rule quoted in an arrangement: a prohibition admits nothing, 事发后30分钟内 is a deadline
    "节日期间各单位要严格执行值班制度，遇有突发事件应在事发后30分钟内电话报告，不得迟报、漏报、瞒报。",
    # a summary about several events reported late by others
    "上半年信息报送总体及时，但有2起事件乡镇在事发3小时后才报告县委值班室。",
    # a cadre evaluation about those responsible for late reports
    "评议中有干部反映，对事故迟报中负有责任的干部，个别处理后不久又调整岗位。",
])
def test_admissions_in_general_talk_are_general(nlp, screener, text):
    res = run(nlp, screener, text, "routine", RECEIVED)
    rules = {s.rule for s in res.signals}
    assert not rules & {"delay.admission", "omission.admission", "concealment.admitted"}, rules
    assert res.flags == []


def test_admission_about_this_event_still_counts(nlp, screener):
    text = "该起事故发生后，镇里未及时上报，直至次日上午才报告县应急管理局。"
    res = run(nlp, screener, text, "routine", RECEIVED)
    assert "delay.admission" in {s.rule for s in res.signals}


# ---------------------------------------------------------------- the reporting clock

FIRE = ("{}，青石乡红岩村一处民房发生火灾，造成1人死亡。起火原因正在调查，"
        "乡消防队已到场扑灭明火，伤亡人员家属已由乡干部陪同。")


def test_part_of_day_runs_the_clock_from_its_last_moment(nlp, screener):
    # 今晚 stands for 21:00 but may mean 23:30: received 23:40, not late for a flash report
    res = run(nlp, screener, FIRE.format("今晚"), "flash", datetime(2026, 8, 2, 23, 40, tzinfo=TZ))
    assert not [s for s in res.signals if s.flag == "delay"], [s.message for s in res.signals]


def test_part_of_day_late_even_from_its_last_moment(nlp, screener):
    text = FIRE.format("昨晚")
    res = run(nlp, screener, text, "flash", datetime(2026, 8, 3, 8, 0, tzinfo=TZ))
    (sig,) = [s for s in res.signals if s.rule == "delay.clock"]
    assert "最晚时刻" in sig.message and text[sig.start:sig.end] == "昨晚"


def test_time_of_the_cause_does_not_start_the_clock(nlp, screener):
    text = ("受昨日夜间强降雨影响，今日6时起城西水厂原水浑浊，水厂减产运行，约2万名居民停水。"
            "供水公司已调集送水车10台设置临时供水点，原因为上游来水浊度升高，无人员伤亡。")
    res = run(nlp, screener, text, "urgent", datetime(2026, 8, 2, 10, 0, tzinfo=TZ))
    assert not [s for s in res.signals if s.flag == "delay"], [s.message for s in res.signals]


def test_learned_at_a_part_of_day_shows_no_gap(nlp, screener):
    text = ("今日上午，我局接到自来水公司报告，今日10时30分许起，城南片区居民反映自来水有异味。"
            "经检测，系水库藻类增殖所致，水厂已加大活性炭投加量，无人员伤亡。")
    res = run(nlp, screener, text, "flash", datetime(2026, 8, 2, 11, 20, tzinfo=TZ))
    assert "delay.learned_gap" not in {s.rule for s in res.signals}


def test_denied_death_does_not_make_a_report_flash_grade(nlp, screener):
    # late for 特急 but not for 加急, and nothing in the text makes it 特急: only unconfirmed
    text = ("今日9时10分许，城东工业园一家机械厂车间行车吊物坠落，砸伤2名工人，已送县人民医院救治，"
            "无人员死亡。初步了解系吊钩断裂所致，县应急管理局已责令该车间停产整改。")
    res = run(nlp, screener, text, "flash", datetime(2026, 8, 2, 11, 30, tzinfo=TZ))
    rules = {s.rule for s in res.signals}
    assert "delay.clock_unconfirmed" in rules and "delay.clock" not in rules, rules


# ---------------------------------------------------------------- omission: the elements

def _rules(nlp, screener, text, urgency="urgent", received=RECEIVED):
    return {s.rule for s in run(nlp, screener, text, urgency, received).signals}


@pytest.mark.parametrize("text,fires", [
    # a harm word denied or naming a past event is not the event
    ("今日9时许，约30名村民到乡政府反映土地流转租金拖欠问题，现场未发生冲突。乡里已安排专人接待。", False),
    ("今日9时许，青石村20余名群众到镇政府反映“6·12”洪灾救灾物资发放不公问题，镇纪委已登记核查。", False),
    # 遭受大风袭击 is the event itself, not its cause
    ("今日17时许，青石乡遭受强对流大风袭击，吹倒大棚30余个、电杆6根。系强对流天气过境所致，乡里已组织抢修。", True),
])
def test_casualties_needed_only_for_a_harmful_event(nlp, screener, text, fires):
    assert ("omission.casualties" in _rules(nlp, screener, text)) is fires


def test_health_statements_say_something_about_casualties(nlp, screener):
    text = ("今日12时许，城南一家面馆3名顾客进食后出现呕吐、头晕症状，被送往县医院，均无生命危险。"
            "初步怀疑为食物中毒，市场监管局已封存留样食品。")
    assert "omission.casualties" not in _rules(nlp, screener, text)


@pytest.mark.parametrize("text,stated", [
    ("今日20时许，青石村两名村民因琐事发生口角，继而互殴，一人手臂擦伤。村调解员已当场调解。", True),
    ("今日20时许，青石村两名村民因为宅基地边界发生争吵，一人手臂擦伤。村调解员已当场调解。", True),
    # 联系 is no 系 of a cause; 受到影响 is an effect
    ("今日14时许，青石村一民房内发现一具尸体，民警已到场封控现场，正在联系死者家属。", False),
    ("今日5时许，县城热源厂两台锅炉停运，城区约1万户供暖受到影响。热力公司已组织抢修，无人员伤亡。", False),
])
def test_cause_wordings(nlp, screener, text, stated):
    rules = _rules(nlp, screener, text)
    assert bool(rules & {"omission.cause", "omission.cause_weak"}) is not stated, rules


@pytest.mark.parametrize("text,taken", [
    # only the cause is under investigation: no step taken
    ("今日10时许，群众举报青石村废弃砖厂内倾倒大量不明废渣，无人员中毒，具体情况正在调查。", False),
    ("今日10时许，青石村村民联名举报村会计挪用集体资金。县纪委已责成乡纪委核查，已调取村账目。", True),
    ("今日10时许，青石中学两名学生因座位问题发生争执，一人被划伤手臂，无生命危险。"
     "县教育局已对涉事学生开展心理疏导，并在全校开展管制刀具排查。", True),
])
def test_measures_wordings(nlp, screener, text, taken):
    rules = _rules(nlp, screener, text)
    assert (not rules & {"omission.measures", "omission.measures_weak"}) is taken, rules


@pytest.mark.parametrize("text,received,missing", [
    # named places of office writing: a road code and kilometre post, a named company's one spot,
    # a gate of a named office, a bank branch
    ("今晨6时10分许，G318线K2105+300处一辆货车与小客车相撞，造成1人死亡、2人受伤。"
     "初步判断系货车司机疲劳驾驶，交警、120已在现场处置。", datetime(2026, 8, 2, 6, 50, tzinfo=TZ), False),
    ("今日14时20分许，某县化工园区恒泰化工有限公司氯碱车间一处管道法兰垫片破损，发生氯气泄漏，无人员伤亡。"
     "原因正在调查，企业已关闭上游阀门。", datetime(2026, 11, 25, 15, 0, tzinfo=TZ), False),
    ("今日9时许，某理财公司31名投资人到市公安局经侦支队门前聚集，要求加快追赃，未发生过激行为，无人员伤亡。"
     "经了解，系对追赃进度不满。市信访局已接待投资人代表。", datetime(2026, 11, 25, 10, 0, tzinfo=TZ), False),
    ("今日9时40分许，北礁农商银行北礁支行开门后出现群众排队取款，约300人，无人员伤亡。"
     "系网上传言所致，镇里已协调银行增加窗口，公安在现场维持秩序。", datetime(2026, 11, 25, 10, 35, tzinfo=TZ), False),
    # a movement (乡长进村) names no place
    ("今日15时许，乡工作组在一个村清理乱搭乱建时，部分村民聚集阻拦并发生推搡，2人轻伤。"
     "起因系村民对补偿标准不满，乡长进村与群众座谈，派出所已到场维持秩序。", datetime(2026, 8, 2, 15, 40, tzinfo=TZ), True),
])
def test_place_element(nlp, screener, text, received, missing):
    assert ("omission.place" in _rules(nlp, screener, text, "flash", received)) is missing


def test_date_without_hour_before_a_later_development(nlp, screener):
    text = ("6月3日，青石乡红岩村村民王某某（男，70岁）外出放牛后未归。6月4日晚，家属到派出所报警，"
            "派出所已组织人员沿山搜寻，原因正在调查。")
    res = run(nlp, screener, text, "flash", datetime(2026, 6, 5, 8, 0, tzinfo=TZ))
    (sig,) = [s for s in res.signals if s.rule == "omission.time"]
    assert text[sig.start:sig.end] == "6月3日"


@pytest.mark.parametrize("text", [
    "续报：经逐户核对，共造成3人死亡。其中1名务工人员乡里在首报时未纳入统计。",
    "续报：经核对，另有1名伤员当晚自行就医，因统计口径不一，未写入首报。",
])
def test_left_out_of_the_first_report_is_omission_admission(nlp, screener, text):
    assert "omission.admission" in _rules(nlp, screener, text, "flash")


def test_period_analysis_is_not_checked_for_elements(nlp, screener):
    text = ("2020年以来，我县建成农村幸福院40个，今年对全部幸福院进行了调查。"
            "部分幸福院夜间无人值守，已暂停夜间托养。")
    assert not {r for r in _rules(nlp, screener, text) if r.startswith("omission.")}


# ---------------------------------------------------------------- concealment wordings

def _conceal(nlp, screener, text, urgency="urgent", received=RECEIVED):
    return {s.rule for s in run(nlp, screener, text, urgency, received).signals if s.flag == "concealment"}


@pytest.mark.parametrize("text,rule", [
    # denied control is none
    ("县委宣传部拟于今日下午发布情况通报，回应网民关切，不回避、不删帖。", None),
    # control told of others, or exposed as wrongdoing and corrected
    ("少数舆情处置中，个别单位习惯于删帖了事，导致网民质疑。", "concealment.control_general"),
    ("调查中还发现，街道协调平台删除视频、要求统一口径，做法错误，已责令纠正。", "concealment.control_general"),
    # a broken camera is a complaint, not destroyed evidence
    ("业主反映小区内快递多次被盗，小区监控多处损坏，物业不予处理。", None),
    # still control
    ("学校已要求全体师生不在网上议论、不接受媒体采访。", "concealment.control"),
    ("事故发生后，企业连夜将现场清理完毕，未保留痕迹。", "concealment.control"),
    # clearing a road to reopen it is a measure
    ("交警组织清障，21时50分现场清理完毕、恢复通行。", None),
])
def test_control_wordings(nlp, screener, text, rule):
    rules = {r for r in _conceal(nlp, screener, text) if r.startswith("concealment.control")}
    assert rules == ({rule} if rule else set()), rules


@pytest.mark.parametrize("text,fires", [
    ("一名老人因紧张出现胸闷，经医生检查无大碍。", False),
    ("目前疫情已得到控制，未出现新发病例。", False),
    ("网民称“情况已得到控制”与实际不符。", False),
    ("目前疫情已得到控制。", True),
])
def test_reassurance_wordings(nlp, screener, text, fires):
    assert bool(_conceal(nlp, screener, text) & {"concealment.reassurance", "concealment.reassurance_with_harm"}) is fires


@pytest.mark.parametrize("text,fires", [
    # a claim in a post, fraud that is the subject of the report, a count adjusted downwards
    ("有业主发帖称“开发商售房时隐瞒了规划”，号召业主到区政府门前聚集。", False),
    ("村民举报村支书在征地中虚报青苗补偿面积，侵占补偿款。", False),
    ("续报：经核实，其中1人已找到，失联人数由3人调整为2人。", False),
    ("经查，该镇上报的规上工业产值存在严重虚报，实际产值不足上报数的一半。", True),
    ("我镇首报涉及20余户，系当天只统计了来访群众，数字明显偏低，特此更正。", True),
])
def test_admitted_wordings(nlp, screener, text, fires):
    assert ("concealment.admitted" in _conceal(nlp, screener, text)) is fires


@pytest.mark.parametrize("text", [
    "9月3日9时许，某养殖场报告生猪发热，几天内死亡30余头。已采样送检，疑似猪瘟，已封锁养殖场，无人员感染。",
    "今日15时许，城区大面积停电，部分居民被困电梯，已救出被困群众12人，无人员伤亡。原因系变电站故障，正在抢修。",
    "今日9时许，某工地脚手架倒塌，造成1人死亡、1人受伤，伤者多处骨折，已送医院手术。原因正在调查，工地已停工。",
])
def test_not_vague_counts_of_people(nlp, screener, text):
    assert "concealment.vague_counts" not in _conceal(nlp, screener, text, "flash")


def test_running_total_is_no_contradiction(nlp, screener):
    text = ("续报：截至今日9时，被困的2名工人已被找到，均已无生命体征。至此，事故共造成3人死亡。"
            "矿方已被责令停产整顿。")
    assert "concealment.contradiction" not in _conceal(nlp, screener, text, "flash")


def test_dead_named_against_the_death_count(nlp, screener):
    text = ("今日23时许，青石村一民房发生纵火，造成2人死亡、1人烧伤，嫌疑人已被抓获。"
            "目前3名死者家属情绪稳定，村干部正在做安抚工作。")
    assert "concealment.contradiction" in _conceal(nlp, screener, text, "flash")


def test_animals_dying_make_no_flash_report(nlp, screener):
    # late against the flash deadline only; the deaths are shrimp: not a sure flash report
    text = ("今日14时30分，督察组在某镇滨海产业园金辉电镀有限公司厂区外发现暗管偷排废水，沿渠虾塘有部分虾死亡。"
            "事件无人员伤亡，系企业偷排所致，镇里已责令企业停产、封堵暗管。")
    res = run(nlp, screener, text, "flash", datetime(2026, 11, 25, 18, 20, tzinfo=TZ))
    assert {s.rule for s in res.signals if s.flag == "delay"} == {"delay.clock_unconfirmed"}


@pytest.mark.parametrize("title,text", [
    ("花山村部分失地农民计划进京上访",
     "据网格员排查掌握，花山村因征地补偿问题多次上访的村民15人近日在微信群中商议，计划于下月初分批进京上访。"
     "街道已成立工作专班，逐人落实包保责任。"),
    ("关注：某投资公司出现兑付困难苗头",
     "我局在日常监测中发现，某投资咨询公司以理财名义向社会公众销售产品，近期已出现多笔到期产品延期兑付，"
     "涉及投资人约900人。目前尚无投资人聚集。"),
])
def test_a_plan_or_a_risks_first_signs_is_not_checked_for_elements(nlp, screener, title, text):
    res = run(nlp, screener, text, "urgent", RECEIVED, title)
    assert not [s for s in res.signals if s.flag == "omission"], [s.rule for s in res.signals]


def test_an_incident_without_a_time_is_still_an_omission_whatever_its_risk_words(nlp, screener):
    text = "桃溪镇新华村一处民房发生火灾，存在一定安全隐患，镇里已组织扑救。"
    res = run(nlp, screener, text, "urgent", RECEIVED, "桃溪镇一民房起火")
    assert "omission.time" in {s.rule for s in res.signals}


@pytest.mark.parametrize("text,flagged", [
    ("事故共造成2人死亡、5人受伤，起火原因已查明。遇难者善后事宜已妥善处理，受影响居民已返回家中。", False),
    ("事故共造成2人死亡、5人受伤。目前情况已妥善处理，请领导放心。", True),
])
def test_aftermath_settled_is_no_reassurance(nlp, screener, text, flagged):
    res = run(nlp, screener, text, "urgent", RECEIVED)
    rules = {s.rule for s in res.signals}
    assert bool(rules & {"concealment.reassurance", "concealment.reassurance_with_harm"}) is flagged, rules


@pytest.mark.parametrize("text", [
    "11月19日19时25分，东城区和平路华联饭店后厨液化气软管脱落发生闪爆，2人受伤，已送医。原因正在调查，消防已到场处置。",
    "11月17日14时20分，西岭煤矿1102综采工作面发生局部片帮，1人受伤，已升井送医。初步判断系顶板破碎所致，矿井已停产整顿。",
])
def test_a_named_site_of_these_kinds_is_a_place(nlp, screener, text):
    res = run(nlp, screener, text, "urgent", datetime(2026, 11, 19, 20, 0, tzinfo=TZ))
    assert "omission.place" not in {s.rule for s in res.signals}, [s.message for s in res.signals]


@pytest.mark.parametrize("title,text,rules", [
    ("青山一中开展消防应急演练", "11月27日下午，青山一中开展消防应急演练。演练模拟教学楼起火，3名学生被困、2名学生受伤。"
     "全校1200名师生4分钟内疏散完毕。", set()),
    # a real hurt in a drill is an event like any other
    ("青山一中消防演练中一名学生摔伤", "11月27日下午，青山一中开展消防应急演练，疏散时1名学生在楼梯摔伤。",
     {"delay.clock", "omission.cause"}),
])
def test_a_drill_is_no_event_to_report_late_or_in_full(nlp, screener, title, text, rules):
    res = run(nlp, screener, text, "urgent", datetime(2026, 11, 28, 10, 0, tzinfo=TZ), title)
    got = {s.rule for s in res.signals if s.flag in ("delay", "omission")}
    assert (got == rules) if not rules else (rules <= got), got
