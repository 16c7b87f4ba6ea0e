"""Reporting's own stored history (tests/golden/reporting_events.jsonl: one upper-level union's
log, written by the reporting commands of its day and exported with ``thidua log export``),
replayed by today's code: every reporting event name still registered, its chain intact, its
aggregates rebuilt, and the figures and the report counted from it."""

from __future__ import annotations

from datetime import date

import pytest

from services.reporting import domain
from services.reporting.commands import build_registry
from services.reporting.domain import Report, ReportRequest, request_id
from shared import audit
from shared.aggregates import Repository
from tests.conftest import GOLDEN
from tests.reporting.conftest import settled
from tests.shared.test_golden import golden_rows, insert_golden

FILE = GOLDEN / "reporting_events.jsonl"
TENANT = "golden-nb-hoa-lu-r"
REPORT = domain.report_id(TENANT, 2020, 2025)


@pytest.fixture(scope="module")
async def golden(database_url):
    return await insert_golden(database_url, golden_rows(FILE))


async def test_the_reporting_golden_chain_verifies(golden, owner):
    verdict = await audit.verify_tenant(owner, TENANT)
    assert verdict.ok, verdict.describe()
    assert verdict.count == len(golden)


async def test_every_reporting_event_type_is_in_the_golden_file_and_still_registered(golden, store):
    registry = build_registry()
    stored = [e for e in await store.read_log(TENANT) if e.event_type != "UnitRegistered"]
    for event in stored:
        registry.decode(event)
    every = {
        cls.__name__
        for _, events in (*domain.RECORD_EVENTS, *domain.REPORT_EVENTS)
        for cls in events
    }
    assert every <= {e.event_type for e in stored}


async def test_the_reporting_golden_aggregates_rebuild_with_todays_code(golden, store):
    repo = Repository(store, build_registry(), snapshot_every=0)
    report = await repo.get(TENANT, REPORT)
    assert isinstance(report, Report)
    assert (report.number, report.place) == ("13/BC-LĐLĐ", "Hoa Lư, Ninh Bình")
    assert report.sections == {"I.1": "Thuận lợi: được quan tâm"}
    assert (report.revision, report.submitted_revision) == (3, 3)
    asked = await repo.get(TENANT, request_id(TENANT, 2020, 2025))
    assert isinstance(asked, ReportRequest)
    assert (asked.due_on, asked.note) == (date(2025, 4, 8), "Gia hạn")


async def test_the_reporting_golden_log_is_counted_by_todays_projection(golden, runtime, owner):
    await settled(runtime, TENANT, golden[-1]["seq"])
    rows = await owner.fetch(
        "SELECT metric, sum(delta) AS v FROM report_changes WHERE unit_id = $1 "
        "AND day >= '2021-01-01' AND day < '2022-01-01' GROUP BY metric",
        TENANT,
    )
    figures = {r["metric"]: r["v"] for r in rows}
    assert figures == {
        "trainings": 1,
        "training_attendees": 60,
        "cadres_trained": 9,
        "emulation_cadres": 10,
        "seminars": 1,
        "seminar_participants": 30,
        "good_practices": 1,
        "replications": 1,
        "inspections": 1,
    }
    sent = await owner.fetchrow(
        "SELECT submitted_version, late, due_on, to_unit FROM reports WHERE report_id = $1",
        REPORT,
    )
    assert tuple(sent) == (3, False, date(2025, 4, 15), "golden-ldld-nb-r")


# tests/golden/reporting_sent_figures.jsonl: a report sent after sendings carried their figures
# (ReportSubmitted at schema 2), by LĐLĐ huyện Kim Sơn to its province.
SENT = "golden-nb-kim-son-r"
SENT_FIGURES = [
    [2021, "pledges", "lao_dong_tien_tien", 1],
    [2022, "pledges", "chien_si_thi_dua_co_so", 1],
]


@pytest.fixture(scope="module")
async def golden_sent(database_url):
    return await insert_golden(database_url, golden_rows(GOLDEN / "reporting_sent_figures.jsonl"))


async def test_a_sending_that_carried_its_figures_is_still_read_as_sent(
    golden_sent, store, runtime, owner
):
    verdict = await audit.verify_tenant(owner, SENT)
    assert verdict.ok and verdict.count == len(golden_sent), verdict.describe()
    (sent,) = [e for e in await store.read_log(SENT) if e.event_type == "ReportSubmitted"]
    assert sent.schema_version == 2
    report = await Repository(store, build_registry(), snapshot_every=0).get(
        SENT, domain.report_id(SENT, 2020, 2025)
    )
    assert isinstance(report, Report) and report.submitted_revision == 1
    await settled(runtime, SENT, golden_sent[-1]["seq"])
    async with owner.transaction():
        await owner.execute(
            "SELECT set_config('thidua.tenant', to_unit, true) FROM reports WHERE unit_id = $1",
            SENT,
        )
        rows = await owner.fetch(
            "SELECT f.year, f.metric, f.dim, f.value FROM reports r, "
            "thidua_report_figures(r.unit_id, 2020, 2025, r.submitted_at) f "
            "WHERE r.unit_id = $1 AND f.metric IS NOT NULL ORDER BY 1",
            SENT,
        )
    assert [list(r) for r in rows] == SENT_FIGURES
