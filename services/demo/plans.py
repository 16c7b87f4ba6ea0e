"""The demo's data, read from the files of ``services/demo/data/``: the union tree (``tree.csv``,
in the importer's own format), the campaigns of two source plans (``campaigns.toml``), what
units did under them (``activity.toml``) and people's pledges, works and initiatives
(``records.toml``). Names follow real union bodies; member counts, registrations and every
figure reported are made up for the demo.

The files are read once, on first use (``plans()``), never at import time.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

# The demo's handles on its tree: the root, the units given tokens and the sector union.
NATIONAL = "tld"
PROVINCE = "ldld-ninh-binh"
SECTOR = "cdct-vn"
GRASSROOTS = "nb-cs-trang-an"  # the grassroots unit `thidua demo` issues a token for

TREE_SINCE = date(2017, 1, 1)  # the units count from this day: before both campaigns
TREE_COLUMNS = ("id", "parent_id", "name", "short_name", "level", "sector_type", "members")


@dataclass(frozen=True, slots=True)
class DemoUnit:
    id: str
    parent: str | None
    name: str
    short_name: str | None
    level: str
    sector_type: str | None
    members: int


@dataclass(frozen=True, slots=True)
class DemoIndicator:
    code: str
    name: str
    measure: str  # count, percent, vnd
    target: int
    category: str | None = None  # direct, coordinated
    scope: str = "subtree"  # own: measured by the launching unit alone
    computed_from: tuple[str, ...] = ()  # events its actual is computed from; else reported


@dataclass(frozen=True, slots=True)
class DemoCampaign:
    key: str  # the demo's own handle, for registrations, reports and carried-out campaigns
    unit: str
    name: str
    kind: str
    period: tuple[date, date]
    phases: tuple[tuple[str, date, date], ...]
    contents: tuple[str, ...]
    launched_on: date
    theme: str = ""
    objectives: str = ""
    scope: str = ""
    participants: str = "workers"
    measures: tuple[str, ...] = ()
    registration_due: date | None = None
    report_days: int | None = None
    min_contents: int = 1
    indicators: tuple[DemoIndicator, ...] = ()
    carries_out: str | None = None  # key of the campaign above that this one carries out
    created_on: date | None = None  # default: the launch day


@dataclass(frozen=True, slots=True)
class DemoRegistration:
    campaign: str  # a DemoCampaign key
    unit: str
    on: date  # after the campaign's due date it is a late registration
    contents: tuple[int, ...]  # positions in the campaign's contents
    targets: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DemoReport:
    campaign: str
    unit: str
    phase: int
    on: date  # more than the campaign's report days after the phase: a late report
    actuals: Mapping[str, int]
    note: str = ""


@dataclass(frozen=True, slots=True)
class DemoReview:
    campaign: str
    phase: int
    on: date
    report: str


@dataclass(frozen=True, slots=True)
class DemoWork:
    unit: str
    name: str
    kind: str
    location: str
    value_vnd: int
    completion_due: date


@dataclass(frozen=True, slots=True)
class DemoInitiative:
    unit: str
    title: str
    authors: tuple[int, ...]  # people of the unit, by number (Plans.person_name)
    field: str
    benefit_vnd: int | None  # None: registered, not yet recognised
    applied_at: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Pledging:
    campaign: str
    on: date
    units: tuple[tuple[str, int], ...]  # (unit, people pledging)
    collectives: tuple[tuple[str, str], ...]  # (collective, title) pledged in every unit


@dataclass(frozen=True, slots=True)
class Plans:
    units: tuple[DemoUnit, ...]
    campaigns: tuple[DemoCampaign, ...]
    registrations: tuple[DemoRegistration, ...]
    progress: tuple[DemoReport, ...]
    reviews: tuple[DemoReview, ...]
    names: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # family, middle, given
    pledging: Pledging
    works_campaign: str
    works_on: date
    works: tuple[DemoWork, ...]
    initiatives_campaign: str
    initiatives_on: date
    recognised_on: date
    initiatives: tuple[DemoInitiative, ...]

    def campaign(self, key: str) -> DemoCampaign:
        return next(c for c in self.campaigns if c.key == key)

    def unit_name(self, unit_id: str) -> str:
        return next(u.name for u in self.units if u.id == unit_id)

    def person_name(self, n: int) -> str:
        family, middle, given = self.names
        return (
            f"{family[n % len(family)]} {middle[n // 7 % len(middle)]} {given[n // 3 % len(given)]}"
        )


@cache
def plans() -> Plans:
    """The demo's data, as its files hold it."""
    campaigns_data = read_data("campaigns.toml")
    activity = read_data("activity.toml")
    records = read_data("records.toml")
    units = read_tree(_text("tree.csv"))
    return Plans(
        units=units,
        campaigns=_campaigns(campaigns_data["campaign"], units),
        registrations=tuple(
            DemoRegistration(
                r["campaign"], r["unit"], r["on"], tuple(r["contents"]), r.get("targets", {})
            )
            for r in activity["registration"]
        ),
        progress=tuple(
            DemoReport(
                p["campaign"], p["unit"], p["phase"], p["on"], p["actuals"], p.get("note", "")
            )
            for p in activity["progress"]
        ),
        reviews=tuple(
            DemoReview(r["campaign"], r["phase"], r["on"], r["report"]) for r in activity["review"]
        ),
        names=tuple(tuple(records["people"][k]) for k in ("family", "middle", "given")),  # type: ignore[arg-type]
        pledging=_pledging(records["pledges"]),
        works_campaign=records["works"]["campaign"],
        works_on=records["works"]["on"],
        works=tuple(DemoWork(**w) for w in records["works"]["work"]),
        initiatives_campaign=records["initiatives"]["campaign"],
        initiatives_on=records["initiatives"]["on"],
        recognised_on=records["initiatives"]["recognised_on"],
        initiatives=tuple(_initiative(i) for i in records["initiatives"]["initiative"]),
    )


def _data(name: str) -> resources.abc.Traversable:
    return resources.files("services.demo") / "data" / name


def read_data(name: str) -> dict[str, Any]:
    """A TOML file of ``services/demo/data/``."""
    return tomllib.loads(_data(name).read_text(encoding="utf-8"))


def _text(name: str) -> str:
    return _data(name).read_text(encoding="utf-8")


def read_tree(text: str) -> tuple[DemoUnit, ...]:
    """The tree in the importer's format (README, "Import the tree"), parents before children."""
    return tuple(
        DemoUnit(
            r["id"],
            r["parent_id"] or None,
            r["name"],
            r["short_name"] or None,
            r["level"],
            r["sector_type"] or None,
            int(r["members"]),
        )
        for r in csv.DictReader(io.StringIO(text))
    )


def units_csv(units: Iterable[DemoUnit], prefix: str = "") -> bytes:
    """Units in the importer's format, ``prefix`` before every id."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TREE_COLUMNS)
    for u in units:
        writer.writerow(
            (
                prefix + u.id,
                prefix + u.parent if u.parent else "",
                u.name,
                u.short_name or "",
                u.level,
                u.sector_type or "",
                u.members,
            )
        )
    return out.getvalue().encode()


def _campaigns(raw: list[dict[str, Any]], units: tuple[DemoUnit, ...]) -> tuple[DemoCampaign, ...]:
    made: dict[str, DemoCampaign] = {}
    for entry in raw:
        parent = made[entry["carries_out"]] if "carries_out" in entry else None
        made[entry["key"]] = campaign_plan(entry, parent)
    known = {u.id for u in units}
    unknown = sorted({c.unit for c in made.values()} - known)
    if unknown:
        raise ValueError(f"campaigns.toml: units not in tree.csv: {unknown}")
    return tuple(made.values())


def campaign_plan(entry: dict[str, Any], parent: DemoCampaign | None) -> DemoCampaign:
    """A campaign as written; one carrying out ``parent`` takes from it what it does not set
    (data/campaigns.toml says what)."""
    entry = dict(entry)
    contents = tuple(entry.pop("contents"))
    indicators = tuple(_indicator(i) for i in entry.pop("indicator", ()))
    if parent is not None:
        picked = entry.pop("parent_contents", ())
        contents = (*(parent.contents[i] for i in picked), *contents)
        targets = entry.pop("targets", {})
        indicators = tuple(
            DemoIndicator(
                i.code, i.name, i.measure, targets[i.code], i.category, i.scope, i.computed_from
            )
            for i in parent.indicators
            if i.code in targets
        )
        for inherited in ("kind", "period", "phases", "theme"):
            entry.setdefault(inherited, getattr(parent, inherited))
    if isinstance(entry.get("objectives"), list):
        entry["objectives"] = " ".join(entry["objectives"])  # stored text keeps no line breaks
    return DemoCampaign(
        **{
            **entry,
            "period": tuple(entry["period"]),
            "phases": tuple(
                p if isinstance(p, tuple) else (p["name"], p["starts"], p["ends"])
                for p in entry["phases"]
            ),
            "measures": tuple(entry.get("measures", ())),
            "contents": contents,
            "indicators": indicators,
        }
    )


def _indicator(raw: dict[str, Any]) -> DemoIndicator:
    return DemoIndicator(**{**raw, "computed_from": tuple(raw.get("computed_from", ()))})


def _pledging(raw: dict[str, Any]) -> Pledging:
    return Pledging(
        campaign=raw["campaign"],
        on=raw["on"],
        units=tuple(raw["units"].items()),
        collectives=tuple((c["name"], c["title"]) for c in raw["collectives"]),
    )


def _initiative(raw: dict[str, Any]) -> DemoInitiative:
    return DemoInitiative(
        unit=raw["unit"],
        title=raw["title"],
        authors=tuple(raw["authors"]),
        field=raw["field"],
        benefit_vnd=raw.get("benefit_vnd"),
        applied_at=tuple(raw.get("applied_at", ())),
    )
