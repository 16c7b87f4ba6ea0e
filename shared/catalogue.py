"""The award catalogue (issue 14, point 3): every title (danh hiệu) and form (hình thức khen
thưởng) with its dates, its legal source, who it is for, which level may decide it and its cash
multiple. The data is ``shared/data/catalogue.toml``; campaigns take their pledgeable titles from
it, the awards service its whole list, so both name a title by one code.

A code, once stored in an event, is never renamed or removed: an entry that changes ends on a
date (``effective_to``, exclusive) and a new entry begins.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files

from shared.text import search_key

PERSON, COLLECTIVE = "person", "collective"
SUBJECTS = (PERSON, COLLECTIVE)
TITLE, FORM = "title", "form"
LEVELS = ("national", "provincial", "sector", "upper", "grassroots")


@dataclass(frozen=True, slots=True)
class AwardEntry:
    code: str
    name: str
    kind: str  # title, form
    subjects: tuple[str, ...]
    deciders: tuple[str, ...]  # the unit levels that may decide it
    effective_from: date
    source: str
    cash: tuple[tuple[str, float], ...] = ()  # (subject, multiple of the base salary)
    state: bool = False  # a state honour: proposed upward only
    pledged: bool = False  # a title a campaign's pledge may strive for
    effective_to: date | None = None

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on < self.effective_to)

    def multiple(self, subject: str) -> float | None:
        # A walk of the pairs, not a dict built from them: asked once for each of a decision's
        # 10,000 recipients, the dict was 30 ms of issueDecision.
        for who, times in self.cash:
            if who == subject:
                return times
        return None

    def decided_by(self, level: str) -> bool:
        return level in self.deciders


@cache
def catalogue() -> tuple[AwardEntry, ...]:
    """Every entry, as the data file holds them (checked once, when first read)."""
    raw = tomllib.loads(files("shared").joinpath("data/catalogue.toml").read_text("utf-8"))
    entries = tuple(_entry(e) for e in raw["entry"])
    codes = [e.code for e in entries]
    if len(set(codes)) != len(codes):
        raise ValueError("catalogue.toml: a code is used twice")
    return entries


def _entry(e: dict[str, object]) -> AwardEntry:
    entry = AwardEntry(
        code=str(e["code"]),
        name=str(e["name"]),
        kind=str(e["kind"]),
        subjects=tuple(e["subjects"]),  # type: ignore[arg-type]
        deciders=tuple(e["deciders"]),  # type: ignore[arg-type]
        effective_from=e["effective_from"],  # type: ignore[arg-type]
        effective_to=e.get("effective_to"),  # type: ignore[arg-type]
        source=str(e["source"]),
        cash=tuple(sorted(dict(e.get("cash", {})).items())),  # type: ignore[call-overload]
        state=bool(e.get("state", False)),
        pledged=bool(e.get("pledged", False)),
    )
    if entry.kind not in (TITLE, FORM) or not set(entry.subjects) <= set(SUBJECTS):
        raise ValueError(f"catalogue.toml: {entry.code}: its kind or subjects")
    if not set(entry.deciders) <= set(LEVELS) or (entry.state and entry.deciders):
        raise ValueError(f"catalogue.toml: {entry.code}: its deciders")
    return entry


@cache
def by_code() -> dict[str, AwardEntry]:
    return {e.code: e for e in catalogue()}


def award_name(code: str) -> str:
    """The name a code stands for; a code the catalogue does not know, as it is."""
    entry = by_code().get(code)
    return entry.name if entry else code


def entries_on(on: date) -> list[AwardEntry]:
    return [e for e in catalogue() if e.in_force(on)]


@cache
def _by_words() -> dict[str, AwardEntry]:
    return {search_key(e.name): e for e in catalogue()} | by_code()


def entry_of(text: str) -> AwardEntry | None:
    """The entry a user means: its code (spaces for its underscores too), or its name typed
    with or without diacritics."""
    exact = by_code().get(text)
    if exact is not None:  # most rows of a bulk name the code itself: no key to make
        return exact
    key = search_key(text)
    return by_code().get(key.replace(" ", "_")) or _by_words().get(key)
