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


def guard(pattern: re.Pattern) -> "re.Pattern | Guarded":
    """``pattern`` with a string test in front when one can be made, else ``pattern`` itself."""
    need = required_strings(pattern)
    return Guarded(pattern, need) if need else pattern
