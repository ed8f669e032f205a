"""Facts of a report as spaCy rule components: times, casualties, losses, crowds, places.

The components (``triage_times``, ``triage_casualties``, ``triage_grade``, ``triage_places``) run on the jieba
tokenized ``zh`` pipeline. Each records what it found in ``doc._.facts`` and, as labeled
spans aligned to the tokens, in ``doc.spans["facts"]`` so an editor can see the evidence.
Patterns live in ``data/fact_patterns.toml``.

Chinese numerals go through cn2an (a maintained converter); we only add the 余/多/数 handling
around it, because cn2an refuses vague counts and they must be recorded as vague anyway.
"""

from __future__ import annotations

import bisect
import itertools
import re
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from spacy.language import Language
from spacy.tokens import Doc

from .labels import load_labels
from .prefilter import guard, lead

PATTERNS_FILE = Path(__file__).resolve().parent / "data" / "fact_patterns.toml"
TZ = ZoneInfo("Asia/Shanghai")
# Hours assumed for a part of day named without a clock time (the corpus guideline's convention).
PART_HOURS = {"凌晨": 3, "清晨": 7, "早晨": 7, "早上": 7, "上午": 10, "中午": 12, "午间": 12, "午后": 14,
              "下午": 15, "傍晚": 18, "晚上": 21, "晚间": 21, "晚": 21, "夜间": 21, "夜里": 22, "深夜": 23,
              "半夜": 0,
              # meals, only after a day (15日午餐后): the meal, or an hour after it
              "早餐": 7, "早饭": 7, "早餐后": 8, "早饭后": 8, "午餐": 12, "午饭": 12, "午餐后": 13, "午饭后": 13,
              "晚餐": 18, "晚饭": 18, "晚餐后": 19, "晚饭后": 19}
MEALS = {"早餐", "早饭", "早餐后", "早饭后", "午餐", "午饭", "午餐后", "午饭后", "晚餐", "晚饭", "晚餐后", "晚饭后"}
PM_PARTS = {"下午", "傍晚", "晚上", "晚间", "晚", "夜间", "夜里", "深夜", "午后"}

for _name in ("received_at", "facts"):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


@dataclass
class Mention:
    """One piece of evidence: what was found, where (character offsets), and its value."""

    kind: str
    start: int
    end: int
    text: str
    value: Any = None


@dataclass
class Facts:
    """The facts of one report. Counts are None when the text gives no number."""

    event_time: datetime | None = None
    event_time_mention: Mention | None = None
    learned_time: datetime | None = None
    dead: int | None = None
    injured: int | None = None
    serious: int | None = None
    missing: int | None = None
    trapped: int | None = None
    patients: int | None = None  # of the injured, those counted as patients of an illness report
    vague: list[str] = field(default_factory=list)  # kinds given only as vague counts
    earlier: dict[str, int] = field(default_factory=dict)  # figures of an earlier report
    casualties_stated: bool = False  # the text says something about casualties, even "none"
    casualties_unknown: bool = False  # 伤亡情况正在核实
    loss_wan: float | None = None
    crowd: int | None = None
    crowd_vague: bool = False
    evacuated: int | None = None  # people moved away (the largest count stated)
    stated_grade: Mention | None = None  # the grade the text gives the event (value: 较大…)
    places: list[str] = field(default_factory=list)
    place: str | None = None
    times: list[Mention] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready facts (times in ISO 8601). Built by hand: ``dataclasses.asdict`` deep-copies
        every value and cost more than the extraction itself."""
        def iso(dt):
            return dt.isoformat(timespec="minutes") if isinstance(dt, datetime) else dt

        def mention(m):
            return None if m is None else {"kind": m.kind, "start": m.start, "end": m.end, "text": m.text,
                                           "value": iso(m.value)}

        out = {k: getattr(self, k) for k in ("dead", "injured", "serious", "missing", "trapped", "patients", "casualties_stated",
                                             "casualties_unknown", "loss_wan", "crowd", "crowd_vague", "evacuated", "place")}
        out.update(event_time=iso(self.event_time), learned_time=iso(self.learned_time),
                   event_time_mention=mention(self.event_time_mention), vague=list(self.vague),
                   earlier=dict(self.earlier), places=list(self.places),
                   stated_grade=self.stated_grade.value if self.stated_grade else None,
                   times=[mention(m) for m in self.times], mentions=[mention(m) for m in self.mentions])
        return out


@lru_cache(maxsize=1)
def patterns() -> dict[str, Any]:
    with open(PATTERNS_FILE, "rb") as fh:
        return tomllib.load(fh)


# ---------------------------------------------------------------- numbers

_CN_DIGITS = set("零〇一二两三四五六七八九十百千")


def parse_count(token: str) -> int | None:
    """An exact count from Arabic or Chinese numerals; None when vague (十余, 30多)."""
    token = token.strip()
    if not token or token[-1] in "余多":
        return None
    if token.isdigit():
        return int(token)
    if all(ch in _CN_DIGITS for ch in token):
        import cn2an

        try:
            return int(cn2an.cn2an(token, "smart"))
        except (ValueError, KeyError):
            return None
    return None


# ---------------------------------------------------------------- times

@lru_cache(maxsize=1)
def _time_regex() -> re.Pattern:
    t = patterns()["times"]
    body = f"(?:{t['day']})?\\s*(?:{t['part']})?\\s*(?:{t['clock']})?{t['approx']}"
    # Every part is optional, so without this lookahead the pattern matches the empty string
    # at every position: a time starts with a digit, a numeral or a day or part-of-day word.
    # The second lookahead skips the matches that hold no day, part of day or clock time
    # (a bare 一 or 前): ``find_times`` would drop them, and they are most of the matches.
    def unnamed(p: str) -> str:
        return re.sub(r"\(\?P<\w+>", "(?:", p)

    some = f"(?=(?:{unnamed(t['day'])})|(?:{unnamed(t['part'])})|(?:{unnamed(t['clock'])}))"
    return re.compile(r"(?=[\d零〇一二两三四五六七八九十今昨前当同次翌第凌清早上中午下傍晚夜深半明])" + some + body)


def _num(s: str | None) -> int | None:
    if s is None:
        return None
    return parse_count(s)


def find_times(text: str, received_at: datetime) -> list[Mention]:
    """Every time expression, resolved to an aware datetime (Asia/Shanghai) where it can be.

    Relative days (今日, 昨晚) count from ``received_at``; 当日 and 次日 from the last date
    mentioned. A mention with a day but no time of day resolves to None (too coarse to use).
    """
    received = received_at.astimezone(TZ)
    anchor = received.date()
    anchor_end = -1  # where the last day named ends: a bare clock time in its sentence is that day's
    prev_part = None
    out = []
    for m in _time_regex().finditer(text):
        g = m.groupdict()
        has_day = bool(g["d"] or g["rel"])
        has_clock = bool(g["h"] or g["hh"])
        if not (has_day or has_clock or g["part"]):
            continue
        if not has_clock and not has_day and g["part"] in ("晚",):
            continue
        if g["part"] in MEALS and not has_clock and not has_day:
            continue  # a meal tells the time only after a day (学生午餐为米饭 is no time)
        if has_clock and not has_day and not g["part"]:
            # A bare "3时" is too ambiguous unless it reads as a clock time.
            if not (g["mi"] or g["half"] or g["hh"] or g["approx"] in ("许", "左右")):
                continue
        if not has_clock and not has_day and m.end() - m.start() < 2:
            continue
        day = None
        if g["rel"]:
            rel = g["rel"]
            if rel.startswith(("今", )):
                day = received.date()
            elif rel.startswith("昨"):
                day = received.date() - timedelta(days=1)
            elif rel.startswith(("前日", "前天", "前晚")):
                day = received.date() - timedelta(days=2)
            elif rel.startswith(("当", "同日")):
                day = anchor
            elif rel.startswith("明"):
                day = received.date() + timedelta(days=1)
            else:  # 次日, 翌日, 第二天
                day = anchor + timedelta(days=1)
        elif g["d"]:
            d = _num(g["d"])
            mo = _num(g["mo"]) if g["mo"] else received.month
            y = int(g["y"]) if g["y"] else received.year
            try:
                day = datetime(y, mo, d).date()
            except (TypeError, ValueError):
                day = None
            if day and not g["y"] and day > received.date() + timedelta(days=1):
                # "25日" in a report received on the 3rd: last month; "12月30日" in January: last year.
                if g["mo"]:
                    # 3月4日 in a report of 3月2日 is a date ahead (拟于3月4日上访), not last year's;
                    # 12月30日 in a report of 11月25日 is last year's
                    if (day - received.date()).days > 10:
                        day = day.replace(year=day.year - 1)
                else:
                    prev = received.replace(day=1) - timedelta(days=1)
                    try:
                        day = prev.date().replace(day=d)
                    except ValueError:
                        day = None
        if day is not None:
            anchor = day
            if g["mo"] or g["rel"] or "日" in m.group() or has_clock or g["part"]:
                anchor_end = m.end()  # not 3号检查井
        part = g["part"]
        if part == "晚" and not has_clock and not g["rel"] and not g["d"]:
            part = None  # a bare 晚 is too often 晚于, 较晚; 24日晚 is the evening
        if part in MEALS and has_clock:
            part = None  # 15日午餐后13时许: the clock time says it
        if has_clock and not has_day and not part and out and out[-1].value is not None \
                and text[out[-1].end:m.start()] in ("和", "至", "到", "、", "-", "—", "～", "~") and prev_part:
            part, day = prev_part, out[-1].value.date()  # 23日下午2时许和5时许: the second is 17:00 too
        hour = minute = None
        if g["hh"]:
            hour, minute = int(g["hh"]), int(g["mm"])
        elif g["h"]:
            hour = _num(g["h"])
            minute = _num(g["mi"]) if g["mi"] else (30 if g["half"] else (15 if g["quarter"] else 0))
        if hour is not None and part:
            if part in PM_PARTS and hour < 12:
                hour += 12
            elif part == "中午" and hour < 6:
                hour += 12
            elif part in ("深夜", "半夜") and hour == 12:
                hour = 0
        if g["rel"] in ("今晚", "今夜", "昨晚", "昨夜", "当晚", "当夜", "前晚", "明晚") and hour is not None and hour < 12:
            hour += 12
        if hour is None and part:
            hour, minute = PART_HOURS.get(part), 0
        if hour is None and g["rel"] in ("今晨", "今早", "昨晨", "明早"):
            hour, minute = 7, 0
        if hour is None and g["rel"] in ("今晚", "今夜", "昨晚", "昨夜", "当晚", "当夜", "前晚", "明晚"):
            hour, minute = 21, 0
        value = None
        if hour is not None and minute is not None and 0 <= hour <= 24 and 0 <= minute < 60:
            base = day or received.date()
            if day is None and anchor_end >= 0 and not re.search(r"[。\n]", text[anchor_end:m.start()]):
                base = anchor  # 8月3日凌晨，某镇突降暴雨，2时许一民房倒塌: the day of its sentence
            if hour == 24:
                hour, base = 0, base + timedelta(days=1)
            value = datetime(base.year, base.month, base.day, hour, minute, tzinfo=TZ)
            if day is None and value > received + timedelta(minutes=30):
                value -= timedelta(days=1)  # "14:30" written before a 09:00 receipt: yesterday
        prev_part = part
        out.append(Mention("time", m.start(), m.end(), m.group(), value))
    return out


_CLOCK = re.compile(r"\d{1,2}[时点:：]|[零〇一二三四五六七八九十两]+[时点]")


def _sharper(text: str, m: Mention, timed: list[Mention]) -> Mention:
    """A day and part of day (今晚, 15日上午) made precise by a clock time of the same day later in
    its sentence (今晚，…于19时20分许相继出现症状)."""
    if _CLOCK.search(m.text):
        return m
    end = min([i for i in (text.find("。", m.end), text.find("\n", m.end)) if i >= 0] or [len(text)])
    for other in timed:
        if m.end <= other.start < end and _CLOCK.search(other.text) and other.value.date() == m.value.date() \
                and abs(other.value - m.value) <= timedelta(hours=6):
            return other
    return m


def is_follow_up_text(text: str) -> bool:
    from .corpus import is_follow_up

    return is_follow_up("", text)


@lru_cache(maxsize=1)
def _event_regexes() -> tuple[re.Pattern, ...]:
    t = patterns()["times"]
    return tuple(re.compile(t[k]) for k in ("learned_after", "not_event_after", "not_event_before", "event_words",
                                             "explicit_before", "weather_onset", "weather_words"))


def choose_event_time(text: str, times: list[Mention],
                      received_at: datetime | None = None) -> tuple[Mention | None, Mention | None]:
    """The mention giving when the incident began, and the one giving when the unit learned of it.

    A time the text names as the event's (事发时间为...) wins; times after the receipt (plans) and
    datelines (a unit and a date alone on a line) never count."""
    learned_re, not_after, not_before, event_re, explicit_re, onset_re, weather_re = _event_regexes()
    learned = None
    candidates = []
    reported = []  # 上午9时许，县医院报告收治3名患者: the only time the text gives, when nothing else
    background = []  # 今日18时起普降暴雨: the weather's onset, used when no incident time follows
    weather_only = []
    for m in times:
        if m.value is None:
            continue
        if explicit_re.search(text, max(0, m.start - 12), m.start):
            return m, learned
        if received_at is not None and m.value > received_at + timedelta(hours=1):
            continue  # a plan (明日凌晨5时起组织攻坚), not the event
        after = text[m.end:m.end + 16]
        before = text[max(0, m.start - 8):m.start]
        line_start = text.rfind("\n", 0, m.start) + 1
        line_head = text[line_start:m.start]
        if re.search(r"(报送时间|签发|发布时间|时间)[:：]\s*$", line_head):
            continue
        line_end = text.find("\n", m.end)
        if not text[m.end:len(text) if line_end < 0 else line_end].strip() and not re.search(r"[，。,；]", line_head) \
                and not event_re.search(line_head):
            continue  # a dateline: 县委网信办　2026年6月3日21时40分
        if learned_re.search(after):
            learned = learned or m
            continue
        if not_before.search(before):
            continue
        if not_after.search(after):
            reported.append(m)
            continue
        sent_end = min([i for i in (text.find("。", m.end), text.find("\n", m.end)) if i >= 0] or [len(text)])
        if onset_re.search(after) and weather_re.search(text, m.end, sent_end):
            background.append(m)
            continue
        if not _CLOCK.search(m.text) and weather_re.search(text, m.end, min(sent_end, m.end + 16)):
            # 今晚我县出现短时强降雨。22时40分许，某村突发山洪: weather named with a part of the day
            # only, used when no other time is given
            weather_only.append(m)
            continue
        candidates.append((bool(event_re.search(text[m.start:sent_end])), m))
    if weather_only and not any(has_event and _CLOCK.search(m.text) for has_event, m in candidates):
        # no timed incident follows the weather: it is a candidate like any other
        weather = [(bool(event_re.search(text, m.start, _sentence_end(text, m.end))), m) for m in weather_only]
        candidates = sorted(candidates + weather, key=lambda c: c[1].start)
        weather_only = []
    if is_follow_up_text(text):
        # A follow-up recounts the original event first and then what happened since: the
        # event began at the earliest time it states.
        timed = [m for _, m in candidates if re.search(r"\d|[一二三四五六七八九十两]+[时点]", m.text)]
        if timed:
            return min(timed, key=lambda m: m.value), learned
    timed = [m for _, m in candidates if m.value is not None]
    if background and not any(has_event for has_event, _ in candidates):
        candidates.insert(0, (True, background[0]))
    for has_event, m in candidates:
        if has_event:
            return _sharper(text, m, timed), learned
    # Without an incident word nearby, only a mention with a clock time or a day will do:
    # a bare 中午 (村民已于中午前离开) says nothing about when the event began.
    precise = [m for _, m in candidates if re.search(r"\d|[日号天晚晨]|[一二三四五六七八九十两]+[时点]", m.text)]
    if precise:
        return precise[0], learned
    if weather_only:
        return weather_only[0], learned
    # Only a time something was reported (报告收治) or learned is stated: the best the text says.
    if reported and re.search(r"^[^。；\n]{0,8}?(?:报告|上报)", text[reported[0].end:reported[0].end + 16]):
        return reported[0], learned
    return learned, learned


# ---------------------------------------------------------------- casualties, loss, crowd

@lru_cache(maxsize=1)
def _hotlines() -> frozenset:
    return frozenset(patterns()["numbers"]["hotlines"])


@lru_cache(maxsize=1)
def _casualty_regexes() -> dict[str, re.Pattern]:
    n = patterns()["numbers"]
    c = patterns()["casualties"]
    count, vague = n["count"], n["vague"]
    # 人 of 人民医院 is no unit, and 第三人民医院 no count.
    count = rf"(?<!第){count}"
    unit = r"(?:人(?!民|次)|名|位|个|例|口)"
    # Between a count and its casualty word: no verb of the rescuers (医护人员30名赶赴现场救治伤员).
    gap = r"(?:(?!救治|救援|看望|慰问|转运|护送)[^，。；、,;\n（）()]){0,10}?"
    # Around a parenthesis (1名居民（女，62岁）吸入浓烟死亡) the gap holds no number, negation or casualty word.
    gapp = r"(?:(?!\d+(?:人|名|例))[^，。；、,;\n（）()无未没暂死伤亡]){0,12}?"
    paren = r"(?:（[^（）\n]{0,20}）|\([^()\n]{0,20}\))"
    # Victims named after the casualty word: 刺伤3名学生, 咬伤行人11人, 砍伤上前劝阻的2名摊主.
    victim = r"(?:[\u4e00-\u9fff]{0,3}?(?:行人|群众|村民|学生|民警|辅警|路人|工人|乘客|儿童|幼儿|老人|游客|居民|顾客|摊主|员工|职工)|[^，。；、,;\n\d]{1,8}?的)?"
    out = {}
    # A number followed by one of these is an age, a time, money or a quantity, not a count of people.
    not_people = r"(?!岁|年|月|日|号|时|点|分|秒|元|万|亿|亩|米|公|千|里|辆|户|间|台|次|级|%|\.|架|吨|座|家|所|处|条|只|头|起|个月|小时|天|车|急救|救护|指挥)"
    # A death is often told with who died first (一名68岁男性在送往镇卫生院途中死亡): a longer clause.
    # (but no other count in it: 3名矿工中1人…死亡 is one dead)
    gap_dead = gap.replace("{0,10}?", "{0,16}?").replace("护送)", r"护送|(?:\d+|[一二两三四五六七八九十]+)(?:人|名))")
    for kind in ("dead", "injured", "serious", "light", "missing", "trapped"):
        word = c[kind]
        out[kind] = re.compile(
            rf"(?P<n1>{count}){not_people}(?:{unit}{gap_dead if kind == 'dead' else gap}|{unit}{gapp}{paren}[，,]?{gapp})?(?:经抢救无效|抢救无效)?{word}(?!{victim}{count}{unit})"
            rf"|{word}(?:人数|人员)?(?:已|共|累计)?(?:为|达|达到|增至|增加到|上升至|上升到|升至|有)?(?:约|共)?{victim}(?P<n2>{count}){unit}")
        out[kind + "_vague"] = re.compile(rf"{vague}(?!处|次|项|部位|方面|年|天|日|个月|小时|分钟){unit}?(?:人员|群众|工人|村民|学生)?{gap}{word}")
        # Lists summed: 3名施工人员和2名村民受伤; 刺伤民警2名、辅警1名.
        item = rf"{count}{unit}"
        noun = r"(?:(?![死伤亡失困遇])[\u4e00-\u9fff])"
        out[kind + "_list"] = re.compile(
            rf"(?P<list>{item}{noun}{{0,5}}?(?:[、和及与](?:另有)?{item}{noun}{{0,5}}?)+)(?:均|都|共|全部)?{word}"
            rf"|{word}(?P<list2>{noun}{{0,4}}?{item}(?:[、和及与]{noun}{{0,4}}?{item})+)")
    out["item"] = re.compile(rf"(?P<n>{n['count']}){unit}")
    # Cheap tests run first: a kind's patterns only run on a text holding one of its words.
    for kind in ("injured", "serious", "light", "missing", "trapped"):
        out["word_" + kind] = re.compile(c[kind])
    out["word_dead"] = re.compile(rf"{c['dead']}|死|抢救无效|施救无效|急救无效|救治无效|无呼吸|遗体|尸体|遇难")
    out["responders_before"] = re.compile(c["responders_before"])
    out["word_ill"] = re.compile(r"病|诊|毒|染|症|院|留观|吸入|送|救|治疗|观察|例")
    # "一名工人被卷入，经送医抢救无效死亡": the count may stand a clause before 抢救无效.
    out["dead_rescue"] = re.compile(
        rf"(?P<n1>{count}){not_people}{unit}{paren}?[^。；\n\d一二两三四五六七八九十]{{0,24}}?"
        rf"(?:(?:经|送医|送院|后)*(?:抢救|急救|救治|施救)无效(?:死亡|身亡)?|已无生命体征|均已遇难|已遇难|已无呼吸)(?P<n2>)")
    # 另2人腹部、臂部受伤: after 另 the body parts may be listed
    out["injured_other"] = re.compile(rf"(?<=另)(?:有)?(?P<n1>{count}){unit}[^。；，,\n]{{0,12}}?{c['injured']}(?P<n2>)")
    # 3名厨师面部、手部轻度烧伤; 2人呼吸不适、面部轻度擦伤: body parts or symptoms listed between
    # the count and the word (no other count and no other casualty word in the list).
    item = r"[^。；，,、\n\d零〇一二两三四五六七八九十死伤亡]"
    out["injured_parts"] = re.compile(rf"(?P<n1>{count}){unit}(?:{item}{{1,6}}、){{1,3}}{item}{{0,6}}?{c['injured']}(?P<n2>)")
    out["animals"] = re.compile(c["animals"])
    out["dead_body"] = re.compile(rf"(?P<n1>{count})(?:人|名|具)(?:的)?(?:遗体|尸体)(?P<n2>)"
                                 rf"|(?P<n3>{count})具[^，。；\n\d]{{0,6}}?(?:尸体|遗体)")
    out["person"] = re.compile(c["person"])
    out["dead_family"] = re.compile(c["dead_family"])
    out["singular_dead"] = re.compile(c["singular_dead"])
    out["singular_injured"] = re.compile(c["singular_injured"])
    out["singular_missing"] = re.compile(c["singular_missing"])
    out["dead_compact"] = re.compile(rf"(?P<n1>{count})死(?=\d|[一二两三四五六七八九十]|[、，。；]|$)(?P<n2>)")
    out["pair"] = re.compile(rf"(?P<d>{count})死(?P<i>{count})伤")
    out["earlier"] = re.compile(c["earlier"])
    out["historic"] = re.compile(c["historic"])
    out["earlier_figure"] = re.compile(c["earlier_figure"])
    for kind in ("all", "dead", "injured", "missing", "trapped", "harm"):
        out["none_" + kind] = re.compile(c["none_" + kind])
    out["unknown"] = re.compile(c["unknown"])
    out["no_danger"] = re.compile(c["no_danger"])
    np = c["not_patients"]
    out["ill"] = re.compile(
        rf"{c['ill_after']}(?P<n2>{count}){unit}{np}"
        rf"|(?P<n1>{count}){unit}{np}[^。；，\n\d（）()]{{0,16}}?{c['ill_before']}"
        rf"|(?:就诊|发病|中毒|送医)的(?P<n3>{count}){unit}"
        rf"|(?:累计|共|合计)(?P<n4>{count})例")
    # More patients listed after the first count: 累计发病学生58人、教职工3人.
    out["ill_more"] = re.compile(rf"(?:{paren}?[、和及](?:另有)?{noun}{{0,5}}?(?P<n>{count}){unit})+")
    out["ill_listed"] = re.compile(rf"(?:(?<![\d一二两三四五六七八九十]){count}{unit}{noun}{{0,5}}?[、和及与])+$")
    out["ill_total"] = re.compile(rf"(?:合计|共计|总计|共有|共|累计)(?P<n2>{count}){unit}{np}")
    out["symptoms"] = re.compile(c["symptoms"])
    out["singular_treated"] = re.compile(c["singular_treated"])
    out["death_words"] = re.compile(c["death_words"])
    out["found"] = re.compile(c["found"])
    out["absconded"] = re.compile(c["absconded"])
    out["found_after_missing"] = re.compile(c["found_after_missing"])
    out["found_dead"] = re.compile(c["found_dead"])
    out["trapped_missing"] = re.compile(c["trapped_missing"])
    return {k: guard(v) for k, v in out.items()}


_ANIMAL_CHAR = re.compile("[鱼虾蟹贝猪牛羊鸡鸭鹅禽畜蜂]")


def _vague_prefix(text: str, pos: int) -> bool:
    """The count at ``pos`` ends a vague one (数十名, 几十人), not 人数12人."""
    return pos > 0 and text[pos - 1] in "数几" and text[max(0, pos - 2):pos] != "人数"


def _negated_before_word(text: str, m: re.Match) -> bool:
    """A count-first casualty match whose word is negated (4人及时撤离未受伤, 2人没有受伤)."""
    gap = text[m.end("n1"):m.end()]
    return bool(re.search(r"(?:未|没有|没|无)(?:人员)?(?:受|遇|死|伤|失|被)", gap))


def _clause_start(text: str, pos: int, seps: str = "，。；\n,") -> int:
    """Where the clause holding ``pos`` starts; commas inside a parenthesis (男，63岁) do not end one."""
    s = max(text.rfind(ch, 0, pos) for ch in seps) + 1
    while s > 0 and text.count("）", s, pos) > text.count("（", s, pos):
        opening = text.rfind("（", 0, s)
        if opening < 0:
            break
        s = max(text.rfind(ch, 0, opening) for ch in seps) + 1
    return s


def _persons(person: re.Pattern, text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """Persons named in text[start:end]; a description and a name side by side (老人钱某某,
    其子邹某) are one person, known by the name."""
    out: list[tuple[int, int, str]] = []
    for p in person.finditer(text, start, end):
        if out and out[-1][1] == p.start():
            out[-1] = (out[-1][0], p.end(), p.group())
        else:
            out.append((p.start(), p.end(), p.group()))
    return out


_LIST_JOIN = re.compile(r"(?:（[^（）]{0,20}）)?(?:、|和|及|与|以及)")


def _joined(text: str, a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    """Whether two persons are listed together (刘某某（男，67岁）、刘某; 其妻、其孙)."""
    first, second = (a, b) if a[0] < b[0] else (b, a)
    return bool(_LIST_JOIN.fullmatch(text, first[1], second[0]))


def _sentence_end(text: str, pos: int) -> int:
    ends = [i for i in (text.find("。", pos), text.find("；", pos), text.find("\n", pos)) if i >= 0]
    return min(ends) if ends else len(text)


def find_casualties(text: str, facts: Facts) -> None:
    """Fill dead/injured/serious/missing/trapped, vague kinds and earlier figures."""
    rx = _casualty_regexes()
    counts: dict[str, list[int]] = {k: [] for k in ("dead", "injured", "serious", "light", "missing", "trapped", "ill")}
    taken: list[tuple[int, int]] = []

    def overlaps(s, e):
        return any(s < te and ts < e for ts, te in taken)

    def elsewhere(m) -> bool:
        """An earlier report's figure or another period's: recorded apart, never counted."""
        before = text[max(0, m.start() - 14):m.start()]
        return bool(rx["historic"].search(before))

    for m in rx["pair"].finditer(text):
        d, i = parse_count(m.group("d")), parse_count(m.group("i"))
        taken.append(m.span())
        facts.mentions.append(Mention("casualties", m.start(), m.end(), m.group(), {"dead": d, "injured": i}))
        if d is not None:
            counts["dead"].append(d)
        if i is not None:
            counts["injured"].append(i)
    present = {k for k in ("dead", "injured", "serious", "light", "missing", "trapped") if rx["word_" + k].search(text)}
    for kind in ("dead", "injured", "serious", "light"):
        if kind not in present:
            continue
        for m in rx[kind + "_list"].finditer(text):
            if overlaps(*m.span()) or elsewhere(m) or rx["earlier"].search(text[max(0, m.start() - 14):m.start()]):
                continue
            values = [parse_count(x.group("n")) for x in rx["item"].finditer(m.group("list") or m.group("list2"))]
            if any(v is None for v in values):
                continue
            taken.append(m.span())
            counts[kind].append(sum(values))
            facts.mentions.append(Mention(kind, m.start(), m.end(), m.group(), sum(values)))
    for kind, key in (("serious", "serious"), ("light", "light"), ("dead", "dead"), ("dead", "dead_rescue"),
                      ("dead", "dead_body"), ("dead", "dead_compact"), ("injured", "injured"), ("injured", "injured_other"), ("injured", "injured_parts"),
                      ("missing", "missing"),
                      ("trapped", "trapped")):
        if kind not in present:
            continue
        for m in rx[key].finditer(text):
            if overlaps(*m.span()):
                continue
            raw = m.group("n1") or m.group("n2") or (m.group("n3") if key == "dead_body" else None)
            value = parse_count(raw)
            if value in _hotlines() or elsewhere(m):
                continue
            if m.group("n1") and _negated_before_word(text, m):
                continue  # 同班其余4人及时撤离未受伤: the count is of those not hurt
            if m.group("n1") and _vague_prefix(text, m.start("n1")):
                value = None  # 数十人受伤: 十 is part of a vague count
            before = text[max(0, m.start() - 14):m.start()]
            found_since = kind == "missing" and rx["found"].search(text, m.end(), _sentence_end(text, m.end()))
            if rx["earlier"].search(before) or found_since:
                if value is not None:
                    facts.earlier[kind] = max(value, facts.earlier.get(kind, 0))
                facts.mentions.append(Mention("earlier_" + kind, m.start(), m.end(), m.group(), value))
                continue
            taken.append(m.span())
            facts.mentions.append(Mention(kind, m.start(), m.end(), m.group(), value))
            if value is None:
                facts.vague.append(kind)
            else:
                counts[kind].append(value)
                # 1人当场死亡，另1人经抢救无效死亡: 另 adds to the count just before, in its sentence
                if re.search(r"(?:另|另有|还有|另外)$", text[max(0, m.start() - 2):m.start()]):
                    start = _clause_start(text, m.start(), "。；\n")
                    prior = [x for x in facts.mentions[:-1] if x.kind == kind and isinstance(x.value, int)
                             and start <= x.start < m.start()]
                    if prior:
                        counts[kind].append(prior[-1].value + value)
        if key in ("dead_rescue", "dead_compact", "dead_body", "injured_other"):
            continue
        for m in rx[kind + "_vague"].finditer(text):
            if overlaps(*m.span()) or _ANIMAL_CHAR.search(m.group()):
                continue  # 部分虾死亡: animals, not people
            taken.append(m.span())
            facts.vague.append(kind)
            facts.mentions.append(Mention("vague_" + kind, m.start(), m.end(), m.group(), None))
    for m in (rx["ill"].finditer(text) if rx["word_ill"].search(text) else ()):
        value = parse_count(m.group("n1") or m.group("n2") or m.group("n3") or m.group("n4"))
        if value is None or value in _hotlines() or elsewhere(m) or rx["earlier"].search(text[max(0, m.start() - 14):m.start()]) \
                or rx["responders_before"].search(text, max(0, m.start() - 6), m.start()):
            continue
        first = next(g for g in ("n1", "n2", "n3", "n4") if m.group(g))
        if _vague_prefix(text, m.start(first)):
            continue  # 数十名宾客出现腹泻: a vague count, not ten
        clause_end = min([i for i in (text.find(ch, m.end()) for ch in "，。；\n,") if i >= 0] or [len(text)])
        if text[clause_end:clause_end + 2] in ("，经", ",经"):  # 送往县医院，经抢救无效死亡
            clause_end = min([i for i in (text.find(ch, clause_end + 1) for ch in "，。；\n,") if i >= 0] or [len(text)])
        if rx["death_words"].search(text, m.start(), clause_end):
            continue  # 2人在送医后死亡: the dead are no patients
        if m.group("n1"):
            # 共有23名学生、2名教师被送至镇卫生院: the counts listed before the one matched
            listed = rx["ill_listed"].search(text, max(0, m.start() - 40), m.start())
            if listed:
                extra = [parse_count(x.group("n")) for x in rx["item"].finditer(listed.group())]
                if all(v is not None for v in extra):
                    value += sum(extra)
        if m.group("n2"):
            more = rx["ill_more"].match(text, m.end())
            if more:
                extra = [parse_count(x.group("n")) for x in rx["item"].finditer(re.sub(r"[（(][^（）()]*[）)]", "", more.group()))]
                if all(v is not None for v in extra):
                    value += sum(extra)
        counts["ill"].append(value)
        facts.mentions.append(Mention("ill", m.start(), m.end(), m.group(), value))
    # 陆续有学生出现呕吐、腹泻，到3点止共17人; 发病学生31人，另有帮厨1人出现腹泻，合计32人
    for m in rx["ill_total"].finditer(text):
        start = max(text.rfind(ch, 0, m.start()) for ch in "。；\n") + 1
        if text.count("（", start, m.start()) > text.count("）", start, m.start()):
            continue  # （院内老人共68人）: an aside, not the patients
        if rx["symptoms"].search(text, start, m.start()) or (counts["ill"] and m.group().startswith(("合计", "共计", "总计"))):
            value = parse_count(m.group("n2"))
            if value is not None and not overlaps(*m.span()):
                counts["ill"].append(value)
                facts.mentions.append(Mention("ill", m.start(), m.end(), m.group(), value))

    kinds = {"死亡": "dead", "遇难": "dead", "受伤": "injured", "失联": "missing", "失踪": "missing"}
    for m in rx["earlier_figure"].finditer(text):
        if overlaps(*m.span()):
            continue
        kind = kinds.get(m.group("kind") or "")
        if kind is None:  # 经核实实际死亡5人，此前上报2人: the kind of the figure just before
            prior = [x for x in facts.mentions if x.end <= m.start() and x.kind in counts]
            kind = max(prior, key=lambda x: x.end).kind if prior else "dead"
        value = parse_count(m.group("n"))
        if value is not None:
            facts.earlier[kind] = max(value, facts.earlier.get(kind, 0))
            facts.mentions.append(Mention("earlier_" + kind, m.start(), m.end(), m.group(), value))

    none_all = [m for m in rx["none_all"].finditer(text)] + [m for m in rx["none_harm"].finditer(text)]
    for m in none_all:
        # 未造成其他人员伤亡 beside a death is no denial of it: kept under its own kind.
        kind = "no_other_casualties" if re.search("其他|其余", m.group()) else "no_casualties"
        facts.mentions.append(Mention(kind, m.start(), m.end(), m.group(), 0))
    for kind in ("dead", "injured", "missing", "trapped"):
        for m in rx["none_" + kind].finditer(text):
            if not overlaps(*m.span()):
                counts[kind].append(0)
                facts.mentions.append(Mention("no_" + kind, m.start(), m.end(), m.group(), 0))
    for m in rx["unknown"].finditer(text):
        facts.casualties_unknown = True
        facts.mentions.append(Mention("casualties_unknown", m.start(), m.end(), m.group(), None))

    # Named or described single persons with a casualty word in their clause, when no number is given.
    singles: dict[str, set] = {"dead": set(), "injured": set(), "missing": set()}
    seen: dict[str, list] = {"dead": [], "injured": [], "missing": []}  # full texts (男童张某某)

    def known(kind: str, p: tuple[int, int, str]) -> bool:
        """Already counted: the same name, or a bare description (男童) of a person counted with it."""
        core = re.sub(r"^[一1]名", "", p[2])[-2:]  # 一名出租车司机 … 司机杨某某: the role noun
        return p[2] in singles[kind] or ("某" not in p[2] and any(core in full for full in seen[kind]))

    for kind in ("dead", "injured", "missing"):
        # 无其他人员受伤 says someone was hurt: its 0 does not stop counting the person described.
        others = any(x.kind == "no_" + kind and re.search("其他|其余", x.text) for x in facts.mentions)
        if (any(counts[kind]) or (counts[kind] and not others)) or \
                (kind == "injured" and (counts["serious"] or counts["light"] or counts["ill"])):
            continue
        if kind == "missing" and (counts["trapped"] or rx["found"].search(text)):
            continue
        if kind in facts.vague:  # 个别人员受伤: the count is vague, a described person does not fix it
            continue
        found_words = [(m, False) for m in rx["singular_" + kind].finditer(text)]
        if kind == "injured":
            found_words += [(m, True) for m in rx["singular_treated"].finditer(text)]
        for m, treated in found_words:
            if overlaps(*m.span()):
                continue
            s = _clause_start(text, m.start())
            e = m.start()
            if treated:  # 其妻王某某被救出，有轻度烟气吸入，已送县人民医院观察
                s = _clause_start(text, m.start(), "。；\n")
                if rx["death_words"].search(text, m.start(), _sentence_end(text, m.end())):
                    continue
            if kind in ("dead", "missing"):  # the subject often stands a clause earlier
                s = _clause_start(text, m.start(), "。；\n")
            if kind == "missing":  # 暂未发现男童下落
                e = m.end()
                if rx["absconded"].search(text, s, _sentence_end(text, m.end())):
                    continue
            if kind == "injured" and not treated:
                if re.search(r"未|没有|无", text[max(s, m.start() - 8):m.start()]):
                    continue  # 货车驾驶员未受伤; 暂未发生老人受冻、摔伤
                if rx["death_words"].search(text, m.end(), _sentence_end(text, m.end())):
                    continue  # 将李某砍伤，李某经抢救无效死亡: the wound ended in the death
            if kind == "dead" and (rx["animals"].search(text, _clause_start(text, m.start()), m.end())
                                   or _ANIMAL_CHAR.search(text, max(_clause_start(text, m.start()), m.start() - 4), m.start())):
                continue  # 养殖户张某某的生猪陆续死亡: animals died, not the owner
            people = _persons(rx["person"], text, s, e)
            if not people and kind == "injured":  # 推搡中老人摔倒，手掌擦伤: the subject a clause earlier
                s2 = max(text.rfind(ch, 0, s - 1) for ch in "，。；\n,") + 1
                if s > 0 and text[s - 1:s] in "，," and not re.search(r"[）)]", text[s2:e]):
                    people = _persons(rx["person"], text, s2, e)
            if kind == "injured":  # the one who died is not counted again as hurt
                people = [p for p in people if not known("dead", p)]
            if not people:
                continue
            if kind == "injured":
                # 其妻、其孙正在救治: everyone in a list right before the word, else the last person
                group = [people[-1]] if not text[people[-1][1]:e].strip("正在仍") else []
                while group and len(group) < len(people) and _joined(text, people[-len(group) - 1], group[-1]):
                    group.append(people[-len(group) - 1])
                group = group or [people[-1]]
            else:
                # 邹某某（男，52岁）及其子邹某…下落不明: the first person and those listed with them
                group = [people[0]]
                while len(group) < len(people) and _joined(text, group[-1], people[len(group)]):
                    group.append(people[len(group)])
            new = [p for p in group if not known(kind, p)]
            if new:
                singles[kind].update(p[2] for p in new)
                seen[kind].extend(text[p[0]:p[1]] for p in new)
                taken.append(m.span())
                facts.mentions.append(Mention(kind, s, m.end(), text[s:m.end()], len(new)))
    for kind in ("dead", "injured", "missing"):
        if singles[kind]:
            counts[kind].append(len(singles[kind]))

    if not counts["dead"]:
        for m in rx["dead_family"].finditer(text):
            value = parse_count(m.group("n"))
            if value:
                counts["dead"].append(value)
                facts.mentions.append(Mention("dead", m.start(), m.end(), m.group(), value))
    no_danger = rx["no_danger"].search(text)
    facts.dead = max(counts["dead"]) if counts["dead"] else (0 if none_all or (no_danger and "dead" not in facts.vague) else None)
    facts.serious = max(counts["serious"]) if counts["serious"] else None
    if counts["injured"]:
        facts.injured = max(counts["injured"])
    elif counts["serious"] or counts["light"]:
        facts.injured = (facts.serious or 0) + (max(counts["light"]) if counts["light"] else 0)
    elif none_all and not counts["ill"]:
        facts.injured = 0
    if counts["ill"]:
        ill = max(counts["ill"])
        # 累计发病31人，其中2人经抢救无效死亡: the patients still alive are the injured.
        top = max((m for m in facts.mentions if m.kind == "ill" and m.value == ill), key=lambda m: m.start)
        deaths = [m for m in facts.mentions if m.kind == "dead" and isinstance(m.value, int)
                  and top.end <= m.end <= top.end + 120 and "其中" in text[top.end:m.end]]
        if re.search(r"其中[^。；]*?(?:死亡|身亡|遇难)", text[top.end:_sentence_end(text, top.end)]):
            deaths.append(top)  # 共有23人发病，其中一名老人在送医途中死亡
        if re.search(r"^[^。；]{0,12}?除[^，。；]{0,6}?(?:死亡|死者|遇难)", text[top.end:top.end + 30]):
            deaths.append(top)  # 共有3名患儿出现感染症状，除死亡患儿外，另2名病情危重
        if deaths and facts.dead and ill > facts.dead:
            ill -= facts.dead
        if ill > (facts.injured or 0):
            facts.patients = ill - (facts.injured or 0)
        facts.injured = max(ill, facts.injured or 0)
    if facts.serious is not None and facts.injured is not None and facts.injured < facts.serious:
        facts.injured = facts.serious
    if facts.dead is None and facts.injured == 0 and rx["none_injured"].search(text) and not facts.vague:
        facts.dead = 0  # 无人员受伤: nobody was hurt, so nobody died
    facts.missing = max(counts["missing"]) if counts["missing"] else None
    facts.trapped = max(counts["trapped"]) if counts["trapped"] else None
    # Found dead in a follow-up: those reported trapped or swept away are no longer missing.
    found = rx["found_after_missing"].search(text) or (rx["found_dead"].search(text) and is_follow_up_text(text))
    if facts.missing is None and facts.trapped and rx["trapped_missing"].search(text) and not found:
        facts.missing = facts.trapped  # 3人被困，目前下落不明
    if facts.missing is None and found:
        facts.missing = 0  # 失联的2人已找到; 被困2人已找到，均已无生命体征: nobody is missing any more
    facts.vague = sorted(set(facts.vague) - {k for k in counts if counts[k]})
    facts.casualties_stated = bool(none_all or any(counts.values()) or facts.vague or facts.casualties_unknown)


@lru_cache(maxsize=1)
def _loss_crowd_regexes() -> dict[str, re.Pattern]:
    n = patterns()["numbers"]
    cr = patterns()["crowd"]
    count = n["count"]
    out = {
        "loss": re.compile(patterns()["loss"]["money"]),
        "crowd_after": re.compile(rf"(?:{cr['verbs']})[^。；\n，]{{0,10}}?(?:约|近|共|有|达|超过|逾)?(?P<n>{count})(?:余|多)?(?:名|人)"),
        # the crowd's description may run long (约70名“某合作社”投资群众聚集), and across a comma
        # when the count names people (100余名群众因反对……，聚集到镇政府; not 5人，现场群众围观)
        "crowd_before": re.compile(rf"(?:约|近|共|有|达|超过|逾)?(?P<n>{count})(?:余|多)?(?:名|人)(?:{cr['people']})?[^。；\n，]{{0,24}}?(?:{cr['verbs']})"),
        "crowd_people": re.compile(rf"(?:约|近|共|有|达|超过|逾)?(?P<n>{count})(?:余|多)?(?:名|人)(?:{cr['people']})[^。；\n]{{0,24}}?(?:{cr['verbs']})"),
        "crowd_size": re.compile(rf"(?:{cr['verbs']})[^。；\n]{{0,30}}?人数(?:约|近|达|超过|逾|为|在)?(?P<n>{count})(?:余|多)?(?:名|人)"),
        "crowd_vague": re.compile(rf"{n['vague']}(?:名|人)(?:{cr['people']})?[^。；\n，]{{0,8}}?(?:{cr['verbs']})"),
        "evacuated_after": re.compile(patterns()["evacuation"]["after"]),
        "evacuated_before": re.compile(patterns()["evacuation"]["before"]),
    }
    return {k: guard(v) for k, v in out.items()}


def find_loss_and_crowd(text: str, facts: Facts) -> None:
    rx = _loss_crowd_regexes()
    for m in rx["loss"].finditer(text):
        amount = float(m.group("amount")) * (10000 if m.group("unit") == "亿" else 1)
        facts.loss_wan = max(amount, facts.loss_wan or 0)
        facts.mentions.append(Mention("loss", m.start(), m.end(), m.group(), amount))
    sizes = []
    spans = set()
    for key in ("crowd_after", "crowd_before", "crowd_people", "crowd_size"):
        for m in rx[key].finditer(text):
            if m.span() in spans:  # crowd_before and crowd_people often find the same words
                continue
            spans.add(m.span())
            raw = m.group("n")
            value = parse_count(raw.rstrip("余多")) if raw else None
            if value is not None and value >= 3:
                sizes.append(value)
                facts.mentions.append(Mention("crowd", m.start(), m.end(), m.group(), value))
    for m in rx["crowd_vague"].finditer(text):
        facts.crowd_vague = True
        facts.mentions.append(Mention("crowd_vague", m.start(), m.end(), m.group(), None))
    facts.crowd = max(sizes) if sizes else None
    moved = []
    for key in ("evacuated_after", "evacuated_before"):
        for m in rx[key].finditer(text):
            value = int(m.group("n"))
            moved.append(value)
            facts.mentions.append(Mention("evacuated", m.start(), m.end(), m.group(), value))
    facts.evacuated = max(moved) if moved else None


# ---------------------------------------------------------------- places

@lru_cache(maxsize=1)
def _site_regex() -> tuple[re.Pattern, re.Pattern, frozenset]:
    """The site pattern, the anchor every site match holds within 12 characters of its start
    (a site word, or the road number of a G/K stake or a national road), and the non-places."""
    p = patterns()["places"]
    site = re.compile(rf"[\u4e00-\u9fffA-Za-z0-9]{{2,12}}?(?:{p['sites']})|G\d{{2,4}}线?K\d+(?:\+\d+)?处?|[A-Z]\d{{1,4}}(?:国道|省道|高速)")
    anchor = lead(re.compile(rf"{p['sites']}|[A-Z]\d"))
    return site, anchor, frozenset(p["not_places"])


_ADMIN_CHARS = frozenset("省市州县区旗镇乡村")


@lru_cache(maxsize=1)
def _site_kind() -> re.Pattern:
    """The kind word a site name ends with (煤矿, 有限公司, 中学...)."""
    return re.compile(rf"(?:{patterns()['places']['sites']})$")


def _finditer_near(rx: re.Pattern, anchor: re.Pattern, reach: int, text: str):
    """``rx.finditer(text)`` for a pattern each of whose matches holds a match of ``anchor``
    starting at most ``reach`` characters after its own start. No match can start earlier
    than ``reach`` before the next anchor, so the search starts there: scanning a long
    lazy alternation at every position of the text is what costs."""
    pos = 0
    while (a := anchor.search(text, pos)) is not None:
        m = rx.search(text, max(pos, a.start() - reach))
        if m is None:
            return
        yield m
        pos = m.end()


_LEAD = "在于对向的和与及了是为将从据经由被把其该此等各全本我原位据称距离往赴到至前"
# Characters that do not occur inside a place name: a match crossing one starts after it.
_STOP = set("在于对向的了和与及是为将从把被由等名个人有到至往赴据称经因已并或但而则即其")
# Matches up to and including the last _STOP character of a range.
_LAST_STOP = re.compile(".*[" + "".join(sorted(_STOP)) + "]", re.S)
_CHAIN_SUFFIX = re.compile(r"(省|自治区|市|州|盟|县|区|旗|镇|乡|街道|村|社区|居委会|组|屯)$")
_RANK = {"组": 6, "屯": 6, "村": 5, "社区": 5, "居委会": 5, "镇": 4, "乡": 4, "街道": 4, "区": 3, "县": 3,
         "旗": 3, "市": 2, "州": 2, "盟": 2, "省": 1, "自治区": 1}


_CHAIN = re.compile(r"(?:[\u4e00-\u9fff]{1,6}?(?:省|自治区|市|州|县|区|旗|镇|乡|街道|村|社区|居委会|屯))+"
                    r"(?:[一二三四五六七八九十\d]{1,2}组)?")
_CHAIN_ANCHOR = re.compile(r"省|自治区|市|州|县|区|旗|镇|乡|街道|村|社区|居委会|屯")  # within 6 of a chain's start


def _trim(text: str, s: int, e: int, keep: int) -> tuple[int, int]:
    """Start a matched name after the last character that cannot be inside a name, and
    after leading function words, keeping at least ``keep`` characters."""
    inner = _LAST_STOP.match(text, s, e - 1)
    if inner:
        s = inner.end()
    while e - s > keep and text[s] in _LEAD:
        s += 1
    return s, e


@lru_cache(maxsize=1)
def _lead_words() -> tuple[frozenset, frozenset]:
    """Words a place name never starts with: (function words, office verbs)."""
    from .segment import words_tagged

    p = patterns()["places"]
    return words_tagged(frozenset(p["function_tags"])), frozenset(p["office_verbs"])


# Site kinds often a verb's object (要求学校, 质疑医院); not 工地, 厂 (改造工地, 污水处理厂).
_OBJECT_KINDS = frozenset(("学校", "中学", "小学", "幼儿园", "医院", "卫生院", "市场", "商场", "公司", "有限公司",
                           "酒店", "宾馆", "车站"))
_GENERIC_SITE = re.compile(r"[省市州县区旗镇乡]?(?:第[一二三四五六七八九十]+)?(?:人民医院|中医院|中心医院|医院|卫生院|妇幼保健院|疾控中心)")
# Before a site: it is where someone was taken (送县人民医院, 转至市中心医院).
_DESTINATION = re.compile(r"(?:送|转|往|至|到|入|赴|就诊于|住进)[^，。；、,;\n]{0,8}$")
_TIME_LEAD = re.compile(r"(?:\d*[年月日时分点]|许)+")


def _word_start(s: int, e: int, tokens: tuple[list[int], list[int]] | None, text: str, floor: int) -> int:
    """Move a name's start to a word boundary past the words no name starts with
    (25日柳荫街道 → 柳荫街道, 通知市 → 市, 组织双河村 → 双河村, 向阳花幼儿园 kept whole).
    ``floor`` is where the pattern's match began: a word starting there or later may be
    taken back whole."""
    if tokens is None:
        return s
    starts, ends = tokens
    function, office = _lead_words()
    i = bisect.bisect_right(starts, s) - 1
    if i >= 0 and starts[i] < s < ends[i]:  # the name starts inside a word
        if starts[i] >= floor:
            s = starts[i]  # 向阳花幼儿园, not 阳花幼儿园
        else:
            s, i = ends[i], i + 1  # 25日 of 25日柳荫街道
    else:
        i = max(i, 0)
    while i < len(starts) and starts[i] == s and ends[i] < e:
        word = text[s:ends[i]]
        if _TIME_LEAD.fullmatch(word) or (word in function and not word.startswith(("第", "某", "我"))) or word in office:
            s, i = ends[i], i + 1
        else:
            break
    t = _TIME_LEAD.match(text, s, e)
    return t.end() if t else s


def _verb_before(s: int, k: int, tokens: tuple[list[int], list[int]] | None, text: str,
                 merged_end: int | None = None) -> bool:
    """The word ending at ``k`` (just before a place's suffix or kind word) is a verb.
    With ``merged_end``, only when the suffix also begins a longer word (村民, 镇里): 冲毁村民 is
    no village, 胜利村 and 鹿鸣镇政府 are kept."""
    if tokens is None:
        return False
    starts, ends = tokens
    if merged_end is not None:
        i = bisect.bisect_right(starts, merged_end - 1) - 1
        if not (i >= 0 and starts[i] == merged_end - 1 and ends[i] > merged_end):
            return False
    j = bisect.bisect_left(ends, k)
    if j >= len(ends) or ends[j] != k or starts[j] < s:
        return False
    word = text[starts[j]:k]
    return len(word) >= 2 and word in _verbs()


@lru_cache(maxsize=1)
def _verbs() -> frozenset:
    from .segment import words_tagged

    return words_tagged(frozenset(patterns()["places"]["verb_tags"]))


def find_places(text: str, facts: Facts, tokens: tuple[list[int], list[int]] | None = None) -> None:
    """Places named in the text (administrative chains and named sites); the most specific wins.
    ``tokens`` (the word starts and ends) keep names to word boundaries."""
    site_re, site_anchor, not_places = _site_regex()
    site_kind = _site_kind()
    found: list[tuple[int, Mention]] = []
    for m in _finditer_near(_CHAIN, _CHAIN_ANCHOR, 6, text):
        s, e = _trim(text, m.start(), m.end(), 2)
        s = _word_start(s, e, tokens, text, m.start())
        name = text[s:e]
        # Trim trailing parts that are not names (城区, 辖区...) and reject common words.
        # A common word, or one with a single character before it.
        if name in not_places or name[1:] in not_places:
            continue
        if len(name) < 3 or name.startswith(("全县", "全市", "全镇", "全乡", "全区", "各乡", "本村")):
            continue
        if _verb_before(s, e - 1, tokens, text, merged_end=e):
            continue  # 冲毁村民房屋, 组织村干部: 村 begins a word (村民), after a verb
        suffix = _CHAIN_SUFFIX.search(name)
        rank = _RANK.get(suffix.group(1), 0) if suffix else (6 if name.endswith("组") else 0)
        found.append((rank, Mention("place", s, e, name, rank)))
    for m in _finditer_near(site_re, site_anchor, 12, text):
        s, e = _trim(text, m.start(), m.end(), 3)
        s = _word_start(s, e, tokens, text, m.start())
        if _GENERIC_SITE.fullmatch(text, s, e) and text[s - 1:s] not in ("在", "于"):
            # 县人民医院 treating the injured: a facility every county has, no place named, unless
            # it is where it happened (在区医院门诊大厅与医生发生冲突)
            continue
        if _DESTINATION.search(text, max(0, s - 12), s):
            continue  # 伤者已送县人民医院: where the injured went, not where it happened
        name = text[s:e]
        if name in not_places or len(name) < 3:
            continue
        # a site needs a name before its kind word: 红星煤矿 and 县医院 are places, the 建工地
        # left of 一在建工地 after trimming at 在 is not, nor 某小区
        kind = site_kind.search(name)
        if kind is not None and kind.start() < 2 and name[0] not in _ADMIN_CHARS:
            continue
        if kind is not None and kind.group() in _OBJECT_KINDS and _verb_before(s, s + kind.start(), tokens, text):
            continue  # 网民质疑学校, 要求卫生院: the site is a verb's object, its name is missing
        found.append((5, Mention("site", s, e, name, 5)))
    seen = set()
    for rank, m in found:
        if m.text not in seen:
            seen.add(m.text)
            facts.places.append(m.text)
            facts.mentions.append(m)
    if found:
        # The most specific place, preferring the first incident sentence's places on ties.
        best = max(found, key=lambda x: (x[0], -x[1].start))
        facts.place = best[1].text


# ---------------------------------------------------------------- severity

def severity(facts: Facts) -> tuple[str | None, list[str]]:
    """The accident grade (一般/较大/重大/特别重大) from deaths, serious injuries and loss, or
    the grade the text itself states when that is higher, with the reasons. Without a
    breakdown, all injured count as seriously injured (the safe side). None when the report
    gives no casualty or loss figure and states no grade."""
    injured = facts.serious if facts.serious is not None else facts.injured
    if facts.serious is None and facts.patients:
        # Patients of a poisoning or an outbreak are no seriously injured of an accident.
        injured = (facts.injured or 0) - facts.patients
    stated = facts.stated_grade
    if facts.dead is None and injured is None and facts.loss_wan is None and facts.missing is None and stated is None:
        return None, []
    dead_or_missing = (facts.dead or 0) + (facts.missing or 0)
    for grade in load_labels().severity:
        reasons = []
        if stated is not None and stated.value == grade.grade:
            reasons.append(f"报告所述“{stated.text}”，属{grade.grade}")
        if grade.dead and dead_or_missing >= grade.dead:
            reasons.append(f"死亡（含失踪）{dead_or_missing}人，达到{grade.grade}标准（{grade.dead}人以上）")
        if grade.injured and (injured or 0) >= grade.injured:
            reasons.append(f"受伤{injured}人，达到{grade.grade}标准（{grade.injured}人以上）")
        if grade.loss_wan and (facts.loss_wan or 0) >= grade.loss_wan:
            reasons.append(f"直接经济损失{facts.loss_wan:g}万元，达到{grade.grade}标准（{grade.loss_wan:g}万元以上）")
        if reasons or not (grade.dead or grade.injured or grade.loss_wan):
            return grade.grade, reasons or ["伤亡和损失均低于较大事故标准"]
    return None, []


# ---------------------------------------------------------------- spaCy components

def doc_text(doc: Doc) -> str:
    """The text of ``doc``. spaCy rebuilds ``doc.text`` from every token on each access, so the
    text is kept in ``user_data`` once (``analyse`` puts it there)."""
    text = doc.user_data.get("triage_text")
    if text is None:
        text = doc.user_data["triage_text"] = doc.text
    return text


def _facts_of(doc: Doc) -> Facts:
    if doc._.facts is None:
        doc._.facts = Facts()
    return doc._.facts


def _add_spans(doc: Doc, mentions: list[Mention]) -> None:
    group = list(doc.spans.get("facts", []))
    for m in mentions:
        span = doc.char_span(m.start, m.end, label=m.kind, alignment_mode="expand")
        if span is not None:
            group.append(span)
    doc.spans["facts"] = group


@Language.component("triage_times")
def times_component(doc: Doc) -> Doc:
    """Find time expressions; choose the event time and the time the unit learned of it."""
    facts = _facts_of(doc)
    received = doc._.received_at or datetime.now(TZ)
    text = doc_text(doc)
    facts.times = find_times(text, received)
    event, learned = choose_event_time(text, facts.times, received)
    if event is not None:
        facts.event_time, facts.event_time_mention = event.value, event
    if learned is not None:
        facts.learned_time = learned.value
    _add_spans(doc, [m for m in (event, learned) if m is not None])
    return doc


@lru_cache(maxsize=1)
def _drill_regexes() -> tuple[re.Pattern, re.Pattern]:
    c = patterns()["casualties"]
    return re.compile(c["drill"]), re.compile(c["scenario"])


def mask_drill_scenarios(text: str) -> str:
    """The text with a drill's scenario sentences blanked out, offsets kept (each character
    of such a sentence becomes ○), so that a simulated casualty is never counted."""
    drill, scenario = _drill_regexes()
    if not drill.search(text):
        return text
    out, pos = [], 0
    for m in scenario.finditer(text):
        if m.start() < pos:
            continue
        s, e = _sentence_start(text, m.start()), _sentence_end(text, m.end())
        out.append(text[pos:s])
        out.append("○" * (e - s))
        pos = e
    out.append(text[pos:])
    return "".join(out)


def reports_a_drill(title: str, text: str, facts: Facts) -> bool:
    """The report is about a drill (its title or first sentence names one) in which nobody
    was really hurt: there is no event to report on time or in full."""
    drill, _ = _drill_regexes()
    first = text[:_sentence_end(text, 0) + 1]
    return (bool(drill.search(f"{title}\n{first}"))
            and not any((getattr(facts, k) or 0) > 0 for k in ("dead", "injured", "missing", "trapped")))


def _sentence_start(text: str, pos: int) -> int:
    return max(text.rfind("。", 0, pos), text.rfind("；", 0, pos), text.rfind("\n", 0, pos)) + 1


@Language.component("triage_casualties")
def casualties_component(doc: Doc) -> Doc:
    """Find casualties, losses, crowd sizes and evacuations (not those of a drill's scenario)."""
    facts = _facts_of(doc)
    before = len(facts.mentions)
    text = mask_drill_scenarios(doc_text(doc))
    find_casualties(text, facts)
    find_loss_and_crowd(text, facts)
    _add_spans(doc, facts.mentions[before:])
    return doc


@lru_cache(maxsize=1)
def _grade_regexes() -> dict[str, Any]:
    g = patterns()["grade"]
    out = {k: re.compile(g[k]) for k in ("response", "response_not", "named", "disease", "disease_case", "disease_not")}
    out["disease_grade"] = g["disease_grade"]
    return out


_RESPONSE_GRADE = {"Ⅰ": "特别重大", "I": "特别重大", "一": "特别重大", "1": "特别重大",
                   "Ⅱ": "重大", "II": "重大", "二": "重大", "2": "重大",
                   "Ⅲ": "较大", "III": "较大", "三": "较大", "3": "较大"}


def find_stated_grade(text: str, facts: Facts) -> None:
    """The highest grade the text gives the event itself: a government emergency response
    started at level Ⅰ–Ⅲ, the event named a 较大/重大/特别重大 accident or event, or a case of
    a disease graded at the first case (肺炭疽, 肺鼠疫: 较大). Recorded with its evidence."""
    rx = _grade_regexes()
    found: list[Mention] = []
    for m in rx["response"].finditer(text):
        clause = text[_clause_start(text, m.start()):m.end()]
        if not rx["response_not"].search(clause):
            found.append(Mention("grade", m.start(), m.end(), m.group(0), _RESPONSE_GRADE[m.group("level")]))
    for m in rx["named"].finditer(text):
        found.append(Mention("grade", m.start(), m.end(), m.group(0), m.group("grade")))
    for m in rx["disease"].finditer(text):
        s, e = _clause_start(text, m.start()), _clause_end(text, m.end())
        clause = text[s:e]
        if rx["disease_case"].search(clause) and not rx["disease_not"].search(clause):
            found.append(Mention("grade", s, e, clause, rx["disease_grade"].get(m.group(0), "重大")))
    if found:
        rank = {g.grade: -i for i, g in enumerate(load_labels().severity)}
        facts.stated_grade = max(found, key=lambda x: (rank.get(x.value, -99), -x.start))
        facts.mentions.append(facts.stated_grade)


def _clause_end(text: str, pos: int) -> int:
    ends = [i for i in (text.find(c, pos) for c in "。；，\n,") if i >= 0]
    return min(ends) if ends else len(text)


@Language.component("triage_grade")
def grade_component(doc: Doc) -> Doc:
    """Find the grade the text gives the event (not in a drill's scenario)."""
    facts = _facts_of(doc)
    before = len(facts.mentions)
    find_stated_grade(mask_drill_scenarios(doc_text(doc)), facts)
    _add_spans(doc, facts.mentions[before:])
    return doc


def _word_bounds(doc: Doc) -> tuple[list[int], list[int]]:
    """Where the words start and end, from the tokenizer's strings (reading every ``Token``
    of the Doc costs more than the place search itself)."""
    words = doc.user_data.get("triage_words")
    if words is None:
        return [t.idx for t in doc], [t.idx + len(t) for t in doc]
    ends = list(itertools.accumulate(map(len, words)))
    return ([0, *ends[:-1]] if ends else []), ends  # each word starts where the one before ends


@Language.component("triage_places")
def places_component(doc: Doc) -> Doc:
    """Find the places named and the most specific one."""
    facts = _facts_of(doc)
    before = len(facts.mentions)
    find_places(doc_text(doc), facts, _word_bounds(doc))
    _add_spans(doc, facts.mentions[before:])
    return doc


FACT_COMPONENTS = ("triage_times", "triage_casualties", "triage_grade", "triage_places")


def add_fact_components(nlp: Language) -> Language:
    """Add the fact components to a pipeline (idempotent)."""
    _lead_words(), _verbs()  # read once here, before any worker is forked, not per worker
    for name in FACT_COMPONENTS:
        if name not in nlp.pipe_names:
            nlp.add_pipe(name)
    return nlp


def deaths_in_title(title: str, facts: Facts) -> None:
    """A death count the title states (…致1人死亡, 一名老人死亡) when the text gives none: some
    writers tell the death in the text only in words of their own (老头当场就不行了, 没了)."""
    if facts.dead is not None or not title or not _casualty_regexes()["word_dead"].search(title):
        return
    found = Facts()
    find_casualties(title, found)
    if found.dead:
        m = next((x for x in found.mentions if x.kind == "dead"), None)
        facts.dead = found.dead
        # evidence outside the text: no offsets into it
        facts.mentions.append(Mention("dead_in_title", 0, 0, m.text if m else title, found.dead))


def analyse(nlp: Language, text: str, received_at: datetime) -> Doc:
    """Run the pipeline on ``text`` with the receipt time the relative times need."""
    doc = nlp.make_doc(text)
    doc.user_data["triage_text"] = text
    doc._.received_at = received_at
    doc._.facts = Facts()
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    return doc
