"""Screening: signs of late reporting (迟报), omission (漏报) and concealment (瞒报/谎报).

Each rule has an id and emits ``Signal``s: the flag it supports, a short Chinese message for
the editor, the evidence (character offsets into the cleaned text) and a weight. A flag is
raised when the weights of its signals reach the configured threshold; a flag is never raised
without a signal, so every flag shows the evidence that raised it. Phrase patterns and
weights are data: ``data/screen_rules.toml``. Honest bad news passes clean: deaths stated
plainly, with cause and measures, on time, raise nothing.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from .config import Config, load_config
from .corpus import admits_delay, is_follow_up, report_patterns
from .facts import Facts, reports_a_drill, severity
from .prefilter import guard

RULES_FILE = Path(__file__).resolve().parent / "data" / "screen_rules.toml"
URGENCY_NAMES = {"flash": "特急", "urgent": "加急", "routine": "常规"}


@dataclass
class Signal:
    """One warning sign and its evidence."""

    rule: str
    flag: str
    message: str
    start: int
    end: int
    weight: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Screening:
    signals: list[Signal] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)


@lru_cache(maxsize=1)
def rules() -> dict:
    with open(RULES_FILE, "rb") as fh:
        data = tomllib.load(fh)
    compiled = {}
    for section, values in data.items():
        if section == "weights":
            continue
        for key, pattern in values.items():
            compiled[f"{section}.{key}"] = guard(re.compile(pattern))
    compiled["weights"] = data["weights"]
    return compiled


def _sentence(text: str, pos: int) -> tuple[int, int]:
    """The sentence around ``pos`` (bounded by 。！？；or a line break)."""
    start = max(text.rfind(ch, 0, pos) for ch in "。！？；\n") + 1
    ends = [i for i in (text.find(ch, pos) for ch in "。！？；\n") if i >= 0]
    return start, (min(ends) + 1 if ends else len(text))


def _slice_sentence(text: str, pos: int) -> str:
    s, e = _sentence(text, pos)
    return text[s:e]


_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}


def _count(word: str) -> int | None:
    """A small count written in digits or Chinese numerals (3, 三, 十二)."""
    if word.isdigit():
        return int(word)
    if "十" in word:
        tens, _, ones = word.partition("十")
        return (_DIGITS.get(tens, 1) if tens else 1) * 10 + (_DIGITS.get(ones, 0) if ones else 0)
    return _DIGITS.get(word) if len(word) == 1 else None


def _quoted(text: str, pos: int) -> bool:
    """``pos`` lies inside “…” in its paragraph: someone else's words (a post, a claim, a quoted report)."""
    start = text.rfind("\n", 0, pos) + 1
    return text.rfind("“", start, pos) > text.rfind("”", start, pos)


def _fmt(dt: datetime) -> str:
    return f"{dt.month}月{dt.day}日{dt.hour:02d}:{dt.minute:02d}"


def _gap(minutes: float) -> str:
    minutes = int(minutes)
    if minutes >= 1440:
        return f"{minutes // 1440}天{(minutes % 1440) // 60}小时"
    return f"{minutes // 60}小时{minutes % 60}分钟" if minutes >= 60 else f"{minutes}分钟"


def urgency_from_facts(facts: Facts) -> str:
    """A stand-in urgency from the facts alone (used when no classifier is loaded)."""
    grade, _ = severity(facts)
    if (facts.dead or 0) > 0 or (facts.missing or 0) > 0 or (facts.trapped or 0) > 0 \
            or grade in ("较大", "重大", "特别重大") or (facts.crowd or 0) >= 50:
        return "flash"
    if (facts.injured or 0) > 0 or facts.crowd or facts.vague:
        return "urgent"
    return "routine"


class Screener:
    """Runs every rule on a report and decides the flags."""

    def __init__(self, config: Config | None = None):
        self.config = config or load_config()
        self.rx = rules()
        self.w = self.rx["weights"]
        self.harm = self.rx["omission.harm_events"]

    def _sig(self, rule: str, flag: str, message: str, start: int, end: int) -> Signal:
        return Signal(rule, flag, message, start, end, float(self.w[rule]))

    # ------------------------------------------------------------ delay
    def _clock_time(self, text: str, facts: Facts, received_at: datetime):
        """The time mention the reporting clock runs from: the extracted event time when it
        names an hour, date or day and is not a planned time; else the first such mention."""
        anchor, future = self.rx["delay.clock_anchor"], self.rx["delay.clock_future"]
        cause = self.rx["delay.clock_cause"]

        def ok(m) -> bool:
            return (m is not None and m.value is not None and anchor.search(m.text) is not None
                    and not future.search(text, max(0, m.start - 8), m.start)
                    and not cause.search(text, max(0, m.start - 3), m.start) and m.value <= received_at)

        if facts.event_time is not None and ok(facts.event_time_mention):
            return facts.event_time_mention
        if facts.event_time is None or facts.event_time > received_at:
            # an event time after receipt is a misread or mistyped time: no other mention
            # stands in for it (the classifier marks the report for review)
            return None
        return next((m for m in facts.times if m.kind == "time" and ok(m)), None)

    def _untimed(self, text: str, facts: Facts, received_at: datetime) -> bool:
        """No time the report can be held to: no clock time, and no event time either (an event
        time after receipt is a time stated, only a wrong one: it is no omission)."""
        return ((facts.event_time is None or facts.event_time <= received_at)
                and self._clock_time(text, facts, received_at) is None)

    # How long a part of day lasts after the hour it stands for (guideline: 凌晨 03:00, 晚上 21:00 …).
    _PART_SPAN = (("凌晨", 3), ("清晨", 2), ("早晨", 2), ("早上", 2), ("上午", 2), ("中午", 2), ("午后", 3),
                  ("下午", 3), ("傍晚", 2), ("深夜", 2), ("半夜", 2), ("夜间", 3), ("夜里", 3), ("晚上", 3),
                  ("晚", 3), ("夜", 3))

    def _latest(self, m) -> datetime:
        """The last moment a time mention can mean: itself when it names an hour, else the end
        of the part of day it names, else the end of its day."""
        if self.rx["delay.hour_named"].search(m.text):
            return m.value
        span = next((h for word, h in self._PART_SPAN if word in m.text), None)
        if span is not None:
            return m.value + timedelta(hours=span)
        return m.value.replace(hour=23, minute=59)

    def _flash_grade(self, text: str, facts: Facts) -> bool:
        return bool((facts.dead or 0) > 0 or (facts.missing or 0) > 0 or (facts.trapped or 0) > 0
                    or (facts.serious or 0) >= 3
                    or any(not self.rx["delay.flash_cue_negated"].search(text, max(0, m.start() - 6), m.start())
                           and not self.rx["delay.flash_cue_animal"].search(text, max(0, m.start() - 4), m.start())
                           for m in self.rx["delay.flash_cue"].finditer(text)))

    def delay(self, text: str, title: str, facts: Facts, urgency: str, received_at: datetime) -> list[Signal]:
        out = []
        deadline = self.config.deadlines.minutes(urgency)
        follow = is_follow_up(title, text)
        # a drill is no event with a reporting clock (its admissions still count)
        if deadline is not None and not follow and not reports_a_drill(title, text, facts):
            clock = self._clock_time(text, facts, received_at)
            if clock is not None:
                m = clock
                gap = (received_at - m.value).total_seconds() / 60
                # A part of day without an hour (今晚) is late only if late from its last moment.
                latest = self._latest(m)
                if gap > deadline and (received_at - latest).total_seconds() / 60 > deadline:
                    msg = (f"事发时间{_fmt(m.value)}，收到时间{_fmt(received_at)}，相隔{_gap(gap)}，"
                           f"超过{URGENCY_NAMES[urgency]}信息{_gap(deadline)}的报送时限")
                    if latest != m.value:
                        msg = (f"事发时间只写了“{m.text}”，按其最晚时刻{_fmt(latest)}计，收到时间{_fmt(received_at)}，"
                               f"仍超过{URGENCY_NAMES[urgency]}信息{_gap(deadline)}的报送时限")
                    urgent = self.config.deadlines.minutes("urgent")
                    if (urgency == "flash" and urgent is not None and gap <= urgent
                            and not self._flash_grade(text, facts)):
                        out.append(self._sig("delay.clock_unconfirmed", "delay",
                                             msg + "（文中未见特急事件的要素，若按加急信息则未超时）", m.start, m.end))
                    else:
                        out.append(self._sig("delay.clock", "delay", msg, m.start, m.end))
            if facts.learned_time is not None:
                gap = (received_at - facts.learned_time).total_seconds() / 60
                learned = next((m for m in facts.times if m.value == facts.learned_time), None)
                # 接报 with only a part of day (今日上午接报) cannot show a gap of an hour or two, and
                # learning before the stated event time means the times are not what they seem.
                if (gap > deadline and learned is not None and not out
                        and self.rx["delay.hour_named"].search(learned.text)
                        and (facts.event_time is None or facts.learned_time >= facts.event_time)):
                    out.append(self._sig(
                        "delay.learned_gap", "delay",
                        f"接报时间{_fmt(facts.learned_time)}，收到时间{_fmt(received_at)}，相隔{_gap(gap)}，"
                        f"超过{_gap(deadline)}时限", learned.start, learned.end))
        general = self.rx["delay.general_talk"]
        for m in report_patterns()["delay_admission"].finditer(text):
            s, e = _sentence(text, m.start())
            if self._general(text, m.start(), general):
                out.append(self._sig("delay.admission_general", "delay",
                                     f"提到报送不及时（“{m.group()}”），但似为一般性表述", m.start(), m.end()))
            else:
                out.append(self._sig("delay.admission", "delay", f"文中承认迟报：“{text[s:e].strip()[:40]}”",
                                     m.start(), m.end()))
            break
        m = self.rx["delay.exposed"].search(text)
        if m:
            out.append(self._sig("delay.exposed", "delay", f"经曝光或举报后才报告：“{m.group()}”", m.start(), m.end()))
        return out

    # ------------------------------------------------------------ omission
    # A sentence about this very event (not reporting in general).
    # (事发后30分钟内 is a deadline quoted from the rules, not this event.)
    _this_event = re.compile(r"此次|这次|该(?:起|事件|事故)|本次|事发(?!后\s*[\d一二三四五六七八九十两半]+\s*(?:分钟|个?小时)内)")

    def _general(self, text: str, pos: int, words: re.Pattern) -> bool:
        """The admission at ``pos`` is talk about reporting in general, not about this report:
        a prohibition just before it (不得迟报), a sentence about several events or units or
        about holding someone to account, or general words in a sentence not about this event."""
        if self.rx["delay.prohibited"].search(text, max(0, pos - 8), pos):
            return True
        sentence = _slice_sentence(text, pos)
        return bool(self.rx["delay.general_strong"].search(sentence)
                    or (words.search(sentence) and not self._this_event.search(sentence)))

    _ROUTE = re.compile(r"开往|驶往|前往|方向|出发|至|到")
    _NOT_A_NAME = re.compile(r"[一某个该本我各全每这那此其两几多]|部分|所在|乡里|村里|镇里|县里")

    def _named_place(self, text: str) -> bool:
        """A named village, township, street, road or community (not 一个村, 我乡, 某镇)."""
        return any(not self._NOT_A_NAME.search(m.group()) and not self._ROUTE.match(text, m.end())
                   for m in self.rx["omission.place_named"].finditer(text))

    def _measures_taken(self, text: str) -> bool:
        """A measure taken on this event (not one told as history: 此前已作过答复)."""
        history, not_taken = self.rx["omission.measures_history"], self.rx["omission.measures_not_taken"]
        investigation = self.rx["omission.investigation"]
        return any(not history.search(text, max(0, m.start() - 8), m.start())
                   and not (investigation.search(m.group()) and not_taken.search(text, max(0, m.start() - 6), m.start()))
                   for m in self.rx["omission.measures"].finditer(text))

    _DATE = re.compile(r"(?:(\d{1,2})月)?(\d{1,2})[日号]")
    _PERIOD_AFTER = re.compile(r"以来|起|至|到|开始|前|后|期间")

    def _date_only_before(self, text: str, facts: Facts):
        """A date with no time of day that opens the text and precedes the day of the extracted
        event time (9月12日…失联 … 9月13日晚家属发帖): the event itself has only a date; the
        extracted time belongs to a later development."""
        first = next((m for m in facts.times if m.kind == "time"), None)
        if first is None or first.value is not None or facts.event_time is None or first is facts.event_time_mention:
            return None
        d = self._DATE.fullmatch(first.text)
        # 第12号台风 is a number; 1月28日以来 opens a period, not the event
        if (d is None or text[max(0, first.start - 1):first.start] == "第"
                or self._PERIOD_AFTER.match(text, first.end)):
            return None
        month = int(d.group(1)) if d.group(1) else facts.event_time.month
        return first if (month, int(d.group(2))) < (facts.event_time.month, facts.event_time.day) else None

    def _harm_event(self, text: str) -> re.Match | None:
        """The first word of an event that can hurt people, skipping a harm word that is only
        the cause or a fear (受台风影响, 担心泄漏)."""
        not_event, after = self.rx["omission.harm_not_event"], self.rx["omission.harm_not_event_after"]
        for m in self.harm.finditer(text):
            if not not_event.search(text, max(0, m.start() - 12), m.start()) and not after.match(text, m.end()):
                return m
        return None

    def omission(self, text: str, title: str, facts: Facts, urgency: str,
                 received_at: datetime | None = None) -> list[Signal]:
        out = []
        m = self.rx["omission.admission"].search(text)
        if m:
            s, e = _sentence(text, m.start())
            if self._general(text, m.start(), self.rx["delay.general_talk"]):
                out.append(self._sig("omission.admission_general", "omission",
                                     f"提到漏报（“{m.group()}”），但似为一般性表述", m.start(), m.end()))
            else:
                out.append(self._sig("omission.admission", "omission", f"文中承认此前漏报：“{m.group()}”",
                                     m.start(), m.end()))
        if urgency not in ("flash", "urgent") or is_follow_up(title, text) or reports_a_drill(title, text, facts):
            # Elements are checked on first reports of real events; a 续报/终报 updates what was
            # reported, and a drill hurt nobody.
            return out
        # Evidence for a missing element: the sentence that reports the event.
        anchor = facts.event_time_mention.start if facts.event_time_mention else 0
        harm = self._harm_event(text)
        if harm and not facts.event_time_mention:
            anchor = harm.start()
        s, e = _sentence(text, anchor)
        opening = text[:_sentence(text, _sentence(text, 0)[1])[1]]  # the first two sentences
        if (not harm and self.rx["omission.summary"].search(opening)
                and not self.rx["omission.incident"].search(opening)
                and not self.rx["omission.incident"].search(title or "")
                and (received_at is None or self._untimed(text, facts, received_at))):
            return out  # an analysis or summary, not a report of a specific event
        if (not harm and facts.event_time is None
                and self.rx["omission.prospective"].search((title or "") + "\n" + text[:_sentence(text, 0)[1]])):
            return out  # a plan or a risk's first signs: no event yet with a time and a place
        if facts.event_time is None:
            out.append(self._sig("omission.time", "omission", "未写明事件发生的具体时间", s, e))
        elif received_at is not None and self._untimed(text, facts, received_at):
            m = facts.event_time_mention
            out.append(self._sig("omission.time", "omission", f"只写了“{m.text}”，未写明事件发生的日期和时间",
                                 m.start, m.end) if m else
                       self._sig("omission.time", "omission", "未写明事件发生的具体时间", s, e))
        elif (d := self._date_only_before(text, facts)) is not None:
            out.append(self._sig("omission.time", "omission", f"事发时间只写了“{d.text}”，未写明具体时间",
                                 d.start, d.end))
        if facts.place is None:
            if not self._named_place(text[s:e]):
                vague = self.rx["omission.place_vague"].search(text, s, e)
                out.append(self._sig("omission.place", "omission", f"事发地点只写“{vague.group()}”，未写明具体地点",
                                     vague.start(), vague.end()) if vague else
                           self._sig("omission.place", "omission", "未写明事发地点", s, e))
        else:
            first = _sentence(text, 0)[1]
            vague = self.rx["omission.place_vague"].search(text, s, e) or self.rx["omission.place_vague"].search(text, 0, first)
            if vague and not self._named_place(_slice_sentence(text, vague.start()) if vague.group().endswith("中")
                                               else text):
                out.append(self._sig("omission.place", "omission", f"事发地点只写“{vague.group()}”，未写明具体地点",
                                     vague.start(), vague.end()))
        if (facts.casualties_unknown and facts.dead is None and facts.injured is None and facts.missing is None
                and not facts.vague):
            u = next((x for x in facts.mentions if x.kind == "casualties_unknown"), None)
            if u is not None:
                out.append(self._sig("omission.casualties_unknown", "omission",
                                     f"未给出任何伤亡人数：“{u.text}”", u.start, u.end))
        elif harm and not facts.casualties_stated and not self.rx["omission.casualties_said"].search(text):
            out.append(self._sig("omission.casualties", "omission",
                                 f"涉及“{harm.group()}”，未说明人员伤亡情况（无伤亡也应写明）", harm.start(), harm.end()))
        if not self.rx["omission.cause"].search(text):
            if self.rx["omission.cause_weak"].search(text):
                out.append(self._sig("omission.cause_weak", "omission", "原因或性质交代不明确", s, e))
            else:
                out.append(self._sig("omission.cause", "omission", "未说明事件原因或性质（原因不明也应写明正在调查）", s, e))
        if not self._measures_taken(text):
            if self.rx["omission.measures_weak"].search(text):
                out.append(self._sig("omission.measures_weak", "omission", "处置措施交代不具体", s, e))
            else:
                out.append(self._sig("omission.measures", "omission", "未写明已采取的处置措施", s, e))
        return out

    # ------------------------------------------------------------ concealment
    def concealment(self, text: str, facts: Facts, urgency: str) -> list[Signal]:
        out = []
        negated, general = self.rx["concealment.control_negated"], self.rx["concealment.control_general"]
        controls = [m for m in self.rx["concealment.control"].finditer(text)
                    if not negated.search(text, max(0, m.start() - 2), m.start())]
        m = next((m for m in controls if not general.search(_slice_sentence(text, m.start()))), None)
        if m is not None:
            out.append(self._sig("concealment.control", "concealment", f"信息控制或私下处理：“{m.group()}”",
                                 m.start(), m.end()))
        elif controls:
            m = controls[0]
            out.append(self._sig("concealment.control_general", "concealment",
                                 f"提到信息控制（“{m.group()}”），但似为一般性表述或已被纠正的做法", m.start(), m.end()))
        serious = bool(self.rx["concealment.vague_serious"].search(text)) or urgency == "flash"
        not_people = self.rx["concealment.vague_not_people"]
        # a vague count made exact in the same sentence (部分居民被困，已救出被困群众46人) hides nothing
        vague = [m for m in facts.mentions if m.kind.startswith("vague_") and not not_people.search(m.text)
                 and not any(x.kind == m.kind[len("vague_"):] and x.start >= m.end
                             and x.start < _sentence(text, m.start)[1] for x in facts.mentions)]
        if vague and serious:
            m = vague[0]
            out.append(self._sig("concealment.vague_counts", "concealment",
                                 f"严重事件只给出模糊人数：“{m.text}”", m.start, m.end))
        elif serious and facts.dead is None and facts.injured is None:
            said = self.rx["concealment.vague_said"].search(text)
            if said:
                vague = [said]
                out.append(self._sig("concealment.vague_counts", "concealment",
                                     f"严重事件只给出模糊人数：“{said.group()}”", said.start(), said.end()))
        unknown = [m for m in facts.mentions if m.kind == "casualties_unknown"]
        if unknown and serious and not vague:
            m = unknown[0]
            out.append(self._sig("concealment.unknown_counts", "concealment",
                                 f"伤亡人数未给出：“{m.text}”", m.start, m.end))
        backed, aftermath = self.rx["concealment.reassurance_backed"], self.rx["concealment.reassurance_aftermath"]
        m = next((m for m in self.rx["concealment.reassurance"].finditer(text)
                  if not _quoted(text, m.start()) and not backed.search(_slice_sentence(text, m.start()))
                  and not aftermath.search(text, _sentence(text, m.start())[0], m.start())), None)
        if m:
            harmful = (facts.dead or 0) > 0 or (facts.missing or 0) > 0 or bool(vague)
            rule = "concealment.reassurance_with_harm" if harmful else "concealment.reassurance"
            out.append(self._sig(rule, "concealment",
                                 f"笼统的安抚性表述：“{m.group()}”" + ("，而文中有人员伤亡" if harmful else ""),
                                 m.start(), m.end()))
        out.extend(self._contradictions(text, facts))
        m = next((m for m in self.rx["concealment.admitted"].finditer(text) if not _quoted(text, m.start())), None)
        if m:
            s, e = _sentence(text, m.start())
            if self._general(text, m.start(), self.rx["concealment.admitted_general"]):
                out.append(self._sig("concealment.admitted_general", "concealment",
                                     f"提到瞒报或数字不实（“{m.group()}”），但似为一般性表述", m.start(), m.end()))
            else:
                out.append(self._sig("concealment.admitted", "concealment", f"承认此前数字不实或隐瞒：“{m.group()}”",
                                     m.start(), m.end()))
        for kind, before in facts.earlier.items():
            now = getattr(facts, kind, None)
            if now is not None and now > before:
                ev = next((x for x in facts.mentions if x.kind == "earlier_" + kind), None)
                if ev:
                    name = {"dead": "死亡", "injured": "受伤", "missing": "失踪失联", "serious": "重伤"}.get(kind, kind)
                    out.append(self._sig("concealment.rising", "concealment",
                                         f"{name}人数由此前的{before}人变为{now}人", ev.start, ev.end))
                    break
        return out

    def _contradictions(self, text: str, facts: Facts) -> list[Signal]:
        said_none = self.rx["concealment.no_deaths"].search(text)
        if said_none:
            dead = self.rx["concealment.death_words"].search(text)
            quoted = text[max(0, said_none.start() - 12):said_none.start()]
            if dead and not re.search(r"此前|首报|上报|称|“", quoted) \
                    and not self.rx["concealment.subgroup"].search(text, max(0, said_none.start() - 8), said_none.start()):
                a, b = sorted((said_none, dead), key=lambda m: m.start())
                return [self._sig("concealment.contradiction", "concealment",
                                  f"前后矛盾：既称“{said_none.group()}”，又称“{dead.group()}”", a.start(), b.end())]
        none = [m for m in facts.mentions if m.kind == "no_casualties"
                and not self.rx["concealment.subgroup"].search(text, max(0, m.start - 8), m.start)]
        hurt = [m for m in facts.mentions if m.kind in ("dead", "injured", "serious") and (m.value or 0) > 0]
        if none and hurt:
            a, b = none[0], hurt[0]
            return [self._sig("concealment.contradiction", "concealment",
                              f"前后矛盾：既称“{a.text}”，又称“{b.text}”", min(a.start, b.start), max(a.end, b.end))]
        dead = [m for m in facts.mentions if m.kind == "dead" and m.value]
        values = {m.value for m in dead}
        growing = re.search(r"增至|上升|升至|增加|新增|累计|又有|其中|另有|现已|至此|共造成|共计|合计|总计|共有", text)
        if len(values) > 1 and not growing:
            a, b = dead[0], next(m for m in dead if m.value != dead[0].value)
            return [self._sig("concealment.contradiction", "concealment",
                              f"死亡人数前后不一：“{a.text}”与“{b.text}”", min(a.start, b.start), max(a.end, b.end))]
        named = self.rx["concealment.dead_named"].search(text)
        if named and facts.dead and not growing:
            n = _count(named.group(1))
            if n is not None and n != facts.dead:
                return [self._sig("concealment.contradiction", "concealment",
                                  f"死亡人数前后不一：文中死亡{facts.dead}人，又称“{named.group()}”",
                                  named.start(), named.end())]
        return []

    # ------------------------------------------------------------ all
    def screen(self, text: str, title: str, facts: Facts, urgency: str, received_at: datetime,
               flag_model: "FlagModel | None" = None) -> Screening:
        """All signals for one report, and its flags: decided by the learned weighting when a
        model is given, else by the rule weights reaching the threshold. Either way a flag
        needs a signal of its own."""
        signals = (self.delay(text, title, facts, urgency, received_at)
                   + self.omission(text, title, facts, urgency, received_at)
                   + self.concealment(text, facts, urgency))
        scores: dict[str, float] = {}
        for s in signals:
            scores[s.flag] = scores.get(s.flag, 0.0) + s.weight
        flags = [f for f in ("delay", "omission", "concealment")
                 if scores.get(f, 0.0) >= self.config.screen.threshold]
        result = Screening(signals, flags, scores)
        if flag_model is not None:
            result.flags = flag_model.decide(flag_features(result, facts, urgency, title, text), result)
        return result


# ---------------------------------------------------------------- learned weighting

def flag_features(screening: Screening, facts: Facts, urgency: str, title: str, text: str) -> dict[str, float]:
    """What the learned weighting sees: which rules fired, the urgency, and the facts that
    make a sign serious. No words of the text: the rules carry the language."""
    f: dict[str, float] = {f"rule={s.rule}": 1.0 for s in screening.signals}
    f[f"urgency={urgency}"] = 1.0
    if is_follow_up(title, text):
        f["follow_up"] = 1.0
    for name, value in (("dead", facts.dead), ("injured", facts.injured), ("missing", facts.missing)):
        if value:
            f[f"{name}>0"] = 1.0
    for name, ok in (("vague", bool(facts.vague)), ("casualties_stated", facts.casualties_stated),
                     ("casualties_unknown", facts.casualties_unknown), ("event_time", facts.event_time is not None),
                     ("place", facts.place is not None), ("learned_time", facts.learned_time is not None),
                     ("earlier_figures", bool(facts.earlier))):
        if ok:
            f[name] = 1.0
    for flag, score in screening.scores.items():
        f[f"score={flag}"] = min(score, 3.0)
    return f


class FlagModel:
    """Per-flag logistic regressions over ``flag_features``. A flag is raised when its
    probability reaches the threshold chosen on dev AND a signal of that flag gives evidence."""

    def __init__(self, vec=None, models: dict | None = None, thresholds: dict | None = None):
        self.vec, self.models, self.thresholds = vec, models or {}, thresholds or {}

    def fit(self, feats: list[dict], gold: list[list[str]], seed: int = 13) -> "FlagModel":
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vec = DictVectorizer().fit(feats)
        x = self.vec.transform(feats)
        for flag in ("delay", "omission", "concealment"):
            y = [flag in g for g in gold]
            self.models[flag] = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000,
                                                   random_state=seed).fit(x, y)
        return self

    def proba(self, feats: list[dict]) -> dict[str, list[float]]:
        x = self.vec.transform(feats)
        return {flag: [float(p) for p in m.predict_proba(x)[:, list(m.classes_).index(True)]]
                for flag, m in self.models.items()}

    def choose_thresholds(self, feats: list[dict], gold: list[list[str]], evidence: list[set]) -> dict[str, float]:
        """Per flag, the threshold with the best F1 on these (dev) records."""
        probs = self.proba(feats)
        for flag, ps in probs.items():
            best = (-1.0, 0.5)
            for t in [x / 100 for x in range(20, 96, 5)]:
                tp = sum(1 for p, g, ev in zip(ps, gold, evidence) if p >= t and flag in ev and flag in g)
                fp = sum(1 for p, g, ev in zip(ps, gold, evidence) if p >= t and flag in ev and flag not in g)
                fn = sum(1 for g in gold if flag in g) - tp
                f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
                if f1 > best[0]:
                    best = (f1, t)
            self.thresholds[flag] = best[1]
        return self.thresholds

    def decide(self, feats: dict, screening: Screening) -> list[str]:
        return self.decide_batch([feats], [screening])[0]

    def decide_batch(self, feats: list[dict], screenings: list[Screening]) -> list[list[str]]:
        """The flags of many reports at once (one model call per flag for the batch)."""
        if not feats:
            return []
        probs = self.proba(feats)
        out = []
        for i, screening in enumerate(screenings):
            have = {s.flag for s in screening.signals}
            out.append([flag for flag in ("delay", "omission", "concealment")
                        if flag in have and probs[flag][i] >= self.thresholds.get(flag, 0.5)])
        return out

    def to_state(self) -> dict:
        return {"vec": self.vec, "models": self.models, "thresholds": self.thresholds}

    @classmethod
    def from_state(cls, state: dict) -> "FlagModel":
        return cls(state["vec"], dict(state["models"]), {k: float(v) for k, v in state["thresholds"].items()})
