"""The year's figures (``thidua_award_year``, migrations 0040 and 0043) count exactly what
migration 0037's first version counted, now found by hashes instead of sorts: both run over the
same random registers (people moved and left behind, several awards a person, collectives inside
and outside the subtree, revoked and other years' rows) and must agree, row for row. Where they
may not agree, 0037 counted wrongly: a person whose two register rows disagree was two people."""

from __future__ import annotations

import random
import uuid
from datetime import date
from pathlib import Path

import asyncpg

from tests.conftest import fresh_database

MIGRATIONS = Path(__file__).resolve().parents[2] / "shared" / "migrations"
UNITS = ["prov", "up-a", "up-b", "cs-1", "cs-2", "cs-3", "cs-4", "other"]
TREE = {"up-a": "prov", "up-b": "prov", "cs-1": "up-a", "cs-2": "up-a", "cs-3": "up-b"}
AWARDS = ["lao_dong_tien_tien", "giay_khen", "bang_khen_ldld"]


def first_version() -> str:
    """0037's function as it was, under another name."""
    text = (MIGRATIONS / "0037_awards_at_scale.sql").read_text()
    start = text.index("CREATE FUNCTION thidua_award_year")
    end = text.index("$$;", start) + 3
    return text[start:end].replace("thidua_award_year(", "thidua_award_year_0037(", 1)


def closure() -> list[tuple[str, str, int]]:
    rows = [(u, u, 0) for u in UNITS]
    for unit in TREE:
        depth, up = 1, TREE.get(unit)
        while up:
            rows.append((up, unit, depth))
            depth, up = depth + 1, TREE.get(up)
    return rows


async def test_the_figures_are_the_first_versions(server_url: str) -> None:
    conn = await asyncpg.connect(await fresh_database(server_url))
    try:
        await conn.execute(first_version())
        await conn.executemany(
            "INSERT INTO unit_closure (ancestor, descendant, depth, valid_from) "
            "VALUES ($1, $2, $3, '2000-01-01')",
            closure(),
        )
        rng = random.Random(14)
        for round_ in range(6):
            await conn.execute("DELETE FROM people; DELETE FROM decision_recipients")
            people = [uuid.uuid4() for _ in range(40)]
            for person in people:
                gender, direct = rng.choice(["female", "male"]), rng.random() < 0.3
                # Some in two units: a transfer leaves the old unit's row behind.
                for unit in rng.sample(UNITS[3:], rng.choice([1, 1, 2])):
                    await conn.execute(
                        "INSERT INTO people (tenant_id, person_id, staff_number, key_id, gender, "
                        "ethnic_minority, post, direct_worker, cadre, status, registered_on, "
                        "recorded_on, version) VALUES ($1, $2, '', $3, $4, false, '', $5, "
                        "'none', 'active', '2020-01-01', '2020-01-01', 1)",
                        unit,
                        person,
                        uuid.uuid4(),
                        gender,
                        direct,
                    )
            for n in range(150):
                person = rng.random() < 0.8
                await conn.execute(
                    "INSERT INTO decision_recipients (tenant_id, decision_id, item_id, "
                    "proposal_id, proposer, who, person_id, unit_id, subject, award, kind, "
                    "cash_vnd, year, decided_on, revoked_on) VALUES ($1, $2, $3, $2, $1, 'x', "
                    "$4, $5, $6, $7, 'regular', $8, $9, $10, $11)",
                    rng.choice(UNITS),
                    uuid.uuid4(),
                    str(n),
                    str(rng.choice([*people, uuid.uuid4()])) if person else None,
                    None if person else rng.choice(UNITS),
                    "person" if person else "collective",
                    rng.choice(AWARDS),
                    rng.choice([0, 745_000, 1_490_000]),
                    rng.choice([2024, 2025]),
                    date(2025, rng.randint(1, 12), 1),
                    date(2025, 12, 31) if rng.random() < 0.1 else None,
                )
            for unit in ("prov", "up-a", "cs-2", "other"):
                async with conn.transaction():
                    await conn.execute(
                        "SELECT set_config('thidua.tenant', $1, true), "
                        "set_config('thidua.reach', 'subtree', true)",
                        unit,
                    )
                    got, expected = [
                        sorted(
                            map(tuple, await conn.fetch(f"SELECT * FROM {fn}($1, 2025)", unit)),
                            key=repr,
                        )
                        for fn in ("thidua_award_year", "thidua_award_year_0037")
                    ]
                # 0037 gave a total of zeros where no recipient is in reach; 0043 no row.
                assert got == expected or (not got and _zeros(expected)), (round_, unit)
                assert any(r[1] for r in got) or unit in ("cs-2", "other"), (round_, unit, got)
    finally:
        await conn.close()


def _zeros(rows: list[tuple]) -> bool:
    return rows == [(None, 0, 0, 0, 0, 0)]


async def test_a_person_with_two_disagreeing_rows_is_one_person(server_url: str) -> None:
    """A transfer's old row and the new one, one saying direct worker and the other not: the
    person counts once, as a direct worker (either row says so)."""
    conn = await asyncpg.connect(await fresh_database(server_url))
    try:
        await conn.executemany(
            "INSERT INTO unit_closure (ancestor, descendant, depth, valid_from) "
            "VALUES ($1, $2, $3, '2000-01-01')",
            closure(),
        )
        person = uuid.uuid4()
        for unit, direct in (("cs-1", True), ("cs-2", False)):
            await conn.execute(
                "INSERT INTO people (tenant_id, person_id, staff_number, key_id, gender, "
                "ethnic_minority, post, direct_worker, cadre, status, registered_on, "
                "recorded_on, version) VALUES ($1, $2, '', $3, 'female', false, '', $4, "
                "'none', 'active', '2020-01-01', '2020-01-01', 1)",
                unit,
                person,
                uuid.uuid4(),
                direct,
            )
        await conn.execute(
            "INSERT INTO decision_recipients (tenant_id, decision_id, item_id, proposal_id, "
            "proposer, who, person_id, subject, award, kind, cash_vnd, year, decided_on) "
            "VALUES ('up-a', $1, '1', $1, 'up-a', 'x', $2, 'person', 'giay_khen', 'regular', "
            "745000, 2025, '2025-03-01')",
            uuid.uuid4(),
            str(person),
        )
        # A person's text that is no uuid (an event written by hand) is stored, and counted by
        # no one: it stops neither the projection's insert nor the figures.
        await conn.execute(
            "INSERT INTO decision_recipients (tenant_id, decision_id, item_id, proposal_id, "
            "proposer, who, person_id, subject, award, kind, cash_vnd, year, decided_on) "
            "VALUES ('up-a', $1, '2', $1, 'up-a', 'person:x', 'x', 'person', 'giay_khen', "
            "'regular', 745000, 2025, '2025-03-01')",
            uuid.uuid4(),
        )
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('thidua.tenant', 'up-a', true), "
                "set_config('thidua.reach', 'subtree', true)"
            )
            rows = sorted(
                map(tuple, await conn.fetch("SELECT * FROM thidua_award_year('up-a', 2025)")),
                key=repr,
            )
        assert rows == [("giay_khen", 1, 0, 745000, None, None), (None, 1, 0, 745000, 1, 1)]
    finally:
        await conn.close()
