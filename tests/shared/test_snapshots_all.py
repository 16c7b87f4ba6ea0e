"""Every aggregate of every service survives a snapshot: loaded from its snapshot it is the
aggregate its events make, field by field and type by type, at every step of a life that
touches all of its events and fills every field of its state.

The aggregates are found from the services' event registries (every ``build_registry`` under
services/), so an aggregate registered without a life here fails ``test_every_aggregate_has_a_
life_here`` until it is given one. A snapshot that cannot be written is a failure here, not the
warning ``Repository._take_snapshot`` logs in production."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate

import services
from services.awards.domain import (
    Appraisal,
    BaseSalaryValue,
    CalendarDay,
    CouncilItem,
    CouncilSession,
    Decision,
    DecisionSeries,
    Disclosure,
    LocalRule,
    Member,
    Nominee,
    Particulars,
    Person,
    Personal,
    Proposal,
    Recipient,
)
from services.campaign.domain import (
    Campaign,
    CampaignFacts,
    Initiative,
    Pledge,
    Progress,
    Registration,
    SealedName,
    Work,
)
from services.registry.domain import Unit
from services.reporting.domain import (
    GoodPractice,
    Inspection,
    Replication,
    Report,
    ReportRequest,
    Seminar,
    Training,
)
from shared.aggregates import EventRegistry, Repository, snapshot_stats

# --- the registries and their aggregates, as the services define them ------------------------


def service_registries() -> list[EventRegistry]:
    """What every ``build_registry`` of a module under services/ builds."""
    builders: list[Callable[[], EventRegistry]] = []
    root = Path(services.__file__).parent
    for path in sorted(root.rglob("*.py")):
        name = ".".join(("services", *path.relative_to(root).with_suffix("").parts))
        builder = getattr(
            importlib.import_module(name.removesuffix(".__init__")), "build_registry", None
        )
        if callable(builder) and builder not in builders:
            builders.append(builder)
    return [build() for build in builders]


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def registered_aggregates() -> list[tuple[EventRegistry, type[Aggregate]]]:
    """Each aggregate class a service registry stores, with that registry."""
    found = []
    for registry in service_registries():
        for cls in set(_subclasses(Aggregate)):
            try:
                registry.aggregate_name(cls)
            except KeyError:
                continue
            found.append((registry, cls))
    return sorted(found, key=lambda pair: pair[1].__qualname__)


def event_names_of(registry: EventRegistry, cls: type[Aggregate]) -> set[str]:
    """The stored names of the aggregate's registered events (its ``@event`` classes)."""
    return {name for name in registry.event_names() if isinstance(getattr(cls, name, None), type)}


AGGREGATES = registered_aggregates()

# --- a life for each aggregate: its creation, then each step a command's decision -------------

Step = Callable[[Any], Any]  # the aggregate so far (None before its creation) → the aggregate

CAMPAIGN_ID = uuid.UUID("8f0c0c52-7a44-4d6e-9a53-0d4c8f1e2b11")
FACTS = CampaignFacts(
    campaign_id=CAMPAIGN_ID,
    unit_id="ldld-ninh-binh",
    status="launched",
    registration_due=date(2021, 2, 20),
    report_days=5,
    min_contents=1,
    indicators={"doan-vien-moi": "count", "cttcs-tot": "percent"},
    phases={1: date(2021, 6, 30), 2: date(2021, 12, 31)},
    contents=("Lao động giỏi, lao động sáng tạo", "Phát triển đoàn viên"),
)


def _campaign_life() -> list[Step]:
    def create(_: None) -> Campaign:
        return Campaign.create(
            unit_id="nb-hoa-lu",
            name="Phong trào thi đua năm 2021 của LĐLĐ Hoa Lư",
            theme="Tận dụng cơ hội, vượt mọi khó khăn",
            objectives="Động viên đoàn viên thi đua lao động giỏi.",
            scope="Các công đoàn cơ sở trực thuộc",
            participants="workers",
            contents=["Lao động giỏi, lao động sáng tạo", "Phát triển đoàn viên"],
            measures=["Sơ kết sau mỗi đợt"],
            kind="yearly",
            period_start=date(2021, 1, 1),
            period_end=date(2021, 12, 31),
            registration_due=date(2021, 3, 10),
            report_days=5,
            min_contents=1,
            parent_unit="ldld-ninh-binh",
            parent_campaign=CAMPAIGN_ID,
        )

    return [
        create,
        lambda c: c.add_phase("Đợt 1", date(2021, 1, 1), date(2021, 6, 30)),
        lambda c: c.add_phase("Đợt 2", date(2021, 7, 1), date(2021, 12, 31)),
        lambda c: c.add_indicator(
            code="doan-vien-moi", name="Kết nạp đoàn viên", measure="count", target=900
        ),
        lambda c: c.add_indicator(
            code="sang-kien",
            name="Sáng kiến được công nhận",
            measure="count",
            target=150,
            source="computed",
            computed_from=["InitiativeRecognised"],
            category="coordinated",
        ),
        lambda c: c.launch(date(2021, 2, 3)),
        lambda c: c.amend({"report_days": 7, "measures": ["Sơ kết", "Tổng kết"]}, "Theo cấp trên"),
        lambda c: c.amend_target("doan-vien-moi", 1000, "Giao thêm"),
        lambda c: c.review_phase(1, "Sơ kết đợt 1", {"doan-vien-moi": 480}, date(2021, 7, 3)),
        lambda c: c.review_phase(2, "Sơ kết đợt 2", {"doan-vien-moi": 960}, date(2022, 1, 4)),
        lambda c: c.conclude("Tổng kết năm 2021", {"doan-vien-moi": 1020}, date(2022, 1, 10)),
    ]


def _registration_life() -> list[Step]:
    return [
        lambda _: Registration.submit(
            FACTS,
            unit_id="nb-hoa-lu",
            plan="Kế hoạch thi đua của LĐLĐ Hoa Lư",
            contents=["Lao động giỏi, lao động sáng tạo"],
            own_contents=["Thi đua phục vụ Năm Du lịch quốc gia"],
            targets={"doan-vien-moi": 900},
            on=date(2021, 2, 25),
            late=True,
        ),
        lambda r: r.amend(
            FACTS,
            plan="Kế hoạch điều chỉnh",
            contents=["Phát triển đoàn viên"],
            own_contents=["Thi đua giữ gìn di sản Tràng An"],
            targets={"doan-vien-moi": 950, "cttcs-tot": 90},
            reason="Bổ sung chỉ tiêu",
        ),
        lambda r: r.withdraw("Đơn vị sáp nhập"),
    ]


def _progress_life() -> list[Step]:
    return [
        lambda _: Progress(
            campaign_id=CAMPAIGN_ID, unit_id="nb-hoa-lu", phase=1, campaign_unit="ldld-ninh-binh"
        ),
        lambda p: p.report(FACTS, {"doan-vien-moi": 480}, "", date(2021, 7, 2)),
        lambda p: p.report(FACTS, {"doan-vien-moi": 500, "cttcs-tot": 86}, "Sửa", date(2021, 7, 9)),
    ]


def _pledge_life() -> list[Step]:
    return [
        lambda _: Pledge.register(
            FACTS,
            unit_id="nb-cs-trang-an",
            subject="person",
            name="Nguyễn Văn An",
            ref="NV0001",
            title="lao_dong_tien_tien",
            on=date(2021, 2, 15),
            sealed=SealedName(uuid.uuid4(), uuid.uuid4(), "v1.niêm-phong"),
        ),
        lambda p: p.withdraw("Chuyển công tác"),
    ]


def _work_life() -> list[Step]:
    return [
        lambda _: Work.register(
            FACTS,
            unit_id="ct-cs-may-10",
            on=date(2017, 4, 10),
            name="Dây chuyền may sơ mi tự động",
            kind="work",
            description="Chào mừng Đại hội Công đoàn",
            location="Gia Lâm, Hà Nội",
            value_vnd=85_000_000_000,
            completion_due=date(2017, 8, 15),
        ),
        lambda w: w.amend({"value_vnd": 90_000_000_000}, "Dự toán mới"),
        lambda w: w.withdraw("Dừng thi công"),
    ]


def _initiative_life() -> list[Step]:
    return [
        lambda _: Initiative.register(
            FACTS,
            unit_id="nb-cs-xi-mang-td",
            title="Cải tiến hệ thống làm mát lò nung clinker",
            authors=["Lê Văn Bình"],
            field="Cơ khí",
            description="",
            on=date(2021, 4, 12),
            sealed=[SealedName(uuid.uuid4(), uuid.uuid4(), "v1.niêm-phong")],
        ),
        lambda i: i.recognise(
            benefit_vnd=1_350_000_000,
            applied_at=["Nhà máy Xi măng Tam Điệp"],
            decision="QĐ 12/QĐ-CĐ",
            on=date(2021, 6, 18),
        ),
        lambda i: i.amend_recognition(
            benefit_vnd=1_400_000_000, applied_at=["Nhà máy", "Mỏ đá"], reason="Đo lại"
        ),
        lambda i: i.withdraw("Trùng sáng kiến đã có"),
    ]


def _person_lives() -> list[list[Step]]:
    key = uuid.UUID("5b0c0f5e-8a55-4b1f-9c1e-2f4a6b7c8d90")

    def registered(staff_number: str) -> Step:
        return lambda _: Person.register(
            unit_id="nb-cs-xi-mang-td",
            staff_number=staff_number,
            personal=Personal("Nguyễn Thị Ánh", 1990, ("anh@example.vn",)),
            particulars=Particulars(
                "female",
                ethnic_minority=True,
                post="Tổ trưởng",
                direct_worker=False,
                cadre="part_time",
                cadre_since=date(2018, 5, 1),
                employed_since=date(2012, 9, 1),
            ),
            key_id=key,
            sealed="v1.c2VhbGVk",
            on=date(2021, 3, 1),
        )

    left_then_erased = [
        registered("CN-01"),
        lambda p: p.amend(
            personal=Personal("Nguyễn Thị Ánh"),
            particulars=Particulars("female", post="Công nhân"),
            sealed="v1.YW1lbmRlZA",
            on=date(2021, 6, 1),
        ),
        lambda p: p.leave(
            on=date(2022, 1, 31),
            reason="Chuyển công tác",
            today=date(2022, 2, 1),
            sealed="v1.bMO9IGRv",
        ),
        lambda p: p.erase(legal_reason="Nghị định 13/2023/NĐ-CP", on=date(2024, 2, 1)),
    ]
    erased = [
        registered(""),
        lambda p: p.set_absence(year=2023, working_days=12, today=date(2024, 1, 5)),
        lambda p: p.record_discipline(on=date(2023, 5, 2), form="warning", today=date(2024, 1, 5)),
        lambda p: p.erase(legal_reason="Yêu cầu của chị Ánh", on=date(2024, 2, 1)),
    ]
    moved = [
        registered("CN-09"),
        lambda p: p.transfer(to_unit="nb-cs-det-may", on=date(2024, 5, 1), today=date(2024, 5, 2)),
    ]
    arrived = [
        lambda _: Person.arrive(
            unit_id="nb-cs-det-may",
            staff_number="DM-09",
            particulars=Particulars("female", post="Thợ may"),
            key_id=key,
            sealed="v1.ZGVu",
            on=date(2024, 5, 3),
            from_unit="nb-cs-xi-mang-td",
            from_person=uuid.UUID("5b0c0f5e-8a55-4b1f-9c1e-2f4a6b7c8d91"),
            from_version=2,
            new_id=uuid.UUID("5b0c0f5e-8a55-4b1f-9c1e-2f4a6b7c8d92"),
        )
    ]
    came_back = [
        *moved,
        lambda p: p.come_back(
            particulars=Particulars("female", post="Tổ phó"),
            key_id=key,
            sealed="v1.dHLhu58gduG7gQ",
            on=date(2024, 9, 3),
            from_unit="nb-cs-det-may",
            from_person=uuid.UUID("5b0c0f5e-8a55-4b1f-9c1e-2f4a6b7c8d92"),
            from_version=3,
        ),
    ]
    return [left_then_erased, erased, moved, arrived, came_back]


def _reference_lives() -> dict[type, list[list[Step]]]:
    # Far days: the runner projects these lives too, and the base salary and the calendar are
    # everyone's (a value from a day other tests use would change their cash and deadlines).
    return {
        BaseSalaryValue: [
            [
                lambda _: BaseSalaryValue.set(
                    amount_vnd=2_530_000,
                    effective_from=date(2002, 7, 1),  # before the days other tests draw
                    source="Nghị định mới",
                    shipped=[date(2024, 7, 1)],
                    today=date(2002, 7, 1),
                )
            ]
        ],
        CalendarDay: [
            [
                lambda _: CalendarDay.mark(on=date(2089, 2, 24), working=False, reason="Nghỉ bù"),
                lambda d: d.remark(working=True, reason="Hủy nghỉ bù"),
            ]
        ],
        LocalRule: [
            [
                lambda _: LocalRule.add(
                    unit_id="ldld-ninh-binh",
                    code="vang_mat",
                    kind="exclusion",
                    message="Không xét người nghỉ quá 30 ngày làm việc",
                    numbers={"absent_working_days": 30},
                    effective_from=date(2025, 1, 1),
                    source="Quyết định 12/QĐ-LĐLĐ",
                ),
                lambda r: r.end(on=date(2026, 1, 1), reason="Thay bằng quy định mới"),
            ]
        ],
    }


# Longer than one event holds (shared/chunks.py): the continuation events are lived too.
LONG_IDS = [str(uuid.UUID(int=n)) for n in range(2_000)]
ON = date(2025, 12, 15)


def _proposal_life() -> list[Step]:
    flagged: list[str] = []
    return [
        lambda _: Proposal.draft(
            unit_id="nb-cs-xi-mang-td",
            title="Đề nghị khen thưởng năm 2025",
            kind="thematic",
            topic="Chuyển đổi số",
            year=2025,
            on=date(2025, 11, 3),
        ),
        lambda p: flagged.append(
            p.add_nominee(
                Nominee(
                    "person",
                    "person:5b0c0f5e-8a55-4b1f-9c1e-2f4a6b7c8d90",
                    "chien_si_thi_dua_co_so",
                    summary="Hai sáng kiến",
                    campaign_id=uuid.UUID("873b55fd-0f42-45fa-933c-3c27a1fd8c65"),
                    initiatives=(uuid.UUID("cb2e94b9-3800-4a47-9cb0-4a6c4155154d"),),
                    earlier_titles=(("lao_dong_tien_tien", 2025),),
                ),
                [
                    {
                        "rule": "CSTDCS_PREREQUISITES",
                        "version": "999/2024",
                        "source": "x",
                        "message": "y",
                    }
                ],
            )
        ),
        lambda p: p.add_nominee(
            Nominee("collective", "unit:nb-cs-xi-mang-td", "bang_khen_tld"), []
        ),
        lambda p: p.remove_nominee(flagged[0]),
        lambda p: p.attach(
            kind="memo", sha256="a" * 64, name="to-trinh.pdf", size=10, media_type="application/pdf"
        ),
        lambda p: p.attach(
            kind="achievement_report",
            sha256="b" * 64,
            name="bc.pdf",
            size=10,
            media_type="application/pdf",
        ),
        lambda p: p.attach(
            kind="council_minutes",
            sha256="c" * 64,
            name="bb.pdf",
            size=10,
            media_type="application/pdf",
        ),
        lambda p: p.submit(
            to_unit="nb-tp-ninh-binh",
            on=date(2025, 11, 10),
            due_on=date(2025, 11, 24),
            concurrence=False,
            rules="999/2024",
        ),
    ]


def _appraisal_lives() -> list[list[Step]]:
    proposal = uuid.UUID("d21439a2-c6bd-4c99-912e-99638368f5be")

    def opened(round_: int) -> Step:
        return lambda _: Appraisal(
            proposal_id=proposal,
            proposer="nb-cs-xi-mang-td",
            round=round_,
            nominees=["n1", "n2"],
            opened_on=date(2025, 11, 12),
        )

    returned = [
        opened(1),
        lambda a: a.judge(
            nominee_id="n1", verdict="accept", reason="", rule="", on=date(2025, 11, 13)
        ),
        lambda a: a.judge(
            nominee_id="n2",
            verdict="return",
            reason="Bổ sung",
            rule="BANG_KHEN_CONSECUTIVE",
            on=date(2025, 11, 13),
        ),
        lambda a: a.conclude(on=date(2025, 11, 14)),
    ]
    completed = [
        opened(2),
        lambda a: a.judge(
            nominee_id="n1", verdict="accept", reason="", rule="", on=date(2025, 12, 1)
        ),
        lambda a: a.judge(
            nominee_id="n2", verdict="reject", reason="Không đủ", rule="", on=date(2025, 12, 1)
        ),
        lambda a: a.conclude(on=date(2025, 12, 2)),
        lambda a: a.put_to_council(session_id=uuid.UUID(int=7), on=date(2025, 12, 3)),
    ]
    long = [
        lambda _: Appraisal.open(
            proposal_id=proposal,
            proposer="nb-cs-xi-mang-td",
            round=3,
            nominees=LONG_IDS,
            opened_on=date(2025, 12, 3),
        ),
        lambda a: a.judge_many(nominees=LONG_IDS, verdict="accept", reason="", rule="", on=ON),
        lambda a: a.conclude(on=date(2025, 12, 4)),
    ]
    return [returned, completed, long]


def _council_lives() -> list[list[Step]]:
    members = [
        Member("chu-tich", "", "nb-tp"),
        Member("uy-vien", "5b0c0f5e-8a55-4b1f-9c1e-2f4a6b7c8d90", "nb-cs"),
    ]
    items = [
        CouncilItem(
            "p1:n1",
            "7ac469db-6cc2-4722-b5b4-5b075d478975",
            "nb-cs",
            "n1",
            "person:5b0c0f5e-8a55-4b1f-9c1e-2f4a6b7c8d90",
            "nb-cs",
            "lao_dong_tien_tien",
        ),
        CouncilItem(
            "p1:n2",
            "7ac469db-6cc2-4722-b5b4-5b075d478975",
            "nb-cs",
            "n2",
            "unit:nb-cs",
            "nb-cs",
            "bang_khen_tld",
        ),
    ]

    def convened(ballot: str) -> Step:
        return lambda _: CouncilSession.convene(
            unit_id="nb-tp",
            title="Phiên họp quý IV",
            meets_on=date(2025, 12, 15),
            ballot=ballot,
            quorum=1,
            members=members,
            items=items,
        )

    open_ballot = [
        convened("open"),
        lambda c: c.vote(voter="chu-tich", item_id="p1:n1", choice="yes", on=date(2025, 12, 15)),
        lambda c: c.vote(voter="chu-tich", item_id="p1:n2", choice="no", on=date(2025, 12, 15)),
        lambda c: c.conclude(tally=c.open_tally, more_than_percent=50, on=date(2025, 12, 15)),
        lambda c: c.settle(
            ["p1:n1"], decision_id=uuid.UUID("0b0c0f5e-8a55-4b1f-9c1e-2f4a6b7c8d91")
        ),
    ]
    secret = [
        convened("secret"),
        lambda c: c.cast_ballot(
            voter="chu-tich", item_id="p1:n1", choice="yes", on=date(2025, 12, 15)
        ),
        lambda c: c.vote_many(voter="chu-tich", items=["p1:n2"], choice="no", on=ON),
    ]
    many = [
        CouncilItem(
            f"p2:{n}",
            "7ac469db-6cc2-4722-b5b4-5b075d478975",
            "nb-cs",
            n,
            f"person:{n}",
            "nb-cs",
            "lao_dong_tien_tien",
        )
        for n in LONG_IDS
    ]
    long = [
        lambda _: CouncilSession.convene(
            unit_id="nb-tp",
            title="Phiên họp cuối năm",
            meets_on=ON,
            ballot="open",
            quorum=1,
            members=members[:1],
            items=many,
        ),
        lambda c: c.vote_many(
            voter="chu-tich", items=[i.item_id for i in many], choice="yes", on=ON
        ),
        lambda c: c.conclude(tally=c.open_tally, more_than_percent=50, on=ON),
        lambda c: c.settle([i.item_id for i in many], decision_id=uuid.uuid4()),
    ]
    return [open_ballot, secret, long]


def _decision_lives() -> dict[type, list[list[Step]]]:
    decided = uuid.UUID("0b0c0f5e-8a55-4b1f-9c1e-2f4a6b7c8d91")
    return {
        DecisionSeries: [
            [
                lambda _: DecisionSeries.open(unit_id="nb-tp"),
                lambda s: s.set_suffix("QĐ-LĐLĐ"),
                lambda s: s.take(year=2025, decision_id=decided),
            ]
        ],
        Decision: [
            [
                lambda _: Decision.issue(
                    decision_id=decided,
                    unit_id="nb-tp",
                    unit_name="Liên đoàn Lao động thành phố Ninh Bình",
                    number=1,
                    code="1/QĐ-LĐLĐ",
                    title="Tặng danh hiệu Lao động tiên tiến",
                    on=date(2025, 12, 20),
                    signer="chu-tich",
                    council_session=uuid.UUID("d21439a2-c6bd-4c99-912e-99638368f5be"),
                    rule_set_version="999/2024",
                    base_salary_vnd=2_340_000,
                    recipients=[
                        Recipient(
                            "p1:n1",
                            "7ac469db-6cc2-4722-b5b4-5b075d478975",
                            "nb-cs",
                            "n1",
                            "person:x",
                            "person",
                            "lao_dong_tien_tien",
                            "regular",
                            710_000,
                            30,
                        )
                    ],
                ),
                lambda d: d.revoke(
                    item_id="p1:n1",
                    ground="false_declaration",
                    reason="Khai man",
                    recovered_cash_vnd=710_000,
                    recovered_items=["Giấy chứng nhận"],
                    on=date(2026, 3, 1),
                ),
            ]
        ],
    }


def _long_decision() -> list[Step]:
    return [
        lambda _: Decision.issue(
            decision_id=uuid.uuid4(),
            unit_id="nb-tp",
            unit_name="Liên đoàn Lao động thành phố Ninh Bình",
            number=2,
            code="2/QĐ-LĐLĐ",
            title="Tặng danh hiệu Lao động tiên tiến",
            on=ON,
            signer="chu-tich",
            council_session=None,
            rule_set_version="999/2024",
            base_salary_vnd=2_340_000,
            recipients=[
                Recipient(
                    f"p2:{n}",
                    "7ac469db-6cc2-4722-b5b4-5b075d478975",
                    "nb-cs",
                    n,
                    f"person:{n}",
                    "person",
                    "lao_dong_tien_tien",
                    "regular",
                    710_000,
                    30,
                    2025,
                )
                for n in LONG_IDS
            ],
        )
    ]


def _unit_register(unit_id: str, **extra: Any) -> Step:
    fields = {
        "name": "Công đoàn Công ty Cổ phần Du lịch Tràng An",
        "short_name": "CĐ Du lịch Tràng An",
        "level": "grassroots",
        "sector_type": "DN tư nhân",
        "members": 540,
        "parent_id": "nb-hoa-lu",
        "effective_on": date(2017, 1, 1),
    }
    return lambda _: Unit.register(unit_id=unit_id, **(fields | extra))


def _unit_lives() -> list[list[Step]]:
    merged = [
        _unit_register("nb-cs-trang-an"),
        lambda u: u.rename("Công đoàn Công ty CP Du lịch Tràng An", "CĐ Tràng An"),
        lambda u: u.move("nb-tp-ninh-binh", date(2019, 1, 1), "Địa giới mới"),
        lambda u: u.absorb(["nb-cs-tam-coc", "nb-cs-bai-dinh"], date(2020, 1, 1)),
        lambda u: u.merge_into("nb-cs-du-lich", date(2021, 1, 1)),
    ]
    dissolved = [
        _unit_register("nb-cs-van-tai", members=95),
        lambda u: u.dissolve(date(2020, 6, 30), "Doanh nghiệp giải thể"),
    ]
    return [merged, dissolved]


LIVES: dict[type, list[list[Step]]] = {
    Campaign: [_campaign_life()],
    Registration: [_registration_life()],
    Progress: [_progress_life()],
    Pledge: [_pledge_life()],
    Work: [_work_life()],
    Initiative: [_initiative_life()],
    Person: _person_lives(),
    **_reference_lives(),
    Proposal: [
        _proposal_life(),
        _proposal_life()[:2],  # stays a flagged draft
        [  # sent without the flagged nominee, then returned for correction
            *(step for n, step in enumerate(_proposal_life()) if n not in (1, 3)),
            lambda p: p.reopen(round=1, returned=["x"], on=date(2025, 11, 20)),
        ],
        [  # many nominees at once, more than one event holds
            _proposal_life()[0],
            lambda p: p.add_nominees(
                [(Nominee("person", f"person:{n}", "lao_dong_tien_tien"), []) for n in LONG_IDS]
                + [(Nominee("collective", "unit:nb-cs", "bang_khen_tld"), [{"rule": "X"}])]
            ),
        ],
        [  # returned with a list longer than one event holds (shared/chunks.py)
            *(step for n, step in enumerate(_proposal_life()) if n not in (1, 3)),
            lambda p: p.reopen(round=1, returned=LONG_IDS, on=date(2025, 11, 20)),
        ],
    ],
    Appraisal: _appraisal_lives(),
    CouncilSession: _council_lives(),
    **_decision_lives(),
    Disclosure: [
        [
            lambda _: Disclosure.publish(
                unit_id="nb-tp",
                title="Danh sách dài",
                on=date(2026, 2, 10),
                council_on=date(2026, 3, 4),
                items=[
                    CouncilItem(
                        f"p2:{n}",
                        "7ac469db-6cc2-4722-b5b4-5b075d478975",
                        "nb-cs",
                        n,
                        f"person:{n}",
                        "nb-cs",
                        "huan_chuong_lao_dong_hang_ba",
                    )
                    for n in LONG_IDS
                ],
            )
        ],
        [
            lambda _: Disclosure.publish(
                unit_id="nb-tp",
                title="Danh sách đề nghị Huân chương Lao động",
                on=date(2026, 2, 10),
                council_on=date(2026, 3, 4),
                items=[
                    CouncilItem(
                        "p1:n1",
                        "7ac469db-6cc2-4722-b5b4-5b075d478975",
                        "nb-cs",
                        "n1",
                        "person:x",
                        "nb-cs",
                        "huan_chuong_lao_dong_hang_ba",
                    )
                ],
            )
        ],
    ],
    Unit: _unit_lives(),
}

LIVES[Decision] = [*LIVES[Decision], _long_decision()]

# Reporting's records and its period report (services/reporting/domain.py).
_DAY = date(2024, 6, 1)
LIVES |= {
    Training: [
        [
            lambda _: Training.hold(
                unit_id="cd-dien-luc",
                title="Tập huấn công tác thi đua",
                held_on=_DAY,
                today=_DAY,
                attendees=40,
                cadres_trained=3,
                cadres=4,
            )
        ]
    ],
    Seminar: [
        [
            lambda _: Seminar.hold(
                unit_id="cd-dien-luc", topic="Tọa đàm", held_on=_DAY, today=_DAY, participants=30
            )
        ]
    ],
    GoodPractice: [
        [
            lambda _: GoodPractice.present(
                unit_id="cd-dien-luc",
                name="Tổ tự quản",
                description="Mô tả",
                presented_on=_DAY,
                today=_DAY,
            )
        ]
    ],
    Replication: [
        [
            lambda _: Replication.record(
                unit_id="cs-trang-an",
                practice_id=uuid.UUID("5b1f4a2c-0e55-4f3a-9d0b-6c1e2f3a4b5c"),
                practice_unit="cd-dien-luc",
                replicated_on=_DAY,
                presented_on=_DAY,
                today=_DAY,
                note="Áp dụng ở phân xưởng",
            )
        ]
    ],
    Inspection: [
        [
            lambda _: Inspection.record(
                unit_id="ldld-ninh-binh",
                inspected_unit="cd-dien-luc",
                subject="Kiểm tra công tác thi đua",
                held_on=_DAY,
                today=_DAY,
                findings="Đạt",
            )
        ]
    ],
    ReportRequest: [
        [
            lambda _: ReportRequest.request(
                unit_id="cd-cong-thuong",
                first_year=2020,
                last_year=2025,
                due_on=date(2025, 4, 15),
                note="Gửi trước hạn",
            ),
            lambda r: r.ask_again(date(2025, 4, 20), "Gia hạn"),
        ]
    ],
    Report: [
        [
            lambda _: Report.draft(
                unit_id="cd-dien-luc",
                first_year=2020,
                last_year=2025,
                number="15/BC-CĐĐL",
                place="Ninh Bình",
                today=date(2025, 4, 1),
            ),
            lambda r: r.write("I.1", "Thuận lợi"),
            lambda r: r.set_heading("16/BC-CĐĐL", "Hoa Lư"),
            lambda r: r.submit(
                "cd-cong-thuong",
                date(2025, 4, 10),
                date(2025, 4, 15),
                [[2021, "pledges", "lao_dong_tien_tien", 3]],
            ),
        ]
    ],
}

# --- the checks ----------------------------------------------------------------------------

# The envelope is not the aggregate's state (id and version are compared by value: a replay's
# id is asyncpg's UUID subclass). The timestamps are the deciding process's clock in memory, and
# so in a snapshot, but the log's recorded_at in a replay; no rule reads them.
ENVELOPE = frozenset({"_id", "_version", "_pending_events", "_created_on", "_modified_on"})


def state(aggregate: Aggregate) -> dict[str, tuple[type, Any]]:
    """Every field of the aggregate with its type: a list that comes back a tuple, or a set
    that comes back a list, is a difference."""
    return {k: (type(v), v) for k, v in vars(aggregate).items() if k not in ENVELOPE}


@dataclass
class Lived:
    events: set[str]
    final: Aggregate


async def live(store, owner, registry: EventRegistry, tenant: str, life: list[Step]) -> Lived:
    """Each step decided and saved on its own, a snapshot taken at every save; after each, the
    aggregate loaded from its snapshot must be the one its events make."""
    snapshotting = Repository(store, registry, snapshot_every=1)
    replaying = Repository(store, registry, snapshot_every=0)
    aggregate: Any = None
    for step in life:
        made = step(aggregate)
        aggregate = made if aggregate is None else aggregate  # the first step creates it
        await snapshotting.save(tenant, aggregate)
        taken = await owner.fetchval(
            "SELECT stream_version FROM snapshots WHERE tenant_id = $1 AND stream_id = $2",
            tenant,
            aggregate.id,
        )
        assert taken == aggregate.version, (
            f"{type(aggregate).__name__}: no snapshot at v{aggregate.version}"
        )
        ignored = snapshot_stats.ignored
        from_snapshot = await snapshotting.get(tenant, aggregate.id)
        assert snapshot_stats.ignored == ignored, "the snapshot did not match its stream"
        replayed = await replaying.get(tenant, aggregate.id)
        assert state(from_snapshot) == state(replayed)
        assert (from_snapshot.id, from_snapshot.version) == (replayed.id, replayed.version)
    names = {e.event_type for e in await store.read_stream(tenant, aggregate.id)}
    return Lived(names, replayed)


def unused_fields(finals: list[Aggregate]) -> set[str]:
    """Fields no life's final state fills (None or an empty collection in every one)."""
    empty = (None, "", (), [], {}, set())
    fields = {k for final in finals for k in state(final)}
    return {k for k in fields if all(vars(final).get(k) in empty for final in finals)}


def test_every_aggregate_has_a_life_here():
    found = {cls for _, cls in AGGREGATES}
    assert {Campaign, Registration, Progress, Pledge, Work, Initiative, Unit} <= found
    missing = sorted(cls.__qualname__ for cls in found - set(LIVES))
    assert not missing, f"give these aggregates a life in {__name__}: {missing}"


@pytest.mark.parametrize(
    ("registry", "cls"), AGGREGATES, ids=[cls.__qualname__ for _, cls in AGGREGATES]
)
async def test_an_aggregate_loaded_from_its_snapshot_is_the_one_its_events_make(
    registry, cls, store, owner
):
    lives = LIVES.get(cls)
    assert lives, f"no life for {cls.__qualname__} (test_every_aggregate_has_a_life_here)"
    lived = [
        await live(store, owner, registry, f"snap-{uuid.uuid4().hex[:10]}", life) for life in lives
    ]
    assert all(isinstance(x.final, cls) for x in lived)
    # A life that skipped an event, or left a field empty, would not test its snapshot.
    assert event_names_of(registry, cls) <= set().union(*(x.events for x in lived))
    assert not unused_fields([x.final for x in lived])
