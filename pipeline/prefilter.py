"""A cheap test before a regex: the literal strings that any match must contain.

Most phrase patterns find nothing in most reports, and ``re`` scans a long alternation at
every position of the text to learn that. ``str.__contains__`` is far faster: when none of
the words a match needs is in the text, the regex cannot match and is not run. The result
of every call is the same as the plain pattern's.
"""

from __future__ import annotations

import re
from re import _constants as C
from re import _parser as P

# A test of more strings than this costs more than the regex saves.
MAX_STRINGS = 40
# From this many strings on, a group is tested by one regex of them all: one scan of the text
# (led by the set of their first characters) instead of one ``in`` per string, 2x faster at 9.
REGEX_FROM = 6


def _clauses(items) -> list[set[str]]:
    """Sets of strings of which every match contains at least one each (it may be fewer
    sets than the pattern implies, never more)."""
    out: list[set[str]] = []
    run = ""
    for op, av in items:
        if op is C.LITERAL:
            run += chr(av)
            continue
        if run:
            out.append({run})
            run = ""
        if op is C.SUBPATTERN:
            if not (av[1] or av[2]):  # no inline flags
                out += _clauses(av[3])
        elif op is C.BRANCH:
            union: set[str] = set()
            for alt in av[1]:
                best = _best(_clauses(alt))
                if best is None:  # an alternative that needs nothing: the branch needs nothing
                    break
                union |= best
            else:
                out.append(union)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] >= 1:
            out += _clauses(av[2])
        elif op is C.IN and all(o is C.LITERAL for o, _ in av):
            out.append({chr(a) for _, a in av})
        # Anything else (lookarounds, classes, optional parts) needs no particular string.
    if run:
        out.append({run})
    return out


def _best(clauses: list[set[str]]) -> set[str] | None:
    """The most selective set: longest shortest string, then fewest strings."""
    return max(clauses, key=lambda c: (min(map(len, c)), -len(c)), default=None)


def required_strings(pattern: re.Pattern) -> list[tuple[str, ...]]:
    """Groups of strings such that every match of ``pattern`` contains one string of each
    group; empty when no cheap test is worth making."""
    if pattern.flags & re.IGNORECASE:
        return []
    clauses = sorted(_clauses(P.parse(pattern.pattern)), key=lambda c: (-min(map(len, c)), len(c)))
    out, total = [], 0
    for c in clauses:
        c = {x for x in c if not any(y != x and y in x for y in c)}  # 伤 covers 受伤
        if total + len(c) > MAX_STRINGS or (len(c) > 2 and min(map(len, c)) < 2):
            continue  # too many strings, or single characters that most texts hold
        out.append(tuple(sorted(c, key=len, reverse=True)))
        total += len(c)
    return out


class Guarded:
    """``pattern`` behind its string test, with the same ``search``/``match``/``finditer``.

    The test's result is kept for the last text seen, as the same text is often searched
    again within windows (``search(text, pos, endpos)``)."""

    __slots__ = ("re", "need", "_tests", "_memo")

    def __init__(self, pattern: re.Pattern, need: list[tuple[str, ...]]):
        self.re = pattern
        self.need = need
        # per group: its strings, or the ``search`` of a regex of them (see REGEX_FROM)
        self._tests = [re.compile("|".join(map(re.escape, g))).search if len(g) >= REGEX_FROM else g
                       for g in need]
        self._memo: tuple[str | None, bool] = (None, True)

    def may_match(self, text: str) -> bool:
        memo = self._memo
        if memo[0] is text:
            return memo[1]
        ok = True
        for test in self._tests:  # plain loops: a generator per group cost as much as the test
            if test.__class__ is tuple:
                for s in test:
                    if s in text:
                        break
                else:
                    ok = False
                    break
            elif test(text) is None:
                ok = False
                break
        self._memo = (text, ok)
        return ok

    def search(self, text: str, *args, **kwargs):
        return self.re.search(text, *args, **kwargs) if self.may_match(text) else None

    def match(self, text: str, *args, **kwargs):
        return self.re.match(text, *args, **kwargs) if self.may_match(text) else None

    def fullmatch(self, text: str, *args, **kwargs):
        return self.re.fullmatch(text, *args, **kwargs) if self.may_match(text) else None

    def finditer(self, text: str, *args, **kwargs):
        return self.re.finditer(text, *args, **kwargs) if self.may_match(text) else iter(())

    @property
    def pattern(self) -> str:
        return self.re.pattern


_CATEGORIES = {C.CATEGORY_DIGIT: r"\d", C.CATEGORY_NOT_DIGIT: r"\D", C.CATEGORY_SPACE: r"\s",
               C.CATEGORY_NOT_SPACE: r"\S", C.CATEGORY_WORD: r"\w", C.CATEGORY_NOT_WORD: r"\W"}
_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)


def _first(items) -> tuple[set[str], bool] | None:
    """(class items covering every character a match of ``items`` can start with, whether it
    can match empty), or None when any character could come first."""
    out: set[str] = set()
    for op, av in items:
        if op in (C.ASSERT, C.ASSERT_NOT, C.AT):
            continue  # zero width: the next item starts the match
        if op is C.LITERAL:
            return out | {re.escape(chr(av))}, False
        if op is C.IN:
            for o, a in av:
                if o is C.LITERAL:
                    out.add(re.escape(chr(a)))
                elif o is C.RANGE:
                    out.add(f"{re.escape(chr(a[0]))}-{re.escape(chr(a[1]))}")
                elif o is C.CATEGORY and a in _CATEGORIES:
                    out.add(_CATEGORIES[a])
                else:
                    return None  # negated sets and the rest
            return out, False
        if op is C.SUBPATTERN or op is C.ATOMIC_GROUP:
            sub = av if op is C.ATOMIC_GROUP else av[3]
            if op is C.SUBPATTERN and (av[1] or av[2]):
                return None  # inline flags
            first = _first(sub)
        elif op is C.BRANCH:
            firsts = [_first(alt) for alt in av[1]]
            if any(f is None for f in firsts):
                return None
            first = set().union(*(f[0] for f in firsts)), any(f[1] for f in firsts)
        elif op in _REPEATS:
            first = _first(av[2])
            if first is not None and av[0] == 0:
                first = first[0], True
        else:
            return None  # any character, back references...
        if first is None:
            return None
        out |= first[0]
        if not first[1]:
            return out, False
    return out, True


def lead(pattern: re.Pattern) -> re.Pattern:
    """``pattern`` behind a lookahead for the characters its matches can start with, when
    ``re`` finds no literal or character-set prefix of its own (an alternation of groups, a
    count behind a lookbehind): ``re`` then tries the whole pattern at every position, and the
    one class test rejects most of them (3x faster on the count patterns). Every match starts
    with one of those characters, so the matches, spans and groups are the same."""
    from re import _compiler

    if pattern.flags & re.IGNORECASE or not isinstance(pattern.pattern, str):
        return pattern
    try:
        tree = P.parse(pattern.pattern, pattern.flags)
        if _compiler._get_literal_prefix(tree, tree.state.flags)[0] or _compiler._get_charset_prefix(tree, tree.state.flags):
            return pattern
    except Exception:  # the private helpers changed: keep the pattern as it is
        return pattern
    if tree.data and tree.data[0][0] is C.ASSERT:
        return pattern  # a lookaround in front already rejects most positions in one test
    first = _first(tree)
    if first is None or first[1]:
        return pattern
    try:
        return re.compile(f"(?=[{''.join(sorted(first[0]))}])(?:{pattern.pattern})", pattern.flags)
    except re.error:  # global inline flags, which must stay at the start
        return pattern


def guard(pattern: re.Pattern) -> "re.Pattern | Guarded":
    """``pattern`` with a string test in front when one can be made, else ``pattern`` itself;
    either led by its first characters (``lead``)."""
    need = required_strings(pattern)
    pattern = lead(pattern)
    return Guarded(pattern, need) if need else pattern
