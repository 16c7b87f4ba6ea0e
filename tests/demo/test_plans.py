"""The demo's data files: shipped with the package, and read into what the loader needs."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

from services.demo.plans import GRASSROOTS, NATIONAL, PROVINCE, SECTOR, plans

ROOT = Path(__file__).resolve().parents[2]


def test_every_data_file_is_shipped_by_the_package_data_of_pyproject():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    patterns = package_data["services.demo"]
    data = ROOT / "services" / "demo"
    files = [p.relative_to(data).as_posix() for p in (data / "data").iterdir()]
    assert files and all(any(fnmatch(f, pattern) for pattern in patterns) for f in files), files


def test_the_plans_name_only_units_and_campaigns_the_data_holds():
    data = plans()
    units = {u.id: u for u in data.units}
    assert {NATIONAL, PROVINCE, SECTOR, GRASSROOTS} <= set(units)
    assert units[NATIONAL].parent is None and data.units[0].id == NATIONAL  # parents first
    keys = {c.key for c in data.campaigns}
    for r in data.registrations:
        campaign = data.campaign(r.campaign)
        assert units[r.unit].parent == campaign.unit  # one registers with the level above
        assert all(0 <= i < len(campaign.contents) for i in r.contents)
    for p in data.progress:
        codes = {i.code for i in data.campaign(p.campaign).indicators}
        assert set(p.actuals) <= codes and p.unit in units
    assert {data.pledging.campaign, data.works_campaign, data.initiatives_campaign} <= keys


def test_a_campaign_carrying_out_another_takes_its_phases_and_picked_contents():
    data = plans()
    province, own = data.campaign("nb-2021"), data.campaign("hl-2021")
    assert own.carries_out == "nb-2021" and own.phases == province.phases
    assert own.contents[:2] == province.contents[:2] and len(own.contents) == 3
    assert [(i.code, i.target) for i in own.indicators] == [
        ("cdcs-moi", 3),
        ("doan-vien-moi", 900),
        ("sang-kien", 150),
    ]
    assert own.indicators[2].computed_from == ("InitiativeRecognised",)
    # the plan's paragraphs are one text: stored text keeps no line breaks
    assert "\n" not in province.objectives and province.objectives.count(". ") >= 3
