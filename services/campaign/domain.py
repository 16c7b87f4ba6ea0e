"""Campaigns (phong trào thi đua), registrations (đăng ký thi đua) and progress. Pure: no I/O.

A campaign lives in the log of the unit that launches it; a unit's registration for a campaign,
and the actuals it reports, live in that unit's own log. Text arrives cleaned (NFC, trimmed)
from the command layer; these classes keep the rules of their own state, and take what they
need to know of another aggregate (a campaign, seen by a registering unit) as plain facts.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from eventsourcing.domain import Aggregate, event

from services.campaign.rules import COMPUTABLE, MONEY_FACTS, PERSON, SUBJECTS, TITLES
from shared.errors import DomainError
from shared.ids import name_uuid
from shared.text import has_control

# Ids of registrations and progress are derived with this namespace: never change it.
CAMPAIGN_NAMESPACE = uuid.UUID("0b7e4c1a-2f5d-4a8e-b3c6-9d1e2f3a4b5c")

KINDS = ("yearly", "thematic", "five_year", "occasion")
PARTICIPANTS = ("union_activity", "workers", "workers_in_union_bodies")
MEASURES = ("count", "percent", "vnd")
SOURCES = ("reported", "computed")
SCOPES = ("own", "subtree")
CATEGORIES = ("direct", "coordinated")
DRAFT, LAUNCHED, CONCLUDED = "draft", "launched", "concluded"
REGISTERED, WITHDRAWN = "registered", "withdrawn"
MAX_TEXT = 20_000
MAX_ITEMS = 200


class CampaignInvalid(DomainError):
    code = "CAMPAIGN_INVALID"
    message_vi = "Thông tin phong trào thi đua không hợp lệ."


class DatesOutOfOrder(DomainError):
    code = "DATE_ORDER"
    message_vi = "Ngày bắt đầu phải trước hoặc bằng ngày kết thúc."


class PhaseOutsidePeriod(DomainError):
    code = "PHASE_OUTSIDE_PERIOD"
    message_vi = "Đợt thi đua phải nằm trong thời gian của phong trào."


class PhaseOverlap(DomainError):
    code = "PHASE_OVERLAP"
    message_vi = "Các đợt thi đua không được chồng lên nhau."


class IndicatorInvalid(DomainError):
    code = "INDICATOR_INVALID"
    message_vi = "Chỉ tiêu không hợp lệ."


class PercentOver100(DomainError):
    code = "INDICATOR_PERCENT_OVER_100"
    message_vi = "Số liệu tính theo phần trăm (mục tiêu hay số thực hiện) không vượt quá 100."


class UnknownIndicator(DomainError):
    code = "INDICATOR_UNKNOWN"
    message_vi = "Phong trào không có chỉ tiêu này."


class UnknownPhase(DomainError):
    code = "PHASE_UNKNOWN"
    message_vi = "Phong trào không có đợt thi đua này."


class AlreadyLaunched(DomainError):
    code = "CAMPAIGN_ALREADY_LAUNCHED"
    message_vi = "Phong trào đã được phát động."


class NotLaunched(DomainError):
    code = "CAMPAIGN_NOT_LAUNCHED"
    message_vi = "Phong trào chưa được phát động."


class PhaseAlreadyReviewed(DomainError):
    code = "PHASE_ALREADY_REVIEWED"
    message_vi = "Đợt này đã sơ kết."


class CampaignFrozen(DomainError):
    code = "CAMPAIGN_FROZEN"
    message_vi = "Kế hoạch đã phát động; mọi thay đổi phải là một lần điều chỉnh có lý do."


class CampaignConcludedError(DomainError):
    code = "CAMPAIGN_CONCLUDED"
    message_vi = "Phong trào đã tổng kết, không nhận thay đổi."


class ReasonRequired(DomainError):
    code = "REASON_REQUIRED"
    message_vi = "Cần nêu lý do điều chỉnh."


class RegistrationLate(DomainError):
    code = "REGISTRATION_LATE"
    message_vi = "Đã quá hạn đăng ký; muốn đăng ký muộn phải ghi rõ là đăng ký muộn."


class ContentUnknown(DomainError):
    code = "CONTENT_UNKNOWN"
    message_vi = (
        "Phong trào không có nội dung thi đua này: hãy chọn trong các nội dung của phong trào; "
        "nội dung riêng của đơn vị ghi ở ownContents."
    )


class TooFewContents(DomainError):
    code = "REGISTRATION_TOO_FEW_CONTENTS"
    message_vi = "Số nội dung thi đua đăng ký ít hơn mức tối thiểu của phong trào."


class AlreadyRegistered(DomainError):
    code = "REGISTRATION_EXISTS"
    message_vi = "Đơn vị đã đăng ký phong trào này; hãy điều chỉnh đăng ký."


class RegistrationWithdrawnError(DomainError):
    code = "REGISTRATION_WITHDRAWN"
    message_vi = "Đăng ký đã rút."


def _text(value: str, what: str, *, required: bool = True, limit: int = MAX_TEXT) -> None:
    if required and not value:
        raise CampaignInvalid(f"{what} không được để trống.", field=what)
    if len(value) > limit:
        raise CampaignInvalid(f"{what} dài quá {limit} ký tự.", field=what)


def _texts(values: Sequence[str], what: str) -> None:
    if len(values) > MAX_ITEMS:
        raise CampaignInvalid(f"{what}: tối đa {MAX_ITEMS} mục.", field=what)
    for value in values:
        _text(value, what, limit=2_000)


def check_dates(starts: date, ends: date) -> None:
    if starts > ends:
        raise DatesOutOfOrder(f"{starts.isoformat()} > {ends.isoformat()}.")


def check_target(measure: str, target: int, what: str = "Chỉ tiêu", **context: Any) -> None:
    """A figure obeys its indicator's measure: a target, or an actual (an achievement is only
    as true as the figures it divides)."""
    if type(target) is not int or target < 0 or target > 10**15:
        raise IndicatorInvalid(f"{what} phải là số nguyên không âm.", **context)
    if measure == "percent" and target > 100:
        raise PercentOver100(f"{what}: {target} > 100.", **context)


def check_actual(code: str, measure: str, value: int) -> None:
    check_target(measure, value, f"Số thực hiện của {code!r}", indicator=code)


def registration_id(campaign_id: uuid.UUID, unit_id: str) -> uuid.UUID:
    return uuid.uuid5(CAMPAIGN_NAMESPACE, f"registration:{campaign_id}:{unit_id}")


def progress_id(campaign_id: uuid.UUID, unit_id: str, phase: int) -> uuid.UUID:
    return uuid.uuid5(CAMPAIGN_NAMESPACE, f"progress:{campaign_id}:{unit_id}:{phase}")


class Campaign(Aggregate):
    """A phong trào thi đua of one unit: drafted, launched (the plan frozen), its phases reviewed
    (sơ kết), concluded (tổng kết). After launch a change is an amendment with its reason."""

    @event("CampaignCreated")
    def __init__(
        self,
        unit_id: str,
        name: str,
        theme: str,
        objectives: str,
        scope: str,
        participants: str,
        contents: list[str],
        measures: list[str],
        kind: str,
        period_start: date,
        period_end: date,
        registration_due: date | None,
        report_days: int | None,
        min_contents: int,
        parent_unit: str | None,
        parent_campaign: uuid.UUID | None,
    ) -> None:
        self.unit_id = unit_id
        self.name = name
        self.theme = theme
        self.objectives = objectives
        self.scope = scope
        self.participants = participants
        self.contents = list(contents)
        self.measures = list(measures)
        self.kind = kind
        self.period_start = period_start
        self.period_end = period_end
        self.registration_due = registration_due
        self.report_days = report_days
        self.min_contents = min_contents
        self.parent_unit = parent_unit
        self.parent_campaign = parent_campaign
        self.status = DRAFT
        self.phases: list[dict[str, Any]] = []
        self.indicators: dict[str, dict[str, Any]] = {}
        # A list, kept sorted, not a set: a snapshot stores the state as JSON (shared/aggregates.py,
        # ValueCodec), which has lists and no sets.
        self.reviewed: list[int] = []

    @classmethod
    def create(cls, **plan: Any) -> Campaign:
        check_plan(plan)
        return cls(**plan)

    # --- the plan, while a draft ---------------------------------------------------------

    def add_phase(self, name: str, starts: date, ends: date) -> int:
        self._check_draft()
        _text(name, "Tên đợt", limit=500)
        check_dates(starts, ends)
        if starts < self.period_start or ends > self.period_end:
            raise PhaseOutsidePeriod(
                f"{starts.isoformat()}–{ends.isoformat()} ngoài "
                f"{self.period_start.isoformat()}–{self.period_end.isoformat()}."
            )
        for phase in self.phases:
            if starts <= phase["ends"] and phase["starts"] <= ends:
                raise PhaseOverlap(f"Trùng với đợt {phase['number']}.")
        number = len(self.phases) + 1
        self._phase_added(number=number, name=name, starts=starts, ends=ends)
        return number

    @event("PhaseAdded")
    def _phase_added(self, number: int, name: str, starts: date, ends: date) -> None:
        self.phases.append({"number": number, "name": name, "starts": starts, "ends": ends})

    def add_indicator(
        self,
        *,
        code: str,
        name: str,
        measure: str,
        target: int,
        source: str = "reported",
        computed_from: list[str] | None = None,
        scope: str = "subtree",
        category: str | None = None,
    ) -> None:
        self._check_draft()
        check_indicator(code, name, measure, target, source, computed_from or [], scope, category)
        if code in self.indicators:
            raise IndicatorInvalid(f"Mã chỉ tiêu {code!r} đã có.")
        self._indicator_added(
            code=code,
            name=name,
            measure=measure,
            target=target,
            source=source,
            computed_from=sorted(computed_from or []),
            scope=scope,
            category=category,
        )

    @event("IndicatorAdded")
    def _indicator_added(
        self,
        code: str,
        name: str,
        measure: str,
        target: int,
        source: str,
        computed_from: list[str],
        scope: str,
        category: str | None,
    ) -> None:
        self.indicators[code] = {
            "code": code,
            "name": name,
            "measure": measure,
            "target": target,
            "source": source,
            "computed_from": list(computed_from),
            "scope": scope,
            "category": category,
        }

    def launch(self, on: date) -> None:
        if self.status != DRAFT:
            raise AlreadyLaunched()
        if not self.contents:
            raise CampaignInvalid(
                "Phong trào cần ít nhất một nội dung thi đua trước khi phát động."
            )
        self._launched(launched_on=on)

    @event("CampaignLaunched")
    def _launched(self, launched_on: date) -> None:
        self.status = LAUNCHED
        self.launched_on = launched_on

    # --- after launch ---------------------------------------------------------------------

    AMENDABLE = (
        "name",
        "theme",
        "objectives",
        "scope",
        "contents",
        "measures",
        "registration_due",
        "report_days",
        "min_contents",
    )

    def amend(self, changes: Mapping[str, Any], reason: str) -> None:
        self._check_open()
        if self.status == DRAFT:
            raise NotLaunched("Bản nháp được sửa trực tiếp, chưa cần điều chỉnh.")
        if not reason:
            raise ReasonRequired()
        unknown = sorted(set(changes) - set(self.AMENDABLE))
        if unknown:
            raise CampaignInvalid(f"Không điều chỉnh được: {', '.join(unknown)}.")
        merged = {key: getattr(self, key) for key in self.AMENDABLE} | dict(changes)
        check_plan(
            merged
            | {
                "participants": self.participants,
                "kind": self.kind,
                "period_start": self.period_start,
                "period_end": self.period_end,
            }
        )
        changed = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if not changed:
            raise CampaignInvalid("Không có gì thay đổi.")
        self._amended(changes=changed, reason=reason)

    @event("CampaignAmended")
    def _amended(self, changes: dict[str, Any], reason: str) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def amend_target(self, code: str, target: int, reason: str) -> None:
        self._check_open()
        if self.status == DRAFT:
            raise NotLaunched("Bản nháp được sửa trực tiếp, chưa cần điều chỉnh.")
        if not reason:
            raise ReasonRequired()
        indicator = self.indicator(code)
        check_target(indicator["measure"], target)
        self._target_amended(code=code, target=target, reason=reason)

    @event("IndicatorTargetAmended")
    def _target_amended(self, code: str, target: int, reason: str) -> None:
        self.indicators[code] = self.indicators[code] | {"target": target}

    def review_phase(self, number: int, report: str, figures: Mapping[str, int], on: date) -> None:
        self._check_open()
        if self.status == DRAFT:
            raise NotLaunched()
        phase = self.phase(number)
        if number in self.reviewed:
            raise PhaseAlreadyReviewed(f"Đợt {number}.")
        _text(report, "Báo cáo sơ kết")
        check_figures(figures)
        self._phase_reviewed(
            number=number,
            report=report,
            figures=dict(figures),
            reviewed_on=on,
            late=self.report_late(phase["ends"], on),
        )

    @event("PhaseReviewed")
    def _phase_reviewed(
        self, number: int, report: str, figures: dict[str, int], reviewed_on: date, late: bool
    ) -> None:
        self.reviewed = sorted({*self.reviewed, number})

    def conclude(self, report: str, figures: Mapping[str, int], on: date) -> None:
        self._check_open()
        if self.status == DRAFT:
            raise NotLaunched()
        _text(report, "Báo cáo tổng kết")
        check_figures(figures)
        self._concluded(
            report=report,
            figures=dict(figures),
            concluded_on=on,
            late=self.report_late(self.period_end, on),
        )

    @event("CampaignConcluded")
    def _concluded(self, report: str, figures: dict[str, int], concluded_on: date, late: bool):
        self.status = CONCLUDED

    # --- what others need to know ---------------------------------------------------------

    def phase(self, number: int) -> dict[str, Any]:
        for phase in self.phases:
            if phase["number"] == number:
                return phase
        raise UnknownPhase(f"Đợt {number}.")

    def indicator(self, code: str) -> dict[str, Any]:
        if code not in self.indicators:
            raise UnknownIndicator(code, indicator=code)
        return self.indicators[code]

    def report_late(self, ended: date, on: date) -> bool:
        return self.report_days is not None and (on - ended).days > self.report_days

    def _check_draft(self) -> None:
        if self.status != DRAFT:
            raise CampaignFrozen()

    def _check_open(self) -> None:
        if self.status == CONCLUDED:
            raise CampaignConcludedError()


def check_plan(plan: Mapping[str, Any]) -> None:
    _text(plan["name"], "Tên phong trào", limit=500)
    _text(plan["theme"], "Chủ đề", required=False)
    _text(plan["objectives"], "Mục đích, yêu cầu", required=False)
    _text(plan["scope"], "Phạm vi", required=False)
    _texts(plan["contents"], "Nội dung thi đua")
    _texts(plan["measures"], "Biện pháp")
    if plan["participants"] not in PARTICIPANTS:
        raise CampaignInvalid(f"Đối tượng tham gia: {', '.join(PARTICIPANTS)}.")
    if plan["kind"] not in KINDS:
        raise CampaignInvalid(f"Loại phong trào: {', '.join(KINDS)}.")
    check_dates(plan["period_start"], plan["period_end"])
    due = plan["registration_due"]
    if due is not None and not plan["period_start"] <= due <= plan["period_end"]:
        raise DatesOutOfOrder("Hạn đăng ký phải nằm trong thời gian của phong trào.")
    days = plan["report_days"]
    if days is not None and (type(days) is not int or not 0 <= days <= 366):
        raise CampaignInvalid("Số ngày nộp báo cáo sau mỗi đợt phải từ 0 đến 366.")
    minimum = plan["min_contents"]
    if type(minimum) is not int or not 0 <= minimum <= MAX_ITEMS:
        raise CampaignInvalid("Số nội dung tối thiểu phải từ 0 đến 200.")


def check_indicator(
    code: str,
    name: str,
    measure: str,
    target: int,
    source: str,
    computed_from: list[str],
    scope: str,
    category: str | None,
) -> None:
    if not code or len(code) > 40 or not code.replace("-", "").replace("_", "").isalnum():
        raise IndicatorInvalid("Mã chỉ tiêu: 1–40 chữ, số, '-' hoặc '_'.")
    _text(name, "Tên chỉ tiêu", limit=1_000)
    if measure not in MEASURES:
        raise IndicatorInvalid(f"Đơn vị đo: {', '.join(MEASURES)}.")
    check_target(measure, target)
    if source not in SOURCES:
        raise IndicatorInvalid(f"Cách lấy số thực hiện: {', '.join(SOURCES)}.")
    if (source == "computed") != bool(computed_from):
        raise IndicatorInvalid("Chỉ tiêu tính từ sự kiện phải nêu tên các sự kiện, và chỉ khi đó.")
    if source == "computed":
        check_computed(measure, computed_from)
    if scope not in SCOPES:
        raise IndicatorInvalid(f"Phạm vi: {', '.join(SCOPES)}.")
    if category is not None and category not in CATEGORIES:
        raise IndicatorInvalid(f"Nhóm chỉ tiêu: {', '.join(CATEGORIES)}.")


def check_computed(measure: str, computed_from: list[str]) -> None:
    unknown = sorted(set(computed_from) - set(COMPUTABLE))
    if unknown:
        raise IndicatorInvalid(
            f"Không tính được từ {', '.join(unknown)}; tính được từ: {', '.join(COMPUTABLE)}.",
            computable=list(COMPUTABLE),
        )
    if measure == "percent":
        raise IndicatorInvalid("Chỉ tiêu phần trăm do đơn vị báo cáo, không tính từ sự kiện.")
    if measure == "vnd" and not set(computed_from) <= MONEY_FACTS:
        raise IndicatorInvalid(f"Chỉ tiêu tiền chỉ tính được từ {', '.join(sorted(MONEY_FACTS))}.")


def check_figures(figures: Mapping[str, int]) -> None:
    if len(figures) > MAX_ITEMS:
        raise CampaignInvalid(f"Tối đa {MAX_ITEMS} số liệu.")
    for key, value in figures.items():
        _text(key, "Tên số liệu", limit=200)
        if type(value) is not int or abs(value) > 10**15:
            raise CampaignInvalid(f"Số liệu {key!r} phải là số nguyên.")


@dataclass(frozen=True, slots=True)
class CampaignFacts:
    """What a registering or reporting unit needs to know of a launched campaign."""

    campaign_id: uuid.UUID
    unit_id: str
    status: str
    registration_due: date | None
    report_days: int | None
    min_contents: int
    indicators: Mapping[str, str]  # code → measure
    phases: Mapping[int, date]  # number → last day
    contents: tuple[str, ...]  # the contents a registering unit picks from
    # The campaign stream's version these facts show: a decision on them is appended only if
    # the campaign is still there (a guard), so a conclusion cannot slip in between.
    version: int = 0

    def check_open(self) -> None:
        if self.status == DRAFT:
            raise NotLaunched()
        if self.status == CONCLUDED:
            raise CampaignConcludedError()

    def check_targets(self, targets: Mapping[str, int]) -> None:
        for code, target in targets.items():
            if code not in self.indicators:
                raise UnknownIndicator(code, indicator=code)
            check_target(self.indicators[code], target)


class Registration(Aggregate):
    """A unit's đăng ký thi đua with the level that launched a campaign: its plan, the contents
    it picked from the campaign's, the contents it built itself (``own_contents``: seeds 003 and
    004 ask each unit to build and pick distinctive contents of its own), its own targets. Both
    kinds count towards the campaign's minimum; each stays marked as what it is."""

    own_contents = ()  # what a snapshot taken before own contents existed reads

    @staticmethod
    def create_id(campaign_id: uuid.UUID, unit_id: str, **_: Any) -> uuid.UUID:
        return registration_id(campaign_id, unit_id)

    @event("RegistrationSubmitted")
    def __init__(
        self,
        campaign_id: uuid.UUID,
        unit_id: str,
        campaign_unit: str,
        plan: str,
        contents: list[str],
        own_contents: list[str],
        targets: dict[str, int],
        registered_on: date,
        late: bool,
    ) -> None:
        self.campaign_id = campaign_id
        self.unit_id = unit_id
        self.campaign_unit = campaign_unit
        self.plan = plan
        self.contents = list(contents)
        self.own_contents = list(own_contents)
        self.targets = dict(targets)
        self.registered_on = registered_on
        self.late = late
        self.status = REGISTERED

    @classmethod
    def submit(
        cls,
        campaign: CampaignFacts,
        *,
        unit_id: str,
        plan: str,
        contents: list[str],
        own_contents: list[str] | None = None,
        targets: dict[str, int],
        on: date,
        late: bool,
    ) -> Registration:
        campaign.check_open()
        own_contents = list(own_contents or [])
        _check_registration(campaign, plan, contents, own_contents, targets)
        overdue = campaign.registration_due is not None and on > campaign.registration_due
        if overdue and not late:
            raise RegistrationLate(f"Hạn {campaign.registration_due.isoformat()}.")
        return cls(
            campaign_id=campaign.campaign_id,
            unit_id=unit_id,
            campaign_unit=campaign.unit_id,
            plan=plan,
            contents=contents,
            own_contents=own_contents,
            targets=targets,
            registered_on=on,
            late=overdue,
        )

    def amend(
        self,
        campaign: CampaignFacts,
        *,
        plan: str,
        contents: list[str],
        own_contents: list[str] | None = None,
        targets: dict[str, int],
        reason: str,
    ) -> None:
        campaign.check_open()
        if self.status == WITHDRAWN:
            raise RegistrationWithdrawnError()
        if not reason:
            raise ReasonRequired()
        own_contents = list(own_contents or [])
        _check_registration(campaign, plan, contents, own_contents, targets)
        self._amended(
            campaign_id=self.campaign_id,
            plan=plan,
            contents=contents,
            own_contents=own_contents,
            targets=targets,
            reason=reason,
        )

    @event("RegistrationAmended")
    def _amended(
        self,
        campaign_id: uuid.UUID,
        plan: str,
        contents: list[str],
        own_contents: list[str],
        targets: dict[str, int],
        reason: str,
    ) -> None:
        self.plan, self.contents, self.targets = plan, list(contents), dict(targets)
        self.own_contents = list(own_contents)

    def withdraw(self, reason: str) -> None:
        if self.status == WITHDRAWN:
            raise RegistrationWithdrawnError()
        if not reason:
            raise ReasonRequired()
        self._withdrawn(campaign_id=self.campaign_id, reason=reason)

    @event("RegistrationWithdrawn")
    def _withdrawn(self, campaign_id: uuid.UUID, reason: str) -> None:
        self.status = WITHDRAWN


def _check_registration(
    campaign: CampaignFacts,
    plan: str,
    contents: list[str],
    own_contents: list[str],
    targets: Mapping[str, int],
) -> None:
    _text(plan, "Kế hoạch thực hiện", required=False)
    _texts(contents, "Nội dung đăng ký")
    _texts(own_contents, "Nội dung riêng của đơn vị")
    every = [*contents, *own_contents]
    if len(set(every)) != len(every):
        raise CampaignInvalid("Một nội dung được đăng ký hai lần.")
    check_picked(campaign, contents, own_contents)
    if len(every) < campaign.min_contents:
        raise TooFewContents(
            f"{len(every)} < {campaign.min_contents}.",
            minimum=campaign.min_contents,
            given=len(every),
        )
    campaign.check_targets(targets)


def check_picked(campaign: CampaignFacts, contents: list[str], own_contents: list[str]) -> None:
    """Picked contents come from the campaign's list; a unit's own are not copies of it (a
    campaign's content registered as one's own would be counted as the unit's invention)."""
    offered = set(campaign.contents)
    for content in contents:
        if content not in offered:
            raise ContentUnknown(repr(content[:200]), content=content[:200])
    for content in own_contents:
        if content in offered:
            raise CampaignInvalid(
                f"{content[:200]!r} là nội dung của phong trào: hãy chọn ở contents.",
                content=content[:200],
            )


def with_own_contents(data: dict[str, Any]) -> dict[str, Any]:
    """Upcaster of RegistrationSubmitted and RegistrationAmended v1, which knew no contents of a
    unit's own: all stood in ``contents`` (unchecked against the campaign's then)."""
    data.setdefault("own_contents", [])
    return data


class Progress(Aggregate):
    """What one unit reports of a campaign's indicators for one phase. A later report corrects
    an earlier one: both stay in the log, the latest counts."""

    @staticmethod
    def create_id(campaign_id: uuid.UUID, unit_id: str, phase: int, **_: Any) -> uuid.UUID:
        return progress_id(campaign_id, unit_id, phase)

    @event("ProgressOpened")
    def __init__(self, campaign_id: uuid.UUID, unit_id: str, phase: int, campaign_unit: str):
        self.campaign_id = campaign_id
        self.unit_id = unit_id
        self.phase = phase
        self.campaign_unit = campaign_unit

    def report(
        self, campaign: CampaignFacts, actuals: Mapping[str, int], note: str, on: date
    ) -> None:
        campaign.check_open()
        if self.phase not in campaign.phases:
            raise UnknownPhase(f"Đợt {self.phase}.")
        if not actuals:
            raise CampaignInvalid("Báo cáo cần ít nhất một số liệu chỉ tiêu.")
        for code, value in actuals.items():
            if code not in campaign.indicators:
                raise UnknownIndicator(code, indicator=code)
            check_actual(code, campaign.indicators[code], value)
        _text(note, "Ghi chú", required=False)
        ended = campaign.phases[self.phase]
        late = campaign.report_days is not None and (on - ended).days > campaign.report_days
        self._reported(
            campaign_id=self.campaign_id,
            campaign_unit=self.campaign_unit,
            phase=self.phase,
            actuals=dict(actuals),
            note=note,
            reported_on=on,
            late=late,
        )

    @event("ProgressReported")
    def _reported(
        self,
        campaign_id: uuid.UUID,
        campaign_unit: str,
        phase: int,
        actuals: dict[str, int],
        note: str,
        reported_on: date,
        late: bool,
    ) -> None:
        self.actuals = dict(actuals)
        self.late = late


# --- pledges, works and initiatives -----------------------------------------------------------


class PledgeInvalid(DomainError):
    code = "PLEDGE_INVALID"
    message_vi = "Giao ước thi đua không hợp lệ."


class TitleUnknown(DomainError):
    code = "TITLE_UNKNOWN"
    message_vi = "Không có danh hiệu thi đua này."


class TitleNotForSubject(DomainError):
    code = "TITLE_SUBJECT_MISMATCH"
    message_vi = "Danh hiệu này không dành cho đối tượng đã chọn (cá nhân hay tập thể)."


class PledgeWithdrawnError(DomainError):
    code = "PLEDGE_WITHDRAWN"
    message_vi = "Giao ước đã rút."


class WorkInvalid(DomainError):
    code = "WORK_INVALID"
    message_vi = "Công trình, sản phẩm không hợp lệ."


class WorkWithdrawnError(DomainError):
    code = "WORK_WITHDRAWN"
    message_vi = "Công trình, sản phẩm đã rút đăng ký."


class InitiativeInvalid(DomainError):
    code = "INITIATIVE_INVALID"
    message_vi = "Sáng kiến không hợp lệ."


class InitiativeAlreadyRecognised(DomainError):
    code = "INITIATIVE_ALREADY_RECOGNISED"
    message_vi = "Sáng kiến đã được công nhận; muốn sửa thì điều chỉnh có lý do."


class InitiativeNotRecognised(DomainError):
    code = "INITIATIVE_NOT_RECOGNISED"
    message_vi = "Sáng kiến chưa được công nhận."


class InitiativeWithdrawnError(DomainError):
    code = "INITIATIVE_WITHDRAWN"
    message_vi = "Sáng kiến đã rút."


WORK_KINDS = ("work", "product")
MAX_VND = 10**15


MAX_REF = 64  # a staff number, as the people register bounds it (services/awards)


def pledge_key(subject: str, name: str, ref: str, person_id: uuid.UUID | None = None) -> str:
    """Who pledges, as the log tells one pledger from another: the unit's own reference (a staff
    or member number) when given; else the person the name belongs to (``person_id``, since
    names are sealed: an id that followed from a person's name would let a list of names be
    tested against it once they are erased); else the name as written (cleaned, any case), as
    a collective's, and a person's before names were sealed."""
    if ref:
        return f"{subject}:ref:{ref.casefold()}"
    if person_id is not None:
        return f"{subject}:person:{person_id}"
    return f"{subject}:name:{name.casefold()}"


def pledge_id(
    campaign_id: uuid.UUID,
    unit_id: str,
    subject: str,
    name: str,
    ref: str,
    title: str,
    person_id: uuid.UUID | None = None,
) -> uuid.UUID:
    key = pledge_key(subject, name, ref, person_id)
    return name_uuid(CAMPAIGN_NAMESPACE, f"pledge:{campaign_id}:{unit_id}:{key}:{title}")


def check_pledge(subject: str, name: str, ref: str, title: str) -> None:
    """A pledge's own fields; the command layer has already turned words into codes."""
    if subject not in SUBJECTS:
        raise PledgeInvalid("Đối tượng phải là cá nhân hoặc tập thể.", field="subject")
    if not name:
        raise PledgeInvalid("Họ tên (tên tập thể) không được để trống.", field="name")
    if len(name) > 300:
        raise PledgeInvalid("Họ tên dài quá 300 ký tự.", field="name")
    for field, text in (("name", name), ("ref", ref)):
        if has_control(text):
            raise PledgeInvalid("Có ký tự điều khiển (không in được).", field=field)
    if len(ref) > MAX_REF:
        raise PledgeInvalid(f"Mã người lao động dài quá {MAX_REF} ký tự.", field="ref")
    if title not in TITLES:
        raise TitleUnknown(title[:100], field="title")
    if TITLES[title].subject != subject:
        raise TitleNotForSubject(TITLES[title].name, field="title")


@dataclass(frozen=True, slots=True)
class SealedName:
    """A person's name as an event holds it: sealed with the key of the person it names
    (shared/personal.py), so that erasing that person erases it here too."""

    person_id: uuid.UUID
    key_id: uuid.UUID
    sealed: str

    def as_data(self) -> dict[str, str]:
        return {"person_id": str(self.person_id), "key_id": str(self.key_id), "sealed": self.sealed}


def with_sealed_name(data: dict[str, Any]) -> dict[str, Any]:
    """Upcaster of PledgeRegistered v1, which held every name in plain text (before issue 14's
    point 2): such a name stays as it was written, readable, never erased."""
    data.setdefault("person_id", None)
    data.setdefault("key_id", None)
    data.setdefault("sealed", "")
    return data


def with_sealed_authors(data: dict[str, Any]) -> dict[str, Any]:
    """Upcaster of InitiativeRegistered v1, whose authors were plain names: each becomes
    ``{"name": …}``, beside the sealed ones (``SealedName.as_data``) that v2 writes."""
    data["authors"] = [{"name": a} if isinstance(a, str) else a for a in data["authors"]]
    return data


class Pledge(Aggregate):
    """A giao ước thi đua: a person or a collective of the unit registers, in a campaign, to
    strive for a title. The unit's officer records it; ids follow from who and what, so the same
    pledge recorded twice is one pledge."""

    @event("PledgeRegistered")
    def __init__(
        self,
        campaign_id: uuid.UUID,
        campaign_unit: str,
        unit_id: str,
        subject: str,
        name: str,
        person_id: uuid.UUID | None,
        key_id: uuid.UUID | None,
        sealed: str,
        ref: str,
        title: str,
        registered_on: date,
        late: bool,
    ) -> None:
        self.campaign_id = campaign_id
        self.unit_id = unit_id
        self.title = title
        self.status = REGISTERED

    @classmethod
    def register(
        cls,
        campaign: CampaignFacts,
        *,
        unit_id: str,
        subject: str,
        name: str,
        ref: str,
        title: str,
        on: date,
        sealed: SealedName | None,
    ) -> Pledge:
        """``sealed``: a person's ``name`` as the command sealed it with their key; the event
        holds only that. A collective's name is not personal data: it stays plain."""
        campaign.check_open()
        check_pledge(subject, name, ref, title)
        if (subject == PERSON) != (sealed is not None):
            raise ValueError("a person's name is sealed, a collective's is not")
        return cls._create(
            cls.PledgeRegistered,
            # From the name as written, which the event holds sealed only.
            id=pledge_id(
                campaign.campaign_id,
                unit_id,
                subject,
                name,
                ref,
                title,
                sealed.person_id if sealed else None,
            ),
            campaign_id=campaign.campaign_id,
            campaign_unit=campaign.unit_id,
            unit_id=unit_id,
            subject=subject,
            name="" if sealed else name,
            person_id=sealed.person_id if sealed else None,
            key_id=sealed.key_id if sealed else None,
            sealed=sealed.sealed if sealed else "",
            ref=ref,
            title=title,
            registered_on=on,
            late=campaign.registration_due is not None and on > campaign.registration_due,
        )

    def withdraw(self, reason: str) -> None:
        if self.status == WITHDRAWN:
            raise PledgeWithdrawnError()
        if not reason:
            raise ReasonRequired()
        self._withdrawn(campaign_id=self.campaign_id, reason=reason)

    @event("PledgeWithdrawn")
    def _withdrawn(self, campaign_id: uuid.UUID, reason: str) -> None:
        self.status = WITHDRAWN


def _money(value: int | None, what: str, error: type[DomainError]) -> None:
    if value is not None and (type(value) is not int or not 0 <= value <= MAX_VND):
        raise error(f"{what} phải là số đồng không âm.", field=what)


def check_work(work: Mapping[str, Any]) -> None:
    if not work["name"] or len(work["name"]) > 500:
        raise WorkInvalid("Tên công trình, sản phẩm: 1–500 ký tự.", field="name")
    if work["kind"] not in WORK_KINDS:
        raise WorkInvalid("Loại: work (công trình) hoặc product (sản phẩm).", field="kind")
    for field in ("description", "location"):
        if len(work[field]) > 5_000:
            raise WorkInvalid(f"{field} dài quá 5000 ký tự.", field=field)
    _money(work["value_vnd"], "value_vnd", WorkInvalid)


class Work(Aggregate):
    """A work or product (công trình, sản phẩm chào mừng) a unit registers in a campaign's
    honour, to be plaqued (gắn biển)."""

    AMENDABLE = ("name", "kind", "description", "location", "value_vnd", "completion_due")

    @event("WorkRegistered")
    def __init__(
        self,
        campaign_id: uuid.UUID,
        campaign_unit: str,
        unit_id: str,
        name: str,
        kind: str,
        description: str,
        location: str,
        value_vnd: int | None,
        completion_due: date | None,
        registered_on: date,
    ) -> None:
        self.campaign_id = campaign_id
        self.unit_id = unit_id
        self.fields = {
            "name": name,
            "kind": kind,
            "description": description,
            "location": location,
            "value_vnd": value_vnd,
            "completion_due": completion_due,
        }
        self.status = REGISTERED

    @classmethod
    def register(cls, campaign: CampaignFacts, *, unit_id: str, on: date, **work: Any) -> Work:
        campaign.check_open()
        check_work(work)
        return cls(
            campaign_id=campaign.campaign_id,
            campaign_unit=campaign.unit_id,
            unit_id=unit_id,
            registered_on=on,
            **work,
        )

    def amend(self, changes: Mapping[str, Any], reason: str) -> None:
        if self.status == WITHDRAWN:
            raise WorkWithdrawnError()
        if not reason:
            raise ReasonRequired()
        unknown = sorted(set(changes) - set(self.AMENDABLE))
        if unknown:
            raise WorkInvalid(f"Không điều chỉnh được: {', '.join(unknown)}.")
        check_work(self.fields | dict(changes))
        changed = {k: v for k, v in changes.items() if self.fields[k] != v}
        if not changed:
            raise WorkInvalid("Không có gì thay đổi.")
        self._amended(campaign_id=self.campaign_id, changes=changed, reason=reason)

    @event("WorkAmended")
    def _amended(self, campaign_id: uuid.UUID, changes: dict[str, Any], reason: str) -> None:
        self.fields = self.fields | changes

    def withdraw(self, reason: str) -> None:
        if self.status == WITHDRAWN:
            raise WorkWithdrawnError()
        if not reason:
            raise ReasonRequired()
        self._withdrawn(campaign_id=self.campaign_id, reason=reason)

    @event("WorkWithdrawn")
    def _withdrawn(self, campaign_id: uuid.UUID, reason: str) -> None:
        self.status = WITHDRAWN


def check_initiative(title: str, authors: Sequence[str], field: str, description: str) -> None:
    if not title or len(title) > 500:
        raise InitiativeInvalid("Tên sáng kiến: 1–500 ký tự.", field="title")
    if not authors or len(authors) > 50 or any(not a or len(a) > 300 for a in authors):
        raise InitiativeInvalid("Sáng kiến cần 1–50 tác giả, mỗi tên 1–300 ký tự.", field="authors")
    if any(has_control(a) for a in authors):
        raise InitiativeInvalid("Tên tác giả có ký tự điều khiển (không in được).", field="authors")
    if len(field) > 500 or len(description) > MAX_TEXT:
        raise InitiativeInvalid("Lĩnh vực hoặc mô tả quá dài.", field="description")


def check_recognition(benefit_vnd: int, applied_at: Sequence[str], decision: str) -> None:
    _money(benefit_vnd, "benefit_vnd", InitiativeInvalid)
    if benefit_vnd is None:
        raise InitiativeInvalid("Cần giá trị làm lợi (đồng; 0 nếu không tính được).")
    if len(applied_at) > MAX_ITEMS or any(not p or len(p) > 500 for p in applied_at):
        raise InitiativeInvalid("Nơi áp dụng: tối đa 200 nơi, mỗi nơi 1–500 ký tự.")
    if len(decision) > 500:
        raise InitiativeInvalid("Số quyết định công nhận dài quá 500 ký tự.", field="decision")


class Initiative(Aggregate):
    """A sáng kiến: registered by its unit (in a campaign, or on its own), then recognised with
    the money it saves or earns (giá trị làm lợi) and the places it is applied."""

    @event("InitiativeRegistered")
    def __init__(
        self,
        unit_id: str,
        campaign_id: uuid.UUID | None,
        campaign_unit: str | None,
        title: str,
        authors: list[dict[str, str]],
        field: str,
        description: str,
        registered_on: date,
    ) -> None:
        self.unit_id = unit_id
        self.campaign_id = campaign_id
        self.registered_on = registered_on
        self.status = REGISTERED
        self.recognised = False

    @classmethod
    def register(
        cls,
        campaign: CampaignFacts | None,
        *,
        unit_id: str,
        title: str,
        authors: list[str],
        field: str,
        description: str,
        on: date,
        sealed: Sequence[SealedName],
    ) -> Initiative:
        """``sealed``: each of ``authors`` as the command sealed it with their key; the event
        holds only those."""
        if campaign is not None:
            campaign.check_open()
        check_initiative(title, authors, field, description)
        if len(sealed) != len(authors):
            raise ValueError("every author's name is sealed")
        return cls(
            unit_id=unit_id,
            campaign_id=campaign.campaign_id if campaign else None,
            campaign_unit=campaign.unit_id if campaign else None,
            title=title,
            authors=[s.as_data() for s in sealed],
            field=field,
            description=description,
            registered_on=on,
        )

    def recognise(
        self, *, benefit_vnd: int, applied_at: list[str], decision: str, on: date
    ) -> None:
        self._check_live()
        if self.recognised:
            raise InitiativeAlreadyRecognised()
        check_recognition(benefit_vnd, applied_at, decision)
        check_dates(self.registered_on, on)
        self._recognised(
            campaign_id=self.campaign_id,
            benefit_vnd=benefit_vnd,
            applied_at=list(applied_at),
            decision=decision,
            recognised_on=on,
        )

    @event("InitiativeRecognised")
    def _recognised(
        self,
        campaign_id: uuid.UUID | None,
        benefit_vnd: int,
        applied_at: list[str],
        decision: str,
        recognised_on: date,
    ) -> None:
        self.recognised = True

    def amend_recognition(self, *, benefit_vnd: int, applied_at: list[str], reason: str) -> None:
        self._check_live()
        if not self.recognised:
            raise InitiativeNotRecognised()
        if not reason:
            raise ReasonRequired()
        check_recognition(benefit_vnd, applied_at, "")
        self._recognition_amended(
            campaign_id=self.campaign_id,
            benefit_vnd=benefit_vnd,
            applied_at=list(applied_at),
            reason=reason,
        )

    @event("InitiativeRecognitionAmended")
    def _recognition_amended(
        self, campaign_id: uuid.UUID | None, benefit_vnd: int, applied_at: list[str], reason: str
    ) -> None:
        pass  # the read model keeps the figures; the aggregate's rules need none of them

    def withdraw(self, reason: str) -> None:
        self._check_live()
        if not reason:
            raise ReasonRequired()
        self._withdrawn(campaign_id=self.campaign_id, reason=reason)

    @event("InitiativeWithdrawn")
    def _withdrawn(self, campaign_id: uuid.UUID | None, reason: str) -> None:
        self.status = WITHDRAWN

    def _check_live(self) -> None:
        if self.status == WITHDRAWN:
            raise InitiativeWithdrawnError()


CAMPAIGN_EVENTS = (
    Campaign.CampaignCreated,
    Campaign.PhaseAdded,
    Campaign.IndicatorAdded,
    Campaign.CampaignLaunched,
    Campaign.CampaignAmended,
    Campaign.IndicatorTargetAmended,
    Campaign.PhaseReviewed,
    Campaign.CampaignConcluded,
)
REGISTRATION_EVENTS = (
    Registration.RegistrationSubmitted,
    Registration.RegistrationAmended,
    Registration.RegistrationWithdrawn,
)
PROGRESS_EVENTS = (Progress.ProgressOpened, Progress.ProgressReported)
PLEDGE_EVENTS = (Pledge.PledgeRegistered, Pledge.PledgeWithdrawn)
WORK_EVENTS = (Work.WorkRegistered, Work.WorkAmended, Work.WorkWithdrawn)
INITIATIVE_EVENTS = (
    Initiative.InitiativeRegistered,
    Initiative.InitiativeRecognised,
    Initiative.InitiativeRecognitionAmended,
    Initiative.InitiativeWithdrawn,
)
