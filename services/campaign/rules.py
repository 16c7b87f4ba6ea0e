"""Catalogues the campaign rules read: the titles a person or a collective may pledge to strive
for, and the facts an indicator's actual may be computed from.

The titles are the award catalogue's pledgeable ones (shared/data/catalogue.toml, read by
shared/catalogue.py): one code for a title across campaigns and awards. A code, once used in a
stored event, is never renamed: add a new one."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

from shared.catalogue import COLLECTIVE, PERSON, SUBJECTS, catalogue
from shared.text import search_key

__all__ = ["COLLECTIVE", "PERSON", "SUBJECTS", "TITLES", "Title", "subject_of", "title_of"]


@dataclass(frozen=True, slots=True)
class Title:
    code: str
    name: str
    subject: str


TITLES = {
    e.code: Title(e.code, e.name, e.subjects[0])
    for e in catalogue()
    if e.pledged and len(e.subjects) == 1
}

# What a file or a form may write for a subject: the code, or its Vietnamese word, typed with
# or without diacritics.
_SUBJECT_WORDS = {
    PERSON: PERSON,
    COLLECTIVE: COLLECTIVE,
    "ca nhan": PERSON,
    "tap the": COLLECTIVE,
}


@cache
def _titles_by_key() -> dict[str, Title]:
    keyed = {search_key(t.name): t for t in TITLES.values()}
    return keyed | {t.code: t for t in TITLES.values()}


@lru_cache(maxsize=1024)  # a bulk pledge names a handful of titles over and over
def title_of(text: str) -> Title | None:
    """The title a user means: its code, or its name with or without diacritics."""
    return TITLES.get(text) or _titles_by_key().get(search_key(text))


@lru_cache(maxsize=1024)
def subject_of(text: str) -> str | None:
    return _SUBJECT_WORDS.get(search_key(text))


# The facts an indicator's actual may be computed from (``source: computed``), by the name of
# the event that records them: what is counted, and for an indicator measured in money, which
# amount is summed. Each is counted over the campaign's period, in the launching unit alone
# (scope ``own``) or over its whole subtree (scope ``subtree``).
COMPUTABLE = {
    "InitiativeRecognised": "sáng kiến được công nhận (tiền: giá trị làm lợi)",
    "InitiativeRegistered": "sáng kiến đăng ký",
    "WorkRegistered": "công trình, sản phẩm đăng ký gắn biển (tiền: giá trị)",
    "PledgeRegistered": "giao ước thi đua, đăng ký danh hiệu",
    "RegistrationSubmitted": "đơn vị đăng ký thi đua với phong trào",
    "UnitRegistered": "đơn vị công đoàn thành lập mới",
}
MONEY_FACTS = frozenset({"InitiativeRecognised", "WorkRegistered"})


def registration_standing(status: str | None, late: bool | None) -> str:
    """How a unit stands with a campaign, from its registration row (none: ``status`` None):
    'not_yet', 'withdrawn', 'late' or 'on_time'. The schema and the demo's summary both say it."""
    if status is None:
        return "not_yet"
    if status == "withdrawn":
        return "withdrawn"
    return "late" if late else "on_time"
