"""Fact components: tables of (text, expected) written for these tests."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pipeline.facts import find_times, analyse, parse_count, severity, Facts
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
    ("其中2人经120现场确认死亡，1人腿部骨折。", 2, 1, None),  # a fracture is a hurt
    ("经抢救无效于17时20分死亡。患者张某（男，34岁）术后出现并发症。", None, None, None),
    ("槽罐车驾驶员轻微擦伤。", None, 1, None),
    ("现场十余人受伤。", None, None, None),
    ("经核实实际死亡5人，此前上报2人。", 5, None, None),
    ("无人失踪，无人受伤。", 0, 0, 0),  # nobody hurt: nobody died
    ("3名厨师面部、手部轻度烧伤，已送区中医院处理。", None, 3, None),  # the body parts listed
    ("另2人腹部、臂部受伤。", None, 2, None),
    ("其中2人呼吸不适、面部轻度擦伤，送矿医院观察。", None, 2, None),
    ("其中2人轻度冻伤，在乡卫生院治疗。", None, 2, None),
    ("事故造成1人死亡、受伤2人。", 1, 2, None),  # a list item with another casualty word is no body part
    # who died told first: an age, a parenthesis, a longer clause
    ("13时05分，一名68岁男性在送往镇卫生院途中死亡。", 1, None, None),
    ("卫生院报告：1名8月龄婴儿接种疫苗后次日死亡。", 1, None, None),
    ("其中一人（男，23岁，外镇人）被啤酒瓶刺伤颈部，送县人民医院抢救无效死亡。", 1, None, None),
    ("林场一名独居老人被邻居发现死于家中，疑似受冻。", 1, None, None),
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
    ("上午，约80名“某某小区”购房业主在区政府信访大厅聚集。", None, 80),
    ("150余名村民因征地补偿问题，围堵乡政府大门。", None, 150),
    ("部分群众在省道上静坐，人数约200人，交通中断。", None, 200),
    ("死亡人数上升至5人，事故现场有群众围观。", None, None),
    ("全乡共有村民3000余人。", None, None),
    ("部分未签约户及其亲友约70人到场阻拦，与工作人员发生推搡。", None, 70),
])
def test_loss_and_crowd(nlp, text, loss, crowd):
    f = facts_of(nlp, text)
    assert (f.loss_wan, f.crowd) == (loss, crowd)


@pytest.mark.parametrize("text,place", [
    ("青岚县石桥镇东坡村一在建工地发生塔吊倒塌。", "青岚县石桥镇东坡村"),
    ("城关镇锦绣社区一居民楼起火。", "城关镇锦绣社区"),
    ("G318线K2156处发生山体滑坡。", "G318线K2156处"),
    # a site word with no name of its own is no place: 一在建工地 is not 建工地
    ("今日，某县青石镇一在建工地发生塔吊倒塌事故。", "某县青石镇"),
    ("凌晨，红星煤矿井下发生透水事故。", "红星煤矿"),
    ("今日上午，一名患者家属在区医院门诊大厅与医生发生冲突。", "区医院"),
    # the sites of forest, mining, pastoral and catering reports
    ("11月1日15时30分前后，东岭林场12林班疑似因雷击引发山火。", "东岭林场"),
    ("11月20日，红松林场职工韩某进山未归。", "红松林场"),
    ("今日7时许，县城和平路华联饭店后厨发生闪爆。", "和平路华联饭店"),
    ("今日上午，措玛乡然果牧委会发生一起雪崩。", "措玛乡然果牧委会"),
])
def test_places(nlp, text, place):
    assert facts_of(nlp, text).place == place


@pytest.mark.parametrize("text,place,places", [
    ("11月25日柳荫街道一居民楼发生火灾。", "柳荫街道", ["柳荫街道"]),
    ("14时许沙渚县境内发生山体滑坡。", "沙渚县", ["沙渚县"]),
    ("县应急局已通知市矿山救护队，并责令该矿停产。", None, []),
    ("镇里已组织双河村干部排查，上报县应急管理局。", "双河村", ["双河村"]),
    ("位于向阳花幼儿园东侧的围墙倒塌。", "向阳花幼儿园", ["向阳花幼儿园"]),
    ("事发地为打铁寨乡瓦窑村，伤者已送县人民医院救治。", "打铁寨乡瓦窑村", ["打铁寨乡瓦窑村"]),
    ("伤者已转岚州市第一人民医院救治。", None, []),
    ("山洪冲毁村民房屋3间。", None, []),
    ("石桥镇东坡村一民房倒塌，县人民医院医护人员已在现场待命。", "石桥镇东坡村", ["石桥镇东坡村"]),
    ("有网民质疑学校瞒报，家长要求卫生院公开检测结果。", None, []),
    ("事发地为胜利村，城南污水处理厂已停止进水。", "胜利村", ["胜利村", "城南污水处理厂"]),
])
def test_place_names_start_at_a_word(nlp, text, place, places):
    f = facts_of(nlp, text)
    assert (f.place, f.places) == (place, places)


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


# ---- office writing patterns (sentences written for these tests)

@pytest.mark.parametrize("text,dead,injured,missing", [
    # illness reports: patients count as injured (the guideline: injured counts everyone hurt)
    ("截至今晨，该校累计发病27人，均为轻症。", None, 27, None),  # 轻症 says nothing of deaths
    ("共有15名职工到区医院就诊，无重症病例。", 0, 15, None),
    ("该村累计报告病例9例，其中1例经抢救无效死亡。", 1, 8, None),
    ("学生发病人数增加到20人，另有厨工1人出现腹泻，合计21人。", None, 21, None),
    ("另有6人仍在住院治疗。", None, 6, None),
    # lists summed, victims after the verb, parentheses
    ("执勤中2名民警和1名辅警受伤。", None, 3, None),
    ("歹徒持刀刺伤行人4人后逃离。", None, 4, None),
    ("一名男子持刀砍伤3名路人。", None, 3, None),
    ("嫌疑人砍伤上前阻拦的2名保安。", None, 2, None),
    ("事故造成1名乘客（男，45岁）死亡，2人受伤。", 1, 2, None),
    ("救出1人（女，60岁），腿部骨折。", None, 1, None),
    ("两人都受了点伤，已在村卫生室包扎。", None, 2, None),
    # statements that there were none
    ("截至目前未接到人员伤亡报告。", 0, 0, None),
    ("火灾未造成其他人员伤亡，1人轻微烧伤。", 0, 1, None),
    ("河道下游暂未发现群众饮水后出现不适。", 0, 0, None),
    ("目前暂无人员伤亡或失踪。", 0, 0, 0),
    ("3人及时撤离，均未受伤。", 0, 0, None),
    # deaths written without 死亡
    ("搜救人员在下游找到两人遗体。", 2, None, None),
    ("张某某被救出时已无生命体征。", 1, None, None),
    ("消防员从屋内抬出2名住户，均已无生命体征。", 2, None, None),
    ("3名死者家属情绪稳定。", 3, None, None),
    # missing and found
    ("3人被困井下，目前下落不明。", None, None, 3),
    ("失联的2名村民已被找到，均已遇难。", 2, None, 0),
    ("走失老人王某某至今下落不明。", None, None, 1),
    # persons being treated; lists of persons; totals of a symptom sentence; patients who died
    ("户主刘某某被邻居从屋内救出，已送镇卫生院观察。", None, 1, None),
    ("张某某（70岁）经抢救无效死亡，其子、其孙女正在救治。", 1, 2, None),
    ("午饭后陆续有学生出现腹痛、呕吐，到下午4点止共12人。", None, 12, None),
    ("1名老人经抢救无效死亡。共有5名老人出现发热症状，除死亡老人外，另4人病情平稳。", 1, 4, None),
    ("1名工人被送往县医院抢救，经抢救无效死亡。", 1, None, None),
    ("泥石流造成1人死亡，暂未发现受伤人员。", 1, 0, None),
    ("另1户4人及时撤出，未受伤。", 0, 0, None),
    ("村民将该男子扭送派出所，该男子有伤。", None, 1, None),
    ("累计接诊63人，均在镇卫生院输液。", None, 63, None),
    ("截至今日，累计发病学生40人、教职工2人，无重症病例。", 0, 42, None),
    ("共有9人发病，其中1名老人在送医途中死亡。", 1, 8, None),
    ("已有30人被送往镇卫生院和县医院救治。", None, 30, None),
    ("另有4人正在县人民医院抢救。", None, 4, None),
    ("2人在送医后死亡，3人在县人民医院救治。", 2, 3, None),
    ("陆续有老人出现呕吐症状，累计发病23人（院内老人共68人）。", None, 23, None),
    ("该男子（男，45岁）被倒塌的围墙砸伤腿部。", None, 1, None),
    ("一名工人手指被机器压伤，已送医院治疗，无其他人员受伤。", None, 1, None),
    ("劝架的摊主孙某手臂受轻伤。", None, 1, None),
    ("村里塌方死了1个人，伤了3个。", 1, 3, None),
    ("事故造成1人当场死亡，另1人经抢救无效死亡。", 2, None, None),
    ("2人受伤，另有1人受伤较重。", None, 3, None),
    # persons listed together, one person named twice, wounds that ended in death
    ("邹某某（男，52岁）及其子邹某（男，24岁）被洪水冲走，下落不明。", None, None, 2),
    ("老人钱某某下午独自出门后未归。钱某某走失时未带手机。", None, None, 1),
    ("货车驾驶员未受伤，摩托车驾驶人王某当场死亡。", 1, 0, None),
    ("嫌疑人持刀将李某砍伤，李某经抢救无效死亡，其妻在躲避中摔伤。", 1, 1, None),
    ("群众报警称一出租车司机遭抢劫身受重伤。民警赶到后，司机杨某某经抢救无效死亡。", 1, None, None),
    ("续报：被困的2名工人已被找到，均已无生命体征。", 2, None, 0),
    ("1人（男，47岁）经120现场抢救无效死亡。", 1, None, None),
    ("其中岳父（71岁）于20时许经抢救无效死亡。", 1, None, None),
    # a count whose word is negated; vague tens; lists before and after an aside; a body found
    ("井下5人安全升井未受伤，1人被落石砸伤。", None, 1, None),
    ("宴后数十名宾客出现腹泻症状，已到乡卫生院就诊。", None, None, None),
    ("共有12名学生、3名教师被送至镇卫生院观察。", None, 15, None),
    ("截至10时，发现有症状学生9名、厨工2名。", None, 11, None),
    ("累计发病居民17人（小区住户共900余人）、保洁员2人。", None, 19, None),
    ("村民在河湾处发现一具男性尸体，随即报警。", 1, None, None),
    ("民警在屋内发现户主及其子两人尸体。", 2, None, None),
    ("管道被挖断，约2万人停水，事件没有造成人员伤亡。", 0, 0, None),
    ("彩钢棚顶被风掀落，砸伤路过村民3人，均为皮外伤。", None, 3, None),
    ("嫌疑人刺伤对方3人，其中1人经抢救无效死亡，另2人腹部、臂部受伤。", 1, 2, None),
    ("泄漏共造成12人送医，其中1人经抢救无效死亡，目前仍在院治疗11人。", 1, 11, None),
    ("养殖户张某某饲养的生猪出现发热症状并陆续死亡，累计死亡37头。", None, None, None),
    ("沿渠虾塘有部分虾死亡，事件无人员伤亡。", 0, 0, None),
    ("系统宕机，上午约1500名门诊患者就诊受到影响，无人员伤亡。", 0, 0, None),
    ("3名矿工中1人被救出后经井下急救无效死亡，另有2人被困，尚未与被困人员取得联系。", 1, None, 2),
])
def test_office_casualty_patterns(nlp, text, dead, injured, missing):
    f = facts_of(nlp, text)
    assert (f.dead, f.injured, f.missing) == (dead, injured, missing)


@pytest.mark.parametrize("text", [
    "县里组织参与救援120人、消防车8辆赶赴现场。",
    "现场聚集群众200余人，情绪稳定。",
    "今年以来全县共发生火灾12起，去年同期死亡3人。",
    "法定代表人李某某已于上周起失联，拖欠货款约300万元。",
    "派出20名医护人员到医院协助救治住院患者。",
    "现场十余人受伤，数人被困。",
    "其妻王某经市第三人民医院检查无异常。",
    "其父到派出所报警，民警按走失人员登记。",
    "是否有伤亡正在核实。",
    "伤者均无生命危险。",
    "停电期间，2名透析患者已转至市医院。",
    "组织医护人员30名赶赴现场救治伤员。",
    "派出30名专家赶赴医院救治。",
    "县领导到医院看望慰问受伤群众，要求全力救治。",
])
def test_not_casualty_counts(nlp, text):
    f = facts_of(nlp, text)
    assert (f.dead, f.injured, f.missing) == (None, None, None)


def test_vague_count_not_fixed_by_a_described_person(nlp):
    f = facts_of(nlp, "事故造成1人死亡，另有个别人员受伤，已送县人民医院治疗。")
    assert (f.dead, f.injured) == (1, None) and "injured" in f.vague


def test_third_hospital_is_no_count(nlp):
    assert facts_of(nlp, "王某经市第三人民医院全力抢救无效死亡。").dead == 1


@pytest.mark.parametrize("text,expected", [
    ("11时20分，网民发帖称某校门口发生斗殴。经核实，事发时间为当日9时40分许。", "2026-11-25T09:40"),
    ("县委网信办　2026年11月25日15时30分\n网民反映，某路段今日13时许发生车辆追尾。", "2026-11-25T13:00"),
    ("老人张某某昨天下午4点左右出门后一直没回家，家人晚上才发现不对。", "2026-11-24T16:00"),
    ("11月25日上午9时许，县医院报告收治2名疑似中毒患者。", "2026-11-25T09:00"),
    ("今日10时起普降暴雨。13时20分许，某村两名村民被沟水冲走。", "2026-11-25T13:20"),
    ("11月24日晚，县信访局掌握某群体约定下周到市里集体上访。", "2026-11-24T21:00"),
    ("今日上午9时40分许，一名工人爬上塔吊平台，以跳下相威胁讨要工资。12时20分该工人安全下塔。",
     "2026-11-25T09:40"),
    ("今日下午，某村一家3人食用河豚后，于16时40分许相继出现麻木症状。", "2026-11-25T16:40"),
    ("今日14时至16时，我县出现大风天气，气象局已于今日10时发布大风蓝色预警，部分大棚受损。", "2026-11-25T14:00"),
    ("今日上午8时许，本地短视频账号发布一段视频，称集贸市场有人强收摊位费。", "2026-11-25T08:00"),
    ("昨晚我县南部出现短时强降雨。22时40分许，某村沿河一带突发山洪，2名村民失联。", "2026-11-24T22:40"),
    ("11月24日19时许，某村村民6人在家中聚餐，饮用散装白酒。25日凌晨起陆续出现头痛、呕吐。", "2026-11-24T19:00"),
])
def test_event_time_office_patterns(nlp, text, expected):
    f = facts_of(nlp, text)
    assert f.event_time is not None and f.event_time.isoformat(timespec="minutes") == expected + "+08:00"


def test_a_date_days_ahead_is_a_plan_not_last_year(nlp):
    text = "今日上午9时30分许，部分征收户在微信群中相约，拟于11月27日上午集体前往市委上访。"
    times = find_times(text, RECEIVED)
    assert [m.value.isoformat(timespec="minutes") for m in times] == ["2026-11-25T09:30+08:00", "2026-11-27T10:00+08:00"]


def test_a_plan_is_no_event_time(nlp):
    f = facts_of(nlp, "目前已转移群众30人。预计明日凌晨2时许降雨将再次发生。")
    assert f.event_time is None


def test_patients_are_not_graded_as_serious_injuries(nlp):
    f = facts_of(nlp, "午餐后共有23名学生出现腹痛、呕吐症状，均到镇卫生院就诊，无重症病例。")
    assert (f.dead, f.injured, f.patients) == (0, 23, 23)
    assert severity(f)[0] == "一般"
    g = facts_of(nlp, "事故造成12人受伤。")
    assert g.patients is None and severity(g)[0] == "较大"


def test_none_other_is_no_denial_of_a_death(nlp):
    f = facts_of(nlp, "一名村民被洪水冲走遇难，未造成其他人员伤亡。")
    assert (f.dead, f.injured) == (1, 0)
    kinds = {m.kind for m in f.mentions}
    assert "no_other_casualties" in kinds and "no_casualties" not in kinds


def test_bare_clock_times_take_their_day_and_part(nlp):
    received = datetime(2026, 8, 4, 9, 0, tzinfo=TZ)
    f = facts_of(nlp, "8月3日凌晨，某镇突降暴雨，2时许一民房倒塌，1人被埋。", received)
    assert f.event_time.isoformat(timespec="minutes") == "2026-08-03T02:00+08:00"
    f = facts_of(nlp, "续报：2名被埋工人于3日下午2时许和5时许先后被挖出，均已死亡。", received)
    values = [m.value.isoformat(timespec="minutes") for m in f.times if m.value is not None]
    assert values[:2] == ["2026-08-03T14:00+08:00", "2026-08-03T17:00+08:00"]


def test_household_count(nlp):
    assert facts_of(nlp, "火灾造成一家三口死亡。").dead == 3


@pytest.mark.parametrize("text,expected", [
    ("续报：11月24日午餐后发病的学生增至30人。", "2026-11-24T13:00"),
    ("昨日晚饭时，一家4人食用自采野生菌后出现呕吐。", "2026-11-24T18:00"),
    ("11月24日午餐后13时40分许，该校陆续有学生出现腹痛。", "2026-11-24T13:40"),
])
def test_meals_after_a_day(nlp, text, expected):
    f = facts_of(nlp, text)
    assert f.event_time is not None and f.event_time.isoformat(timespec="minutes") == expected + "+08:00"


def test_a_meal_alone_is_no_time(nlp):
    assert facts_of(nlp, "学生午餐为米饭、凉拌黄瓜，初步怀疑为食物中毒。").event_time is None


@pytest.mark.parametrize("text,dead,injured,missing", [
    ("11月11日下午，某小学开展地震应急疏散演练。演练模拟发生5.8级地震，5名学生被困、2名学生受伤。全校师生疏散至操场。",
     None, None, None),
    ("县防灾减灾救灾委员会组织暴雪灾害综合应急演练，模拟30名牧民被困、1人失踪、2人冻伤的场景。", None, None, None),
    ("消防应急演练中，将3名“被困人员”救下，其中1名“伤员”由120现场模拟转运。", None, None, None),
    # a real hurt during a drill is a casualty
    ("演练模拟仓库起火。演练过程中1名队员扭伤脚踝，已送医。", None, 1, None),
    # no drill: the word 模拟 alone hides nothing
    ("某厂模拟量仪表故障引发爆炸，造成2人受伤。", None, 2, None),
])
def test_a_drills_scenario_hurts_nobody(nlp, text, dead, injured, missing):
    f = facts_of(nlp, text)
    assert (f.dead, f.injured, f.missing) == (dead, injured, missing)


@pytest.mark.parametrize("title,text,dead,evidence", [
    ("新兴棚户区一栋平房倒塌 一人死亡", "昨天夜里十一点多，一户的房盖子被雪压塌了，砸着屋里俩人，老头当场就不行了。", 1,
     ["一人死亡"]),
    ("平安乡前程村两名儿童溺水死亡", "8月7日下午，两名儿童到村西水塘里洗澡，不慎出事。", 2, ["两名儿童溺水死亡"]),
    # the text's own count wins, even a count of none
    ("某镇发生火灾 1人死亡", "经核实，火灾未造成人员死亡，1人受伤。", 0, []),
    ("某镇发生火灾", "火灾中一名老人被困，已救出。", None, []),
])
def test_a_death_the_title_states_when_the_text_gives_no_count(nlp, title, text, dead, evidence):
    from pipeline.nlp import analyse_text

    a = analyse_text(nlp, text, title, RECEIVED)
    assert a.facts.dead == dead
    assert [m.text for m in a.facts.mentions if m.kind == "dead_in_title"] == evidence


@pytest.mark.parametrize("text,grade,evidence", [
    # a government response at level Ⅲ or above grades the event (Ⅲ较大, Ⅱ重大, Ⅰ特别重大)
    ("市政府已启动突发环境事件Ⅲ级（较大）应急响应，组织清污船8艘。", "较大", "启动突发环境事件Ⅲ级（较大）应急响应"),
    ("县防指已启动防汛二级应急响应，转移群众300人。", "重大", "启动防汛二级应急响应"),
    ("应急响应于6时提升至Ⅱ级响应。", "重大", "提升至Ⅱ级响应"),
    ("县防指已启动防汛Ⅳ级应急响应。", None, None),
    # planned, lifted, a company's own level, pollution weather, a drill: no grade
    ("如水位继续上涨，将启动防汛Ⅲ级应急响应。", None, None),
    ("11月9日县应急局已解除Ⅲ级应急响应。", None, None),
    ("事故发生后，已启动矿井一级应急响应，全矿停产撤人。", None, None),
    ("市重污染天气应急指挥部已发布橙色预警并启动Ⅱ级应急响应。", None, None),
    ("11月20日开展防汛应急演练。演练模拟启动Ⅲ级应急响应，疏散群众50人。", None, None),
    # the text naming this event's grade
    ("经初步核定，本起事故已构成较大生产安全事故。", "较大", "构成较大生产安全事故"),
    ("8天假期全县未发生较大以上突发事件。", None, None),
    # a case of a disease graded at the first case, suspected included
    ("该村确诊皮肤炭疽3例，另有1人高热、咳嗽，疑似肺炭疽。", "较大", "疑似肺炭疽"),
    ("县人民医院报告1例人感染H7N9禽流感病例。", "重大", "县人民医院报告1例人感染H7N9禽流感病例"),
    ("今年以来全县未报告肺炭疽病例。", None, None),
    ("经市疾控中心检测，已排除肺鼠疫。", None, None),
])
def test_the_grade_the_text_gives_the_event(nlp, text, grade, evidence):
    f = facts_of(nlp, text)
    assert (f.stated_grade.value if f.stated_grade else None) == grade
    assert (f.stated_grade.text if f.stated_grade else None) == evidence
    assert [m.text for m in f.mentions if m.kind == "grade"] == ([evidence] if evidence else [])


def test_a_stated_grade_above_the_figures_sets_the_severity(nlp):
    f = facts_of(nlp, "今日6时许发生泥石流，造成1人受伤。县防指已启动防汛Ⅲ级应急响应。")
    assert severity(f) == ("较大", ["报告所述“启动防汛Ⅲ级应急响应”，属较大"])
    f = facts_of(nlp, "今日6时许发生泥石流，造成1人受伤。")
    assert severity(f)[0] == "一般"
    # the figures win when they grade the event higher
    f = facts_of(nlp, "今日6时许发生泥石流，造成12人死亡。县防指已启动防汛Ⅲ级应急响应。")
    assert severity(f)[0] == "重大"


@pytest.mark.parametrize("text,evacuated", [
    ("截至14时50分，已紧急转移下游群众620人。", 620),
    ("学校9时30分前将全校师生1380人转移至上风向的文体中心。", 1380),
    ("转移群众218户、390人，截至22时共转移群众612人。", 612),
    ("已疏散周边商铺和住户约300人。", 300),
    # housing, jobs and drills are no evacuation
    ("安置点共搬迁安置4120户18356人。", None),
    ("全县转移就业5.42万人，比去年同期减少约2100人。", None),
    ("汛前开展山洪转移演练，参加群众120余人。", None),
])
def test_evacuations(nlp, text, evacuated):
    assert facts_of(nlp, text).evacuated == evacuated
