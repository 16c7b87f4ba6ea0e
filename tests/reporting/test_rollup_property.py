"""Roll-ups against a direct computation over the log: for random trees of units with moves and
merges, and random pledges (some withdrawn), every unit's summary of every period, now and at
past moments, equals what a plain walk over the stored events counts, and so does each year of
a period (a year's figures are the same whatever the period around it).

The walk is written here from the rules in words, not from the product's SQL: a pledge of unit D
dated d counts under A when A is D or an ancestor D had on day d (the parent it stood under that
day, that parent's parent that day, …), or when D had been merged, before d, into nothing yet
but later into a survivor S (or a survivor of S) and A is S or an ancestor S had on day d. A
moment asks what the log held then: pledges, withdrawals, moves and merges recorded after it are
not there (the tree as it was known then, even where a later move or merge is dated before it).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.registry.commands import RegistryCommands
from shared.errors import DomainError
from tests.reporting.conftest import given as given_event
from tests.reporting.conftest import gql, pledge, report_settings, settled

SINCE = date(2024, 1, 1)
# Some pledges are dated before the units were registered: they count for their own unit only.
FIRST_DAY, LAST_DAY = date(2023, 11, 1), date(2025, 12, 31)
PROVINCES, UPPERS, GRASSROOTS = 2, 3, 5
PERIODS = ((2023, 2024), (2025, 2025), (2023, 2025))

days = st.dates(min_value=FIRST_DAY, max_value=LAST_DAY)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("pledge"), st.integers(0, 10), days),
        st.tuples(st.just("withdraw"), st.integers(0, 30), days),
        st.tuples(st.just("move"), st.integers(0, 10), st.integers(0, 10), days),
        st.tuples(st.just("merge"), st.integers(0, 10), st.integers(0, 10), days),
    ),
    min_size=4,
    max_size=18,
)
scenarios = st.fixed_dictionaries(
    {
        "uppers": st.lists(st.integers(0, PROVINCES - 1), min_size=UPPERS, max_size=UPPERS),
        "grassroots": st.lists(
            st.integers(0, UPPERS - 1), min_size=GRASSROOTS, max_size=GRASSROOTS
        ),
        "operations": operations,
    }
)


@dataclass
class Scenario:
    prefix: str
    levels: dict[str, str] = field(default_factory=dict)
    pledges: list[uuid.UUID] = field(default_factory=list)
    moments: list[datetime] = field(default_factory=list)

    @property
    def national(self) -> str:
        return f"{self.prefix}-n"

    def of(self, level: str) -> list[str]:
        return [u for u, lv in self.levels.items() if lv == level]


async def build(registry: RegistryCommands, drawn: dict) -> Scenario:
    s = Scenario(f"p{uuid.uuid4().hex[:8]}")
    await registry.register(
        None, unit_id=s.national, name="TLĐ", level="national", effective_on=SINCE
    )
    s.levels[s.national] = "national"
    provinces = [f"{s.prefix}-p{i}" for i in range(PROVINCES)]
    uppers = [f"{s.prefix}-u{i}" for i in range(UPPERS)]
    for p in provinces:
        await registry.register(
            None, unit_id=p, name=p, level="provincial", parent_id=s.national, effective_on=SINCE
        )
        s.levels[p] = "provincial"
    for u, parent in zip(uppers, drawn["uppers"], strict=True):
        await registry.register(
            None, unit_id=u, name=u, level="upper", parent_id=provinces[parent], effective_on=SINCE
        )
        s.levels[u] = "upper"
    for i, parent in enumerate(drawn["grassroots"]):
        g = f"{s.prefix}-g{i}"
        await registry.register(
            None,
            unit_id=g,
            name=g,
            level="grassroots",
            sector_type="DN tư nhân",
            parent_id=uppers[parent],
            effective_on=SINCE,
        )
        s.levels[g] = "grassroots"
    return s


async def play(runtime, registry: RegistryCommands, s: Scenario, drawn: dict) -> None:
    below_national = [u for u in s.levels if u != s.national]
    for op in drawn["operations"]:
        kind = op[0]
        try:
            if kind == "pledge":
                unit = below_national[op[1] % len(below_national)]
                s.pledges.append(await pledge(runtime, unit, op[2]))
            elif kind == "withdraw" and s.pledges:
                await withdraw(runtime, s, s.pledges[op[1] % len(s.pledges)])
            elif kind in ("move", "merge"):
                await reorganise(registry, s, kind, op[1], op[2], op[3])
        except DomainError:
            continue  # refused by the registry (a date out of order, an inactive unit): no event
        s.moments.append(datetime.now(UTC))


async def withdraw(runtime, s: Scenario, stream: uuid.UUID) -> None:
    async with runtime.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT tenant_id, max(stream_version) AS v FROM events WHERE stream_id = $1 "
            "GROUP BY tenant_id",
            stream,
        )
    if row is None or row["v"] > 1:
        return
    await given_event(
        runtime,
        row["tenant_id"],
        "PledgeWithdrawn",
        stream,
        2,
        campaign_id=uuid.uuid4(),
        reason="rút",
    )


async def reorganise(registry, s: Scenario, kind: str, a: int, b: int, on: date) -> None:
    movable = s.of("upper") + s.of("grassroots")
    unit = movable[a % len(movable)]
    level = s.levels[unit]
    if kind == "move":
        parents = s.of("provincial") if level == "upper" else s.of("upper")
        await registry.move(None, unit, parents[b % len(parents)], on)
    else:
        peers = [u for u in s.of(level) if u != unit]
        await registry.merge(None, [unit], peers[b % len(peers)], on)


# --- the direct computation ----------------------------------------------------------------------


@dataclass
class Log:
    since: dict[str, date] = field(default_factory=dict)
    parents: dict[str, list[tuple[str, date]]] = field(default_factory=lambda: defaultdict(list))
    merged_into: dict[str, tuple[str, date]] = field(default_factory=dict)
    # stream → (unit, day, recorded_at, withdrawn_at)
    pledges: dict[uuid.UUID, list] = field(default_factory=dict)


async def read_log(owner, units: list[str], at: datetime | None = None) -> Log:
    """The log as it stood at ``at`` (None: now): only the events recorded by then."""
    log = Log()
    rows = await owner.fetch(
        "SELECT tenant_id, stream_id, event_type, data::text AS data, recorded_at FROM events "
        "WHERE tenant_id = ANY ($1::text[]) AND ($2::timestamptz IS NULL OR recorded_at <= $2) "
        "ORDER BY recorded_at, tenant_id, seq",
        units,
        at,
    )
    for r in rows:
        d, unit, t = orjson.loads(r["data"]), r["tenant_id"], r["event_type"]
        if t == "UnitRegistered":
            log.since[unit] = date.fromisoformat(d["effective_on"]["_data_"])
            if d["parent_id"]:
                log.parents[unit].append((d["parent_id"], log.since[unit]))
        elif t in ("UnitMoved", "UnitMerged"):
            on = date.fromisoformat(d["effective_on"]["_data_"])
            log.parents[unit].append((d["to_parent"] if t == "UnitMoved" else d["into"], on))
            if t == "UnitMerged":
                log.merged_into[unit] = (d["into"], on)
        elif t == "PledgeRegistered":
            on = date.fromisoformat(d["registered_on"]["_data_"])
            log.pledges[r["stream_id"]] = [unit, on, r["recorded_at"], None]
        elif t == "PledgeWithdrawn":
            log.pledges[r["stream_id"]][3] = r["recorded_at"]
    return log


def parent_on(log: Log, unit: str, day: date) -> str | None:
    found = None
    for parent, start in log.parents[unit]:  # in the order recorded, each from its day on
        if start <= day:
            found = parent
    return found


def above(log: Log, unit: str, day: date) -> set[str]:
    if day < log.since[unit]:
        return set()
    parent = parent_on(log, unit, day)
    return {unit} | (above(log, parent, day) if parent else set())


def heirs(log: Log, unit: str) -> list[tuple[str, date]]:
    if unit not in log.merged_into:
        return []
    survivor, on = log.merged_into[unit]
    return [(survivor, on)] + [(s, on) for s, _ in heirs(log, survivor)]


def counted_under(log: Log, unit: str, day: date) -> set[str]:
    found = above(log, unit, day)
    for survivor, until in heirs(log, unit):
        if day < until:
            found |= above(log, survivor, day)
    return found


def expected(log: Log, unit: str, first: int, last: int, at: datetime | None) -> int:
    """A unit's own pledges count for it whatever their day, and so do those of the units it
    absorbed (from before their merge)."""
    n = 0
    for owner_unit, day, recorded, withdrawn in log.pledges.values():
        if not first <= day.year <= last:
            continue
        if at is not None and recorded > at:
            continue
        if withdrawn is not None and (at is None or withdrawn <= at):
            continue
        n += (
            unit == owner_unit
            or unit in counted_under(log, owner_unit, day)
            # a survivor's own summary holds the history of what it absorbed, whatever its day
            or any(s == unit and day < until for s, until in heirs(log, owner_unit))
        )
    return n


SUMMARIES = """
query ($units: [ID!]!, $first: Int!, $last: Int, $asOf: DateTime) {
  summaries(unitIds: $units, firstYear: $first, lastYear: $last, asOf: $asOf) {
    unitId total { pledges } years { year pledges }
  }
}
"""


async def answered(client, tokens, s: Scenario, first: int, last: int, at: datetime | None):
    body = await gql(
        client,
        tokens,
        s.national,
        ["officer"],
        SUMMARIES,
        units=list(s.levels),
        first=first,
        last=last,
        asOf=at.isoformat() if at else None,
    )
    assert "errors" not in body, body
    found = body["data"]["summaries"]
    totals = {x["unitId"]: x["total"]["pledges"] for x in found}
    return totals, {x["unitId"]: {y["year"]: y["pledges"] for y in x["years"]} for x in found}


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@given(drawn=scenarios)
async def test_roll_ups_equal_a_walk_over_the_log(drawn, runtime, registry, client, tokens, owner):
    s = await build(registry, drawn)
    await play(runtime, registry, s, drawn)
    await settle_all(runtime, owner, s)
    moments = [None, *s.moments[:: max(1, len(s.moments) // 3)]]
    for first, last in PERIODS:  # every subtree's roll-ups kept, as the union's are
        await as_large(owner, s, first, last, "rollup_units")
    for at in moments:
        log = await read_log(owner, list(s.levels), at)
        for first, last in PERIODS if at is None else PERIODS[2:]:
            got, by_year = await answered(client, tokens, s, first, last, at)
            want = {u: expected(log, u, first, last, at) for u in s.levels}
            assert got == want, (first, last, at, drawn)
            if at is not None:  # and the large subtrees' ways, as the log held it then:
                # read at once, and today's kept roll-ups less what the log came to hold since
                assert await as_large(owner, s, first, last, at=at) == want, (at, drawn)
                got = await as_large(owner, s, first, last, "rollup_units", at=at)
                assert got == want, ("kept", at, drawn)
            # and each year of the period as that year's own summary would count it
            for year in range(first, last + 1):
                want = {u: expected(log, u, year, year, at) for u in s.levels}
                assert {u: ys.get(year, 0) for u, ys in by_year.items()} == want, (year, drawn)
    # a large subtree's way (every row of the period read once, matched in memory), forced
    log = await read_log(owner, list(s.levels))
    for first, last in PERIODS:
        got = await as_large(owner, s, first, last)
        assert got == {u: expected(log, u, first, last, None) for u in s.levels}, drawn


async def settle_all(runtime, owner, s: Scenario) -> None:
    for unit in s.levels:  # every log the scenario touched, projected
        seq = await owner.fetchval("SELECT seq FROM tenant_heads WHERE tenant_id = $1", unit)
        await settled(runtime, unit, seq)


def in_two_parts(test):
    """A property over a scenario played in two parts, cut after ``cut`` operations."""
    return settings(
        max_examples=15,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )(given(drawn=scenarios, cut=st.integers(min_value=0, max_value=30))(test))


async def played(runtime, registry, owner, s: Scenario, drawn, part: slice) -> None:
    """``part`` of the scenario's operations played, and every log it touched projected."""
    await play(runtime, registry, s, {**drawn, "operations": drawn["operations"][part]})
    await settle_all(runtime, owner, s)


@in_two_parts
async def test_kept_roll_ups_add_what_was_written_since(
    drawn, cut, runtime, registry, client, tokens, owner
):
    # Given every subtree's roll-up kept (report_rollups) after part of the scenario
    s = await build(registry, drawn)
    await played(runtime, registry, owner, s, drawn, slice(None, cut))
    for first, last in PERIODS:
        await as_large(owner, s, first, last, "rollup_units")
    kept = await owner.fetch(
        "SELECT first_year, last_year, count(*) AS units FROM report_rollups "
        "WHERE unit_id = ANY ($1::text[]) GROUP BY 1, 2 ORDER BY 1, 2",
        list(s.levels),
    )
    # (2023–2025 is taken from the other two, which enclose its years, and not kept on its own)
    assert [tuple(r) for r in kept] == [(2023, 2024, len(s.levels)), (2025, 2025, len(s.levels))]
    # When the rest is played (pledges, withdrawals, moves and merges) and read twice
    await played(runtime, registry, owner, s, drawn, slice(cut, None))
    log = await read_log(owner, list(s.levels))
    for _ in range(2):
        for first, last in (PERIODS[2], *PERIODS[:2]):
            # Then the kept roll-ups with what was written since equal a walk over the log
            # (2023–2025 first: its years from the two that enclose them, both rolled forward)
            got = await as_large(owner, s, first, last, "rollup_units")
            assert got == {u: expected(log, u, first, last, None) for u in s.levels}, drawn
        for year in range(PERIODS[2][0], PERIODS[2][1] + 1):
            # and so do the years read from a kept period enclosing them
            got = await as_large(owner, s, year, year, "rollup_units")
            assert got == {u: expected(log, u, year, year, None) for u in s.levels}, (year, drawn)
    kept = await owner.fetch(
        "SELECT DISTINCT first_year, last_year FROM report_rollups WHERE unit_id = ANY ($1)",
        list(s.levels),
    )
    # none of the years' own (2023–2025 is kept only where it was read in full: a tree changed)
    assert {(2023, 2024), (2025, 2025)} <= {tuple(r) for r in kept} <= set(PERIODS)


@in_two_parts
async def test_periods_kept_from_one_read_equal_a_walk_over_the_log(
    drawn, cut, runtime, registry, client, tokens, owner
):
    # Given part of the scenario played, and every subtree's periods kept as a keeper keeps
    # them after a rebuild: from one read of the years they span (thidua_report_keep, 0077)
    s = await build(registry, drawn)
    await played(runtime, registry, owner, s, drawn, slice(None, cut))
    await owner.execute(
        "DELETE FROM report_rollups WHERE unit_id = ANY ($1::text[])", list(s.levels)
    )
    await kept_together(owner, s)
    # Then each period read from what was kept equals a walk over the log
    log = await read_log(owner, list(s.levels))
    for first, last in PERIODS:
        got = await as_large(owner, s, first, last, "rollup_units")
        assert got == {u: expected(log, u, first, last, None) for u in s.levels}, drawn
    # and so does each once the rest is played (rolled forward from that read's snapshot)
    await played(runtime, registry, owner, s, drawn, slice(cut, None))
    log = await read_log(owner, list(s.levels))
    for first, last in PERIODS:
        got = await as_large(owner, s, first, last, "rollup_units")
        assert got == {u: expected(log, u, first, last, None) for u in s.levels}, drawn


async def kept_together(owner, s: Scenario) -> None:
    """Every unit's PERIODS kept by thidua_report_keep, as the national unit's reader, a
    transaction a unit (the function keeps nothing in one that has written)."""
    async with report_settings(owner, rollup_units=0):
        for unit in s.levels:
            async with owner.transaction():
                await owner.execute(
                    "SELECT set_config('thidua.tenant', $1, true), "
                    "set_config('thidua.reach', 'subtree', true)",
                    s.national,
                )
                kept = await owner.fetchval(
                    "SELECT thidua_report_keep($1, $2::integer[], $3::integer[])",
                    unit,
                    [first for first, _ in PERIODS],
                    [last for _, last in PERIODS],
                )
                assert kept == len(PERIODS), unit


async def as_large(
    owner,
    s: Scenario,
    first: int,
    last: int,
    setting: str = "many_units",
    at: datetime | None = None,
) -> dict[str, int]:
    """Each unit's pledges as the national unit reads them (as the log held them at ``at``),
    every subtree taken as large (``setting``: read at once, or kept in report_rollups)."""
    found = {}
    async with report_settings(owner, **{setting: 0}), owner.transaction():
        await owner.execute(
            "SELECT set_config('thidua.tenant', $1, true), set_config('thidua.reach', "
            "'subtree', true)",
            s.national,
        )
        for unit in s.levels:
            found[unit] = await owner.fetchval(
                "SELECT coalesce(sum(value), 0)::int FROM thidua_report_figures($1, $2, $3, $4) "
                "WHERE metric = 'pledges'",
                unit,
                first,
                last,
                at,
            )
    return found


def test_the_walk_itself_counts_a_move_and_a_merge_by_hand():
    log = Log()
    for u, parent in (("n", None), ("p", "n"), ("q", "n"), ("a", "p"), ("b", "q")):
        log.since[u] = SINCE
        if parent:
            log.parents[u].append((parent, SINCE))
    log.parents["a"].append(("q", date(2024, 7, 1)))  # a moved under q on 1 July
    log.parents["b"].append(("a", date(2025, 1, 1)))  # b merged into a on 1 January 2025
    log.merged_into["b"] = ("a", date(2025, 1, 1))
    assert counted_under(log, "a", date(2024, 6, 30)) == {"a", "p", "n"}
    assert counted_under(log, "a", date(2024, 7, 1)) == {"a", "q", "n"}
    # b's own 2024 history counts under q as it stood, and under its survivor a (and a's q)
    # (a stood under p that day)
    assert counted_under(log, "b", date(2024, 3, 1)) == {"b", "q", "n", "a", "p"}
    assert counted_under(log, "b", date(2025, 3, 1)) == {"b", "a", "q", "n"}
    assert counted_under(log, "a", date(2024, 3, 1)) == {"a", "p", "n"}
