"""Reporting's GraphQL: a unit's summary over a year or several, rolled up over the units below it
as the tree stood on each day, as the log held it now or at a past moment.

Every figure comes from the reporting projection through ``thidua_report_figures``
(shared/migrations/0059_reporting_reads.sql), which answers only the caller's unit or a unit
below it today: any other unit is null, never an error that says it exists. A request's summaries
are read by one loader, so a dashboard of many units costs one statement; each unit's figures are
of one moment, two units' of moments a few milliseconds apart at most (a roll-up kept between
reads is read in its own snapshot).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from services.reporting import figures as f
from services.reporting import rules
from services.reporting.summaries import SummaryKey, read_figures, read_ranked, read_units
from shared import access
from shared.access import principal_of
from shared.catalogue import award_name
from shared.clock import VIETNAM
from shared.errors import InvalidInput
from shared.graphql import BigInt

FIRST_YEAR, LAST_YEAR = 2000, 2100
MOST_YEARS = 10
MOST_UNITS = 100
BELOW_MOST = 1_000  # units below one summary (the gateway's cost counts `below` at this size)
UNIT_ID_CHARS = 64

# The reporting queries' arguments, said once.
FirstYear = Annotated[int, strawberry.argument(description="Năm đầu của giai đoạn (2000–2100).")]
LastYear = Annotated[
    int | None,
    strawberry.argument(description="Năm cuối (mặc định: năm đầu); tối đa 10 năm một lần hỏi."),
]
Year = Annotated[int, strawberry.argument(description="Năm (2000–2100).")]
AskedUnit = Annotated[
    strawberry.ID | None,
    strawberry.argument(description="Đơn vị hỏi (mặc định: đơn vị của người gọi)."),
]
AsOf = Annotated[
    datetime | None,
    strawberry.argument(
        description="Một thời điểm đã qua (ISO 8601, có múi giờ, ví dụ 2025-04-15T17:00:00+07:00): "
        "như nhật ký ghi nhận lúc đó. Mặc định: hiện tại."
    ),
]
FirstRows = Annotated[int, strawberry.argument(description="Bao nhiêu dòng đầu (1–100).")]


@strawberry.type(description="Một số đếm theo một khóa (danh hiệu, loại…).")
class Count:
    key: str = strawberry.field(description="Mã (danh hiệu, loại đề nghị).")
    value: BigInt


@strawberry.type(description="Kết quả khen thưởng theo một danh hiệu hoặc hình thức.")
class AwardFigures:
    award: str = strawberry.field(description="Mã danh hiệu, hình thức (ổn định).")
    award_name: str = strawberry.field(description="Tên danh hiệu, hình thức.")
    persons: BigInt = strawberry.field(description="Lượt cá nhân.")
    collectives: BigInt = strawberry.field(description="Lượt tập thể.")
    cash_vnd: BigInt = strawberry.field(description="Tiền thưởng đã quyết định.")


@strawberry.type(
    description="Số liệu tổng hợp của một năm (hoặc cả giai đoạn khi `year` null): của đơn vị và "
    "các đơn vị dưới nó theo cây đơn vị của từng ngày."
)
class SummaryFigures:
    year: int | None
    campaigns_launched: BigInt = strawberry.field(description="Phong trào đã phát động.")
    campaigns_carried_out: BigInt = strawberry.field(
        description="Trong đó: cụ thể hóa phong trào của cấp trên."
    )
    registrations_on_time: BigInt = strawberry.field(
        description="Đăng ký thi đua đúng hạn (theo ngày đăng ký trong năm)."
    )
    registrations_late: BigInt = strawberry.field(description="Đăng ký thi đua sau hạn.")
    phase_reviews_on_time: BigInt = strawberry.field(description="Sơ kết đúng hạn.")
    phase_reviews_late: BigInt = strawberry.field(description="Sơ kết sau hạn.")
    conclusions_on_time: BigInt = strawberry.field(description="Tổng kết đúng hạn.")
    conclusions_late: BigInt = strawberry.field(description="Tổng kết sau hạn.")
    pledges: BigInt = strawberry.field(description="Đăng ký, giao ước thi đua (còn hiệu lực).")
    pledges_by_title: list[Count] = strawberry.field(
        description="Giao ước theo danh hiệu đăng ký (key: mã danh hiệu)."
    )
    works: BigInt = strawberry.field(description="Công trình, sản phẩm đăng ký gắn biển.")
    initiatives: BigInt = strawberry.field(description="Sáng kiến đã được công nhận.")
    initiative_benefit_vnd: BigInt = strawberry.field(description="Tổng giá trị làm lợi.")
    proposals: BigInt = strawberry.field(description="Đề nghị khen thưởng đã trình lên cấp trên.")
    proposals_by_kind: list[Count] = strawberry.field(
        description="Đề nghị theo loại (key: regular, thematic, ad_hoc, career)."
    )
    decisions: BigInt = strawberry.field(description="Quyết định khen thưởng đã ban hành.")
    awarded_persons: BigInt = strawberry.field(description="Lượt cá nhân được khen (chưa bị hủy).")
    awarded_collectives: BigInt = strawberry.field(
        description="Lượt tập thể được khen (chưa bị hủy)."
    )
    awarded_direct_workers: BigInt = strawberry.field(
        description="Trong lượt cá nhân được khen: lao động trực tiếp."
    )
    direct_worker_share: float | None = strawberry.field(
        description="Phần trăm lao động trực tiếp trong lượt cá nhân được khen, một chữ số lẻ."
    )
    awarded_women: BigInt = strawberry.field(description="Trong lượt cá nhân được khen: nữ.")
    women_share: float | None = strawberry.field(
        description="Phần trăm nữ trong lượt cá nhân được khen, một chữ số lẻ; null: không ai."
    )
    awarded_unrecorded: BigInt = strawberry.field(
        description="Lượt cá nhân chưa có thông tin giới tính, lao động trực tiếp."
    )
    cash_vnd: BigInt = strawberry.field(description="Tiền thưởng đã quyết định.")
    by_award: list[AwardFigures] = strawberry.field(
        description="Theo danh hiệu, hình thức khen thưởng."
    )
    campaigns_reviewed: BigInt = strawberry.field(
        description="Phong trào phát động trong năm đã được sơ kết hoặc tổng kết."
    )
    trainings: BigInt = strawberry.field(description="Đợt tập huấn công tác thi đua, khen thưởng.")
    training_attendees: BigInt = strawberry.field(description="Lượt người dự tập huấn.")
    cadres_trained: BigInt = strawberry.field(description="Cán bộ thi đua được tập huấn.")
    emulation_cadres: BigInt = strawberry.field(description="Cán bộ làm công tác thi đua.")
    seminars: BigInt = strawberry.field(description="Tọa đàm, trao đổi kinh nghiệm.")
    seminar_participants: BigInt = strawberry.field(description="Lượt người dự tọa đàm.")
    good_practices: BigInt = strawberry.field(description="Mô hình mới, cách làm hay giới thiệu.")
    replications: BigInt = strawberry.field(
        description="Cách làm hay của đơn vị khác đã nhân rộng."
    )
    inspections: BigInt = strawberry.field(description="Cuộc kiểm tra, giám sát cấp dưới.")
    # (unit, first year, last year, asOf) of these figures: what registrationsNotYet counts
    key: strawberry.Private[SummaryKey | None] = None

    @strawberry.field(
        description="Đăng ký thi đua chưa có: các đơn vị được đề nghị đăng ký phong trào phát "
        "động trong năm (các đơn vị trực thuộc đơn vị phát động) mà chưa đăng ký, đã quá hạn "
        "hay chưa đến hạn, như `compliance` (kind registrations: missing + pending), cùng thời "
        "điểm `asOf`. Chỉ tính khi được hỏi (mỗi năm tính như 10 trường trong giới hạn chi phí)."
    )
    async def registrations_not_yet(self, info: Info) -> BigInt | None:
        if self.key is None:
            return None
        unit, first, last, at = self.key
        counts = await _not_yet_loader(info).load_many(
            [(unit, year, at) for year in range(first, last + 1)]
        )
        if any(c is None for c in counts):
            return None
        return BigInt(sum(c for c in counts if c is not None))


def _not_yet_loader(info: Info) -> DataLoader[tuple[str, int, datetime | None], int | None]:
    """This request's loader of the registrations not yet made, by (unit, year, asOf): each
    year's deadlines once, however many summaries ask for it."""
    loaders = info.context.setdefault("reporting_loaders", {})
    if "not_yet" not in loaders:

        async def load(keys: list[tuple[str, int, datetime | None]]) -> list[int | None]:
            async with access.reading(info) as conn:
                for at in {at for _, _, at in keys}:
                    await _versions_whole(conn, at)
                rows = await conn.fetch(
                    "SELECT k.i, c.missing + c.pending AS n "
                    "FROM unnest($1::text[], $2::int[], $3::timestamptz[]) "
                    "WITH ORDINALITY AS k (unit, year, at, i) "
                    "CROSS JOIN LATERAL thidua_report_compliance(k.unit, k.year, k.at) c "
                    "WHERE c.kind = 'registrations'",
                    *(list(column) for column in zip(*keys, strict=True)),
                )
            found = {r["i"]: int(r["n"]) for r in rows}
            return [found.get(i) for i in range(1, len(keys) + 1)]

        loaders["not_yet"] = DataLoader(load_fn=load)
    return loaders["not_yet"]


@strawberry.type(description="Tổng hợp của một đơn vị và các đơn vị dưới nó.")
class UnitSummary:
    unit_id: strawberry.ID
    first_year: int
    last_year: int
    as_of: datetime | None = strawberry.field(
        description="Thời điểm đã hỏi (null: hiện tại): số liệu như nhật ký ghi nhận lúc đó."
    )
    total: SummaryFigures = strawberry.field(description="Cả giai đoạn.")
    years: list[SummaryFigures] = strawberry.field(description="Từng năm của giai đoạn.")
    below_from: date | None = strawberry.field(
        default=None,
        description="Trong `below`: ngày đầu tiên của giai đoạn mà đơn vị trực thuộc đơn vị trên; "
        "ngoài `below`: null.",
    )
    below_until: date | None = strawberry.field(
        default=None,
        description="Trong `below`: ngày cuối cùng của giai đoạn mà đơn vị còn trực thuộc đơn vị "
        "trên (chuyển đi, sáp nhập: ngày trước đó). Đơn vị chuyển đi rồi chuyển về trong giai "
        "đoạn: ngày đầu và ngày cuối, ở giữa có thể trực thuộc nơi khác. Ngoài `below`: null.",
    )

    @strawberry.field(
        description="Các đơn vị trực thuộc trong giai đoạn, theo cây đơn vị như nhật ký ghi "
        "nhận tại thời điểm đã hỏi, mỗi đơn vị với tổng hợp của chính nó (cả giai đoạn, cùng "
        "thời điểm) và những ngày nó trực thuộc. Đơn vị chỉ về sau mới trực thuộc thì không có; "
        "đơn vị ngoài tầm đọc hôm nay (đã chuyển đi, giải thể) cũng không. Đơn vị đã sáp nhập "
        "trực thuộc đến ngày sáp nhập; lịch sử của nó cũng được tính ở đơn vị nhận sáp nhập. Vì "
        "thế, khi có chuyển đi, chuyển đến, sáp nhập, tổng các đơn vị có thể khác số của đơn vị "
        "trên."
    )
    async def below(self, info: Info) -> list[UnitSummary]:
        key = (self.first_year, self.last_year, self.as_of)
        rows = await access.fetch(
            info,
            "SELECT unit, first_day, last_day FROM thidua_report_below($1, $2, $3, $4, $5)",
            str(self.unit_id),
            *key,
            BELOW_MOST,
        )
        found = await summaries_loader(info).load_many([(r["unit"], *key) for r in rows])
        # a copy each: the loader's summary may also answer elsewhere in the request
        return [
            replace(s, below_from=r["first_day"], below_until=r["last_day"])
            for r, s in zip(rows, found, strict=True)
            if s is not None
        ]


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass
class _Figures:
    values: Mapping[tuple[str, str], int]

    def one(self, metric: str, dim: str = "") -> int:
        return int(self.values.get((metric, dim), 0))

    def total(self, metric: str) -> int:
        return int(sum(v for (m, _), v in self.values.items() if m == metric))

    def by(self, metric: str) -> dict[str, int]:
        return {d: int(v) for (m, d), v in self.values.items() if m == metric and v}


def figures_of(
    year: int | None, values: Mapping[tuple[str, str], int], key: SummaryKey | None = None
) -> SummaryFigures:
    v = _Figures(values)
    persons = v.total(f.AWARDED_PERSONS)
    persons_by, collectives_by, cash_by = (
        v.by(f.AWARDED_PERSONS),
        v.by(f.AWARDED_COLLECTIVES),
        v.by(f.CASH),
    )
    return SummaryFigures(
        year=year,
        campaigns_launched=v.one(f.CAMPAIGNS_LAUNCHED),
        campaigns_carried_out=v.one(f.CAMPAIGNS_CARRIED_OUT),
        registrations_on_time=v.one(f.REGISTRATIONS, f.ON_TIME),
        registrations_late=v.one(f.REGISTRATIONS, f.LATE),
        phase_reviews_on_time=v.one(f.PHASE_REVIEWS, f.ON_TIME),
        phase_reviews_late=v.one(f.PHASE_REVIEWS, f.LATE),
        conclusions_on_time=v.one(f.CONCLUSIONS, f.ON_TIME),
        conclusions_late=v.one(f.CONCLUSIONS, f.LATE),
        pledges=v.total(f.PLEDGES),
        pledges_by_title=_counts(v.by(f.PLEDGES)),
        works=v.total(f.WORKS),
        initiatives=v.one(f.INITIATIVES),
        initiative_benefit_vnd=BigInt(v.one(f.INITIATIVE_BENEFIT)),
        proposals=v.total(f.PROPOSALS),
        proposals_by_kind=_counts(v.by(f.PROPOSALS)),
        decisions=v.one(f.DECISIONS),
        awarded_persons=persons,
        awarded_collectives=v.total(f.AWARDED_COLLECTIVES),
        awarded_direct_workers=v.one(f.AWARDED_DIRECT_WORKERS),
        direct_worker_share=_share(v.one(f.AWARDED_DIRECT_WORKERS), persons),
        awarded_women=v.one(f.AWARDED_WOMEN),
        women_share=_share(v.one(f.AWARDED_WOMEN), persons),
        awarded_unrecorded=v.one(f.AWARDED_UNRECORDED),
        cash_vnd=BigInt(v.total(f.CASH)),
        by_award=[
            AwardFigures(
                award=a,
                award_name=award_name(a),
                persons=persons_by.get(a, 0),
                collectives=collectives_by.get(a, 0),
                cash_vnd=BigInt(cash_by.get(a, 0)),
            )
            for a in sorted(set(persons_by) | set(collectives_by) | set(cash_by))
        ],
        campaigns_reviewed=v.one(f.CAMPAIGNS_REVIEWED),
        trainings=v.one(f.TRAININGS),
        training_attendees=v.one(f.TRAINING_ATTENDEES),
        cadres_trained=v.one(f.CADRES_TRAINED),
        emulation_cadres=v.one(f.EMULATION_CADRES),
        seminars=v.one(f.SEMINARS),
        seminar_participants=v.one(f.SEMINAR_PARTICIPANTS),
        good_practices=v.one(f.GOOD_PRACTICES),
        replications=v.one(f.REPLICATIONS),
        inspections=v.one(f.INSPECTIONS),
        key=key,
    )


def _counts(values: Mapping[str, int]) -> list[Count]:
    return [Count(key=k, value=BigInt(v)) for k, v in sorted(values.items())]


def summary_of(key: SummaryKey, rows: Iterable[Any]) -> UnitSummary:
    unit, first, last, at = key
    by_year: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
    total: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        by_year[r["year"]][(r["metric"], r["dim"])] = int(r["value"])
        total[(r["metric"], r["dim"])] += int(r["value"])
    return UnitSummary(
        unit_id=strawberry.ID(unit),
        first_year=first,
        last_year=last,
        as_of=at,
        total=figures_of(None, total, key),
        years=[figures_of(y, by_year.get(y, {}), (unit, y, y, at)) for y in range(first, last + 1)],
    )


def summaries_loader(info: Info) -> DataLoader[SummaryKey, UnitSummary | None]:
    """This request's loader of summaries: every key asked while resolving, in one statement."""
    loaders = info.context.setdefault("reporting_loaders", {})
    if "summaries" not in loaders:

        async def load(keys: list[SummaryKey]) -> list[UnitSummary | None]:
            async with access.reading(info) as conn:
                found = await read_figures(conn, keys)
            return [
                None if rows is None else summary_of(key, rows)
                for key, rows in zip(keys, found, strict=True)
            ]

        loaders["summaries"] = DataLoader(load_fn=load)
    return loaders["summaries"]


def _exemplar(row: Any, person: Any, honoured: bool) -> Exemplar:
    return Exemplar(
        person_id=strawberry.ID(row["person_id"]),
        name=(person["full_name"] if person else None) or "(không đọc được)",
        post=person["post"] if person else "",
        unit_id=strawberry.ID(person["tenant_id"]) if person else None,
        unit_name=(person["unit_name"] or person["tenant_id"]) if person else "",
        initiatives=int(row["initiatives"]),
        benefit_vnd=BigInt(int(row["benefit"] or 0)),
        applied_at=list(row["applied_at"] or []),
        initiative_titles=list(row["titles"] or []),
        bang_lao_dong_sang_tao=honoured,
    )


def unit_asked(info: Info, unit_id: strawberry.ID | None) -> str:
    """The unit a query asks about: the one given, or the caller's own when none is (an empty
    id is no unit, as any other unknown id: not the caller's own figures under another name)."""
    return principal_of(info).tenant if unit_id is None else str(unit_id)[:UNIT_ID_CHARS]


def _check_first(first: int) -> None:
    if not 1 <= first <= EXEMPLARS_MOST:
        raise InvalidInput(f"first: 1–{EXEMPLARS_MOST}.")


def span(first: int, last: int) -> str:
    """A period as a name says it: "2021", "2020-2025"."""
    return str(first) if first == last else f"{first}-{last}"


def years_asked(first_year: int, last_year: int | None) -> tuple[int, int]:
    last = first_year if last_year is None else last_year
    if not (FIRST_YEAR <= first_year <= last <= LAST_YEAR) or last - first_year >= MOST_YEARS:
        raise InvalidInput(
            f"Năm từ {FIRST_YEAR} đến {LAST_YEAR}, năm đầu không sau năm cuối, "
            f"tối đa {MOST_YEARS} năm."
        )
    return first_year, last


def moment_asked(as_of: datetime | None) -> datetime | None:
    if as_of is None:
        return None
    if as_of.tzinfo is None:
        raise InvalidInput("Thời điểm cần múi giờ (ví dụ 2025-04-15T17:00:00+07:00).")
    if not FIRST_YEAR <= as_of.year <= LAST_YEAR:
        raise InvalidInput(f"Thời điểm trong các năm {FIRST_YEAR}–{LAST_YEAR}.")
    return as_of.astimezone(UTC)


@strawberry.type(description="Một chỉ tiêu phấn đấu hằng năm: mục tiêu và thực hiện (phần trăm).")
class Kpi:
    code: str = strawberry.field(description="Mã chỉ tiêu (ổn định).")
    name: str = strawberry.field(description="Tên chỉ tiêu như kế hoạch ghi.")
    target: float = strawberry.field(description="Mục tiêu: ít nhất bấy nhiêu phần trăm.")
    actual: float | None = strawberry.field(
        description="Thực hiện, phần trăm một chữ số lẻ; null khi không có gì để tính."
    )
    part: int = strawberry.field(description="Số đạt (tử số của tỷ lệ).")
    whole: int = strawberry.field(description="Trên tổng số (mẫu số của tỷ lệ).")
    met: bool | None = strawberry.field(
        description="Thực hiện có đạt mục tiêu không; null khi không có gì để tính."
    )


@strawberry.type(description="Các chỉ tiêu phấn đấu hằng năm của một đơn vị và các đơn vị dưới nó.")
class KpiReport:
    unit_id: strawberry.ID
    year: int
    as_of: datetime | None
    source: str = strawberry.field(description="Văn bản đặt ra các chỉ tiêu.")
    targets: list[Kpi]


@strawberry.type(
    description="Việc có hạn của một loại: đúng hạn, muộn, quá hạn chưa làm, chưa đến hạn."
)
class DeadlineCompliance:
    kind: str = strawberry.field(
        description="registrations (đăng ký thi đua với các phong trào phát động trong năm), "
        "phase_reports (sơ kết các đợt của đơn vị phát động), progress_reports (báo cáo từng đợt "
        "của các đơn vị đã đăng ký, tính theo lần gửi đầu), appraisals (thẩm định hồ sơ), "
        "period_reports (báo cáo giai đoạn cấp dưới gửi lên)."
    )
    on_time: BigInt = strawberry.field(description="Làm đúng hạn.")
    late: BigInt = strawberry.field(description="Làm sau hạn.")
    missing: BigInt = strawberry.field(description="Đã quá hạn mà chưa làm.")
    pending: BigInt = strawberry.field(description="Chưa làm, chưa đến hạn.")


@strawberry.type(
    description="Một cá nhân tiêu biểu của giai đoạn (mẫu báo cáo 5 năm): tác giả sáng kiến được "
    "công nhận trong đơn vị và các đơn vị dưới nó."
)
class Exemplar:
    person_id: strawberry.ID = strawberry.field(description="Người lao động (mã trong sổ).")
    name: str = strawberry.field(
        description="Họ tên như người đọc được đọc; không: '(không đọc được)'."
    )
    post: str = strawberry.field(description="Chức vụ như người đọc được đọc (rỗng: không).")
    unit_id: strawberry.ID | None = strawberry.field(
        description="Đơn vị công tác hiện nay, nếu người đọc được đọc; không: null."
    )
    unit_name: str = strawberry.field(description="Tên đơn vị công tác (rỗng: không đọc được).")
    initiatives: int = strawberry.field(description="Số sáng kiến được công nhận trong giai đoạn.")
    benefit_vnd: BigInt = strawberry.field(description="Tổng giá trị làm lợi của các sáng kiến.")
    applied_at: list[str] = strawberry.field(description="Nơi áp dụng.")
    initiative_titles: list[str] = strawberry.field(
        description="Tên (nội dung) các sáng kiến của giai đoạn, mỗi tên một lần, theo thứ tự "
        "chữ cái; sáng kiến ghi nhận không qua đăng ký thì không có tên."
    )
    bang_lao_dong_sang_tao: bool = strawberry.field(
        description="Đã được tặng Bằng Lao động sáng tạo (quyết định còn hiệu lực, trong tầm đọc)."
    )


EXEMPLARS_MOST = 100


@strawberry.type(
    description="Một tập thể tiêu biểu của giai đoạn (mẫu báo cáo 5 năm): một đơn vị dưới đơn vị "
    "hỏi, với phong trào, người tham gia, sáng kiến, giá trị làm lợi và khen thưởng tập thể."
)
class ExemplaryUnit:
    unit_id: strawberry.ID
    unit_name: str
    campaigns_launched: int
    participants: BigInt = strawberry.field(description="Lượt đăng ký, giao ước thi đua.")
    initiatives: int
    benefit_vnd: BigInt
    prizes: list[str] = strawberry.field(
        description="Danh hiệu, hình thức khen thưởng tập thể đơn vị nhận trong giai đoạn (còn "
        "hiệu lực, trong tầm đọc)."
    )
    indicators: int = strawberry.field(
        description="Chỉ tiêu của các phong trào đơn vị phát động trong giai đoạn."
    )
    indicators_met: int = strawberry.field(
        description="Trong đó đã đạt hoặc vượt mục tiêu (số thực hiện tới nay): cho cột tiến độ "
        "của mẫu báo cáo."
    )


_RANKED = (f.CAMPAIGNS_LAUNCHED, f.PLEDGES, f.INITIATIVES, f.INITIATIVE_BENEFIT)


# An award standing: now, not revoked in the awards' register; at a moment (``$N``), the log
# held its decision and not its revocation then (reporting's versions of it, migration 0066, which
# the reader reads for the recipients it reads in the register, by that table's reach).
def _standing(at: str) -> str:
    return (
        f"CASE WHEN {at}::timestamptz IS NULL THEN revoked_on IS NULL ELSE coalesce(("
        "SELECT v.figures <> '[]' FROM report_item_versions v "
        "WHERE v.unit_id = decision_recipients.tenant_id "
        "AND v.item = 'award:' || decision_recipients.decision_id::text || ':' "
        f"|| decision_recipients.item_id AND v.known_at <= {at} "
        "ORDER BY v.known_at DESC LIMIT 1), false) END"
    )


async def _versions_whole(conn: Any, at: datetime | None) -> None:
    """An ``asOf`` read from the items' versions (migration 0066) is refused before the moment
    from which they are whole: a database migrated with items holds their states before it only
    once ``thidua reports rebuild`` has written them from the log."""
    if at is None:
        return
    since = await conn.fetchval("SELECT max(since) FROM report_versions_since")
    if since is not None and at < since:
        raise InvalidInput(
            "Sáng kiến, khen thưởng và các hạn trước "
            f"{since.astimezone(VIETNAM):%H:%M ngày %d/%m/%Y} chưa được dựng lại từ nhật ký: "
            "quản trị viên cần chạy `thidua reports rebuild`."
        )


async def _collectives(
    conn: Any, ids: list[str], first: int, last: int, at: datetime | None
) -> tuple[dict[str, str], dict[str, list[str]], dict[str, tuple[int, int]]]:
    """What the template asks of each typical collective beyond its figures, as the reader may
    read it: its name, its collective awards of the years (standing at ``at``), and its
    campaigns' indicators (how many, how many met by now) of the campaigns it launched in
    them; each with those of the units merged into it before their merges."""
    names = {
        r["tenant_id"]: r["name"]
        for r in await conn.fetch(
            "SELECT tenant_id, name FROM units WHERE tenant_id = ANY ($1::text[])", ids
        )
    }
    # a unit merged into one of them: its prizes decided before its merge are the survivor's
    # (migration 0076), as its figures are
    prizes: dict[str, list[str]] = defaultdict(list)
    for r in await conn.fetch(
        "WITH logs AS (SELECT u AS unit, u AS source, NULL::date AS until "
        "FROM unnest($1::text[]) AS u UNION ALL "
        "SELECT unit, source, until FROM thidua_report_absorbed($1, $2, $3, $4)) "
        "SELECT DISTINCT l.unit, decision_recipients.award FROM logs l "
        "JOIN decision_recipients ON decision_recipients.unit_id = l.source "
        "WHERE decision_recipients.year BETWEEN $2 AND $3 "
        "AND (l.until IS NULL OR decision_recipients.decided_on < l.until) "
        f"AND {_standing('$4')} ORDER BY l.unit, decision_recipients.award",
        ids,
        first,
        last,
        at,
    ):
        prizes[r["unit"]].append(award_name(r["award"]))
    indicators = {
        r["unit"]: (int(r["indicators"]), int(r["met"]))
        for r in await conn.fetch(
            "SELECT unit, indicators, met FROM thidua_report_indicators_absorbed($1, $2, $3, $4)",
            ids,
            first,
            last,
            at,
        )
    }
    return names, prizes, indicators


@strawberry.type
class ReportingQuery:
    @strawberry.field(
        description="Tập thể tiêu biểu của giai đoạn: các đơn vị dưới đơn vị (mặc định: đơn vị "
        "mình) vào ngày cuối giai đoạn, giá trị làm lợi của sáng kiến lớn trước (tối đa 100). "
        "`asOf`: như nhật ký ghi nhận tại thời điểm đó (cây đơn vị, số liệu, khen thưởng; tên "
        "đơn vị và chỉ tiêu của phong trào như hiện nay). Ngoài tầm, hoặc token vai trò "
        "member (chỉ đọc đơn vị mình): null."
    )
    async def exemplary_units(
        self,
        info: Info,
        first_year: FirstYear,
        last_year: LastYear = None,
        unit_id: AskedUnit = None,
        first: FirstRows = 20,
        as_of: AsOf = None,
    ) -> list[ExemplaryUnit] | None:
        first_, last = years_asked(first_year, last_year)
        _check_first(first)
        at = moment_asked(as_of)
        unit = unit_asked(info, unit_id)
        async with access.reading(info) as conn:
            await _versions_whole(conn, at)
            ranked = await read_ranked(conn, unit, (first_, last), _RANKED, first, at)
            if ranked is None:
                return None
            names, prizes, indicators = await _collectives(
                conn, [u for u, _ in ranked], first_, last, at
            )
        return [
            ExemplaryUnit(
                unit_id=strawberry.ID(u),
                unit_name=names.get(u, u),
                campaigns_launched=own.get(f.CAMPAIGNS_LAUNCHED, 0),
                participants=BigInt(own.get(f.PLEDGES, 0)),
                initiatives=own.get(f.INITIATIVES, 0),
                benefit_vnd=BigInt(own.get(f.INITIATIVE_BENEFIT, 0)),
                prizes=prizes.get(u, []),
                indicators=indicators.get(u, (0, 0))[0],
                indicators_met=indicators.get(u, (0, 0))[1],
            )
            for u, own in ranked
        ]

    @strawberry.field(
        description="Cá nhân tiêu biểu của giai đoạn: tác giả các sáng kiến được công nhận trong "
        "đơn vị (mặc định: đơn vị mình) và các đơn vị dưới nó, giá trị làm lợi lớn trước (tối "
        "đa 100). `asOf`: như nhật ký ghi nhận tại thời điểm đó (sáng kiến, cây đơn vị, Bằng "
        "Lao động sáng tạo; họ tên, chức vụ như hiện nay). Ngoài tầm, hoặc token vai trò "
        "member (chỉ đọc đơn vị mình): null."
    )
    async def exemplars(
        self,
        info: Info,
        first_year: FirstYear,
        last_year: LastYear = None,
        unit_id: AskedUnit = None,
        first: FirstRows = 20,
        as_of: AsOf = None,
    ) -> list[Exemplar] | None:
        first_, last = years_asked(first_year, last_year)
        _check_first(first)
        at = moment_asked(as_of)
        unit = unit_asked(info, unit_id)
        async with access.reading(info) as conn:
            await _versions_whole(conn, at)
            rows = await conn.fetch(
                "SELECT person_id, initiatives, benefit, applied_at, titles "
                "FROM thidua_report_typical_individuals($1, $2, $3, $4, $5)",
                unit,
                first_,
                last,
                first,
                at,
            )
            if not rows:
                return None
            found = [r for r in rows if r["person_id"] is not None]
            ids = [r["person_id"] for r in found]
            people = {
                str(p["person_id"]): p
                for p in await conn.fetch(
                    "SELECT DISTINCT ON (p.person_id) p.person_id, p.full_name, p.post, "
                    "p.tenant_id, u.name AS unit_name FROM people p "
                    "LEFT JOIN units u ON u.tenant_id = p.tenant_id "
                    "WHERE p.person_id = ANY ($1::uuid[]) ORDER BY p.person_id, p.status = 'active' DESC",
                    ids,
                )
            }
            honoured = {
                r["person_id"]
                for r in await conn.fetch(
                    "SELECT DISTINCT person_id FROM decision_recipients "
                    "WHERE person_id = ANY ($1::text[]) AND award = 'bang_lao_dong_sang_tao' "
                    f"AND {_standing('$2')}",
                    ids,
                    at,
                )
            }
        return [_exemplar(r, people.get(r["person_id"]), r["person_id"] in honoured) for r in found]

    @strawberry.field(
        description="Việc đúng hạn của một đơn vị (mặc định: đơn vị mình) và các đơn vị dưới nó "
        "trong năm: đăng ký thi đua, sơ kết đợt, thẩm định hồ sơ khen thưởng, báo cáo giai đoạn; "
        "hạn theo lịch ngày làm việc của từng việc. `asOf`: như nhật ký ghi nhận tại thời điểm "
        "đó (quá hạn, chưa đến hạn: tính theo ngày của thời điểm ấy). Ngoài tầm: null."
    )
    async def compliance(
        self,
        info: Info,
        year: Year,
        unit_id: AskedUnit = None,
        as_of: AsOf = None,
    ) -> list[DeadlineCompliance] | None:
        years_asked(year, year)
        at = moment_asked(as_of)
        unit = unit_asked(info, unit_id)
        async with access.reading(info) as conn:
            await _versions_whole(conn, at)
            rows = await conn.fetch(
                "SELECT kind, on_time, late, missing, pending "
                "FROM thidua_report_compliance($1, $2, $3)",
                unit,
                year,
                at,
            )
        if not rows:
            return None
        return [
            DeadlineCompliance(
                kind=r["kind"],
                on_time=BigInt(r["on_time"]),
                late=BigInt(r["late"]),
                missing=BigInt(r["missing"]),
                pending=BigInt(r["pending"]),
            )
            for r in rows
        ]

    @strawberry.field(
        description="Các chỉ tiêu hằng năm của kế hoạch 87/KH-CĐCT (tỷ lệ đơn vị phát động "
        "phong trào cấp trên chỉ đạo, phong trào được sơ kết, tổng kết, lao động trực tiếp được "
        "khen, cán bộ thi đua được tập huấn, đơn vị có mô hình mới và tọa đàm) của một đơn vị "
        "(mặc định: đơn vị mình) và các đơn vị dưới nó vào ngày cuối năm. Ngoài tầm: null."
    )
    async def kpis(
        self,
        info: Info,
        year: Year,
        unit_id: AskedUnit = None,
        as_of: AsOf = None,
    ) -> KpiReport | None:
        years_asked(year, year)
        at = moment_asked(as_of)
        unit = unit_asked(info, unit_id)
        async with access.reading(info) as conn:
            rows = (await read_figures(conn, [(unit, year, year, at)]))[0]
            if rows is None:
                return None
            units = await read_units(conn, unit, (year, year), rules.UNIT_METRICS, at)
        totals: dict[str, int] = defaultdict(int)
        for r in rows:
            totals[r["metric"]] += int(r["value"])
        return KpiReport(
            unit_id=strawberry.ID(unit),
            year=year,
            as_of=at,
            source=rules.SOURCE,
            targets=[
                Kpi(
                    code=a.target.code,
                    name=a.target.name,
                    target=a.target.target,
                    actual=a.actual,
                    part=a.part,
                    whole=a.whole,
                    met=a.met,
                )
                for a in rules.achievements(totals, units)
            ],
        )

    @strawberry.field(
        description="Tổng hợp thi đua, khen thưởng của một đơn vị (mặc định: đơn vị mình) và các "
        "đơn vị dưới nó, năm `firstYear` đến `lastYear` (mặc định: một năm; tối đa 10), theo cây "
        "đơn vị của từng ngày (đơn vị chuyển đi tính cho cấp trên cũ đến ngày chuyển; đơn vị bị "
        "sáp nhập tính cả lịch sử cho đơn vị nhận). `asOf`: như nhật ký ghi nhận tại thời điểm "
        "đó. Đơn vị ngoài tầm: null."
    )
    async def summary(
        self,
        info: Info,
        first_year: FirstYear,
        last_year: LastYear = None,
        unit_id: AskedUnit = None,
        as_of: AsOf = None,
    ) -> UnitSummary | None:
        first, last = years_asked(first_year, last_year)
        unit = unit_asked(info, unit_id)
        return await summaries_loader(info).load((unit, first, last, moment_asked(as_of)))

    @strawberry.field(
        description="Tổng hợp của nhiều đơn vị một lần (tối đa 100), cùng giai đoạn và thời "
        "điểm; đơn vị ngoài tầm: null ở vị trí của nó."
    )
    async def summaries(
        self,
        info: Info,
        unit_ids: list[strawberry.ID],
        first_year: FirstYear,
        last_year: LastYear = None,
        as_of: AsOf = None,
    ) -> list[UnitSummary | None]:
        if len(unit_ids) > MOST_UNITS:
            raise InvalidInput(f"Tối đa {MOST_UNITS} đơn vị.")
        principal_of(info)
        first, last = years_asked(first_year, last_year)
        at = moment_asked(as_of)
        keys = [(str(u)[:UNIT_ID_CHARS], first, last, at) for u in unit_ids]
        return list(await summaries_loader(info).load_many(keys))
