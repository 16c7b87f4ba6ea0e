"""The rules of commendation as data (issue 14, points 4, 5 and 7 of DOMAIN.md's rules): the
rule sets of ``data/rules.toml`` with their versions, dates and sources; the base salary's
shipped values (``data/base_salary.toml``); the cash an award carries.

A check asks for the set in force on its day (:func:`rule_set_on`) and refuses with
:meth:`RuleSet.broken`, which names the rule, the set's version and its source. Pure: the values
an admin added later (a new base salary) come in as arguments.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any

from shared.catalogue import LEVELS, by_code
from shared.errors import DomainError


class RuleBroken(DomainError):
    """A rule said no: ``rule`` (its code), ``version`` (of the set in force) and ``source``
    are in the error's context, and in a GraphQL error's extensions."""

    code = "RULE_BROKEN"
    message_vi = "Không đúng quy định khen thưởng."
    public_context = ("rule", "version", "source")


class NoRuleSet(DomainError):
    code = "NO_RULE_SET"
    message_vi = "Chưa có bộ quy định khen thưởng cho ngày này."


class NoBaseSalary(DomainError):
    code = "NO_BASE_SALARY"
    message_vi = "Chưa có mức lương cơ sở cho ngày này."


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    message: str
    source: str
    numbers: Mapping[str, int | float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: str
    name: str
    effective_from: date
    source: str
    rules: Mapping[str, Rule]
    effective_to: date | None = None

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on < self.effective_to)

    def number(self, rule: str, name: str) -> int | float:
        return self.rules[rule].numbers[name]

    def broken(self, rule: str, detail: str = "") -> RuleBroken:
        """The refusal of ``rule`` under this set: its message, then ``detail``."""
        found = self.rules[rule]
        error = RuleBroken(
            f"{found.message} {detail}".strip(),
            rule=rule,
            version=self.version,
            source=found.source,
        )
        return error


@dataclass(frozen=True, slots=True)
class BaseSalary:
    amount_vnd: int
    effective_from: date
    source: str


@cache
def national_codes() -> frozenset[str]:
    """Every code of every rule set: a federation's own rule may not take one (a finding or a
    verdict naming it would read as the national rule)."""
    return frozenset(code.upper() for rules in rule_sets() for code in rules.rules)


@cache
def rule_sets() -> tuple[RuleSet, ...]:
    raw = tomllib.loads(files("services.awards").joinpath("data/rules.toml").read_text("utf-8"))
    given = {s["version"]: s for s in raw["rule_set"]}
    sets = [_rule_set(s, given) for s in raw["rule_set"]]
    return tuple(sorted(sets, key=lambda s: s.effective_from))


def _rule_set(s: dict[str, Any], given: Mapping[str, dict[str, Any]]) -> RuleSet:
    own = s.get("rule", [])
    if "inherit" in s:  # the same rules under another act: each cites this set's source
        own = [{**r, "source": s["source"]} for r in given[s["inherit"]]["rule"]]
    rules = {
        r["code"]: Rule(r["code"], r["message"], r["source"], MappingProxyType(dict(r["numbers"])))
        for r in own
    }
    return RuleSet(
        version=s["version"],
        name=s["name"],
        effective_from=s["effective_from"],
        effective_to=s.get("effective_to"),
        source=s["source"],
        rules=MappingProxyType(rules),
    )


def rule_set_on(on: date) -> RuleSet:
    for found in rule_sets():
        if found.in_force(on):
            return found
    raise NoRuleSet(on.isoformat(), on=on.isoformat())


@cache
def shipped_base_salaries() -> tuple[BaseSalary, ...]:
    raw = tomllib.loads(
        files("services.awards").joinpath("data/base_salary.toml").read_text("utf-8")
    )
    return tuple(
        sorted(
            (BaseSalary(v["amount_vnd"], v["effective_from"], v["source"]) for v in raw["value"]),
            key=lambda v: v.effective_from,
        )
    )


def base_salary_on(on: date, added: Iterable[BaseSalary] = ()) -> BaseSalary:
    """The base salary in force on ``on``: the latest value that began by then, of the shipped
    ones and those an admin ``added``."""
    known = [v for v in (*shipped_base_salaries(), *added) if v.effective_from <= on]
    if not known:
        raise NoBaseSalary(on.isoformat(), on=on.isoformat())
    return max(known, key=lambda v: v.effective_from)


def cash_vnd(multiple: float, base: BaseSalary, rule_set: RuleSet) -> int:
    """Multiple × base salary, rounded up as rule CASH says (to tens of thousands of đồng)."""
    step = int(rule_set.number("CASH", "round_up_to_vnd"))
    # Exact in integers: a multiple is given to hundredths (0.15, 4.5).
    raw = round(multiple * 100) * base.amount_vnd
    return math.ceil(raw / (100 * step)) * step


# --- the rules on a nominee ---------------------------------------------------------------------

CSTDCS = "chien_si_thi_dua_co_so"
LDTT = "lao_dong_tien_tien"
BANG_KHEN = frozenset({"bang_khen_ldld", "bang_khen_tld"})
LDST = "bang_lao_dong_sang_tao"
SERVICE_MEDAL = "ky_niem_chuong_cong_doan"
THEMATIC_CAPPED = "bang_khen_tld"


@dataclass(frozen=True, slots=True)
class PersonFacts:
    direct_worker: bool
    cadre: str  # none, full_time, part_time
    cadre_since: date | None
    employed_since: date | None = None
    # In the nominee's year (rule 10): working days away, maternity leave not counted, and the
    # forms of discipline taken.
    absent_working_days: int = 0
    disciplined: tuple[str, ...] = ()
    # The titles the person pledged (a pledge naming them) in a campaign that year: a
    # federation's exclusion with ``registered`` 1 refuses a title not pledged.
    pledged: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class LocalRuleFacts:
    """A federation's own rule in force for the proposer (its own, or an ancestor's): an
    exclusion tightens rule 10's numbers (``absent_working_days``, ``employed_months``) or asks
    that a title was pledged that year (``registered`` 1), a quota rule 3's (``quota_percent``).
    A refusal under it names it, not the national rule."""

    unit_id: str
    code: str
    kind: str  # exclusion, quota
    message: str
    source: str
    numbers: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class AwardedFacts:
    """An award the register holds for the nominee: rule 2 looks at its year, kind and the
    level that decided it."""

    award: str
    year: int
    kind: str
    level: str


@dataclass(frozen=True, slots=True)
class QuotaFacts:
    """Rule 3's count for the proposer's unit and those below it, in the nominee's year: the
    holders of Lao động tiên tiến (decided, or nominated in this proposal) and the Chiến sĩ thi
    đua cơ sở already decided or nominated."""

    holders: int
    taken: int


@dataclass(frozen=True, slots=True)
class InitiativeFacts:
    recognised_on: date | None
    benefit_vnd: int
    # The nominee is among its authors (matched by their key); a collective's, and one whose
    # authors were written before names were sealed (no keys to match), count as before.
    authored: bool = True


@dataclass(frozen=True, slots=True)
class NomineeFacts:
    """What the command read for one nominee: the proposal's own facts, the person's, the
    initiatives its basis names (those the proposer may read), and who is already proposed."""

    award: str
    subject: str
    who: str
    kind: str
    year: int
    ancestor_levels: tuple[str, ...]
    state: bool
    deciders: tuple[str, ...]
    earlier_titles: tuple[tuple[str, int], ...] = ()
    initiatives: tuple[InitiativeFacts, ...] = ()
    person: PersonFacts | None = None
    already: tuple[tuple[str, str], ...] = ()  # (who, award) of the nominee's own, already there
    capped: int = 0  # TLĐ thematic Bằng khen already in the proposal (rule 6's count per unit)
    awarded: tuple[AwardedFacts, ...] = ()
    local: tuple[LocalRuleFacts, ...] = ()
    quota: QuotaFacts | None = None


def findings(rules: RuleSet, facts: NomineeFacts) -> list[dict[str, str]]:
    """Every rule of ``rules`` that finds fault with the nominee, as the nominee will show it:
    the rule's code, the set's version, the rule's source and its message with the detail."""
    found: list[RuleBroken] = []
    f = facts
    if not f.state and not set(f.deciders) & set(f.ancestor_levels):
        found.append(rules.broken("COMPETENCE", "(cấp này tự quyết định, không đề nghị lên)"))
    # At most one form, and one title, for the same subject in one proposal: a title (danh hiệu)
    # beside a form (hình thức) is not the same achievement twice.
    kind = _kind(f.award)
    if any(who == f.who and _kind(award) == kind for who, award in f.already):
        found.append(rules.broken("ONE_ACHIEVEMENT_ONE_AWARD", "(đã có trong đề nghị)"))
    # Only the nominee's own initiatives count towards a title that needs them.
    recognised = [i for i in f.initiatives if i.recognised_on is not None and i.authored]
    foreign = _foreign(f)
    titles = set(f.earlier_titles)
    found += _comprehensive_or_thematic(rules, f)
    if f.award == CSTDCS:
        needed = int(rules.number("CSTDCS_PREREQUISITES", "initiatives"))
        if (LDTT, f.year) not in titles or len(recognised) < needed:
            found.append(rules.broken("CSTDCS_PREREQUISITES", foreign))
        found += _quota(rules, f)
    found += _local_exclusions(rules, f)
    if f.award in BANG_KHEN and f.subject == "person" and f.kind == "regular":
        years = int(rules.number("BANG_KHEN_CONSECUTIVE", "years"))
        if not any(
            all((CSTDCS, end - k) in titles for k in range(years)) for end in (f.year, f.year - 1)
        ):
            found.append(rules.broken("BANG_KHEN_CONSECUTIVE"))
    if f.award == LDST:
        found += _creative_labour(rules, f, recognised)
    if f.award == THEMATIC_CAPPED and f.kind == "thematic":
        cap = int(rules.number("THEMATIC_CAPS", "per_unit_per_topic"))
        if f.capped + 1 > cap:
            found.append(rules.broken("THEMATIC_CAPS", f"(đã đủ {cap})"))
    if f.award == SERVICE_MEDAL:
        found += _service_medal(rules, f)
    return [error.shown() | {"message": error.message} for error in found]


EXCLUSIVE_KINDS = ("regular", "thematic")  # comprehensive and thematic; ad hoc and career aside


def deciding_level(deciders: Sequence[str], ancestor_levels: Sequence[str]) -> str | None:
    """The nearest level above the proposer that may decide the award (LEVELS runs from the
    national unit down)."""
    return _deciding_level(tuple(deciders), tuple(ancestor_levels))  # a bulk asks it again


@cache
def _deciding_level(deciders: tuple[str, ...], ancestor_levels: tuple[str, ...]) -> str | None:
    found = [lv for lv in ancestor_levels if lv in deciders]
    return max(found, key=LEVELS.index, default=None)


def _comprehensive_or_thematic(rules: RuleSet, f: NomineeFacts) -> list[RuleBroken]:
    """Rule 2: within one deciding level and one year, a comprehensive (regular) form and a
    thematic one exclude each other."""
    level = deciding_level(f.deciders, f.ancestor_levels)
    if _kind(f.award) != "form" or f.kind not in EXCLUSIVE_KINDS or level is None:
        return []
    clash = [
        a
        for a in f.awarded
        if a.year == f.year
        and a.level == level
        and _kind(a.award) == "form"
        and a.kind in EXCLUSIVE_KINDS
        and a.kind != f.kind
    ]
    if not clash:
        return []
    return [rules.broken("ONE_ACHIEVEMENT_ONE_AWARD", f"(đã khen {clash[0].kind} năm {f.year})")]


def quota_percent(rules: RuleSet, local: Sequence[LocalRuleFacts]) -> tuple[int, Any]:
    """Rule 3's quota in force for the proposer: the national number, or a federation's lower
    one; with the rule that set it (a local one, or None for the national)."""
    best: tuple[int, LocalRuleFacts | None] = (
        int(rules.number("CSTDCS_PREREQUISITES", "quota_percent")),
        None,
    )
    for rule in local:
        if rule.kind == "quota" and rule.numbers.get("quota_percent", 10**9) < best[0]:
            best = (rule.numbers["quota_percent"], rule)
    return best


def quota_refusal(rules: RuleSet, by: LocalRuleFacts | None, detail: str) -> RuleBroken:
    if by is None:
        return rules.broken("CSTDCS_PREREQUISITES", detail)
    return _local_broken(by, detail)


def quota_of(holders: int, percent: int) -> int:
    """How many Chiến sĩ thi đua cơ sở ``holders`` of Lao động tiên tiến allow: the share,
    rounded up, so a unit with a few holders may still name one."""
    return math.ceil(holders * percent / 100)


def _quota(rules: RuleSet, f: NomineeFacts) -> list[RuleBroken]:
    if f.quota is None:
        return []
    percent, by = quota_percent(rules, f.local)
    holders = max(f.quota.holders, f.quota.taken + 1)  # each one named holds the title too
    allowed = quota_of(holders, percent)
    if f.quota.taken + 1 <= allowed:
        return []
    return [quota_refusal(rules, by, f"(tối đa {allowed}: {percent}% của {holders})")]


def _local_broken(rule: LocalRuleFacts, detail: str = "") -> RuleBroken:
    return RuleBroken(
        f"{rule.message} {detail}".strip(),
        rule=rule.code,
        version=f"local:{rule.unit_id}",
        source=rule.source,
    )


def _local_exclusions(rules: RuleSet, f: NomineeFacts) -> list[RuleBroken]:
    """Rule 10 on a person nominated for a title: away 40 working days or more (maternity leave
    not counted), employed under 10 months in the year, or disciplined that year; a
    federation's own exclusion may lower the numbers, and then it is the rule named."""
    p = f.person
    if p is None or _kind(f.award) != "title":
        return []
    # None: the rule set's own number (its refusal made only when it is broken: most nominees
    # break nothing, and a bulk checks 10,000 of them).
    limits: dict[str, tuple[int, LocalRuleFacts | None]] = {
        "absent_working_days": (int(rules.number("LOCAL_EXCLUSIONS", "absent_working_days")), None),
        "employed_months": (int(rules.number("LOCAL_EXCLUSIONS", "employed_months")), None),
    }
    for rule in f.local:
        for name in limits:
            if rule.kind == "exclusion" and rule.numbers.get(name, 10**9) < limits[name][0]:
                limits[name] = (rule.numbers[name], rule)
    found = []
    days, by = limits["absent_working_days"]
    if p.absent_working_days >= days:
        found.append(_named(rules, by, f"(vắng {p.absent_working_days} ngày làm việc)"))
    months, by = limits["employed_months"]
    if p.employed_since is not None:
        end = date(f.year, 12, 31)
        worked = (end.year - p.employed_since.year) * 12 + end.month - p.employed_since.month + 1
        if worked < months:
            found.append(_named(rules, by, f"(làm việc {max(worked, 0)} tháng trong năm)"))
    if p.disciplined:
        found.append(rules.broken("LOCAL_EXCLUSIONS", "(bị kỷ luật trong năm)"))
    for rule in f.local:
        if rule.kind == "exclusion" and rule.numbers.get("registered") and f.award not in p.pledged:
            found.append(_local_broken(rule, "(không đăng ký thi đua danh hiệu này trong năm)"))
            break
    return found


def _named(rules: RuleSet, by: LocalRuleFacts | None, detail: str) -> RuleBroken:
    if by is not None:
        return _local_broken(by, detail)
    return rules.broken("LOCAL_EXCLUSIONS", detail)


def _kind(award: str) -> str:
    entry = by_code().get(award)
    return entry.kind if entry else award


def _foreign(f: NomineeFacts) -> str:
    """A finding's detail when the basis names an initiative the nominee did not author."""
    if any(not i.authored for i in f.initiatives):
        return "(có sáng kiến không do người này là tác giả)"
    return ""


def _creative_labour(
    rules: RuleSet, f: NomineeFacts, recognised: list[InitiativeFacts]
) -> list[RuleBroken]:
    one = int(rules.number("LAO_DONG_SANG_TAO", "benefit_vnd"))
    over = int(rules.number("LAO_DONG_SANG_TAO", "benefit_over_years_vnd"))
    years = int(rules.number("LAO_DONG_SANG_TAO", "years"))
    recent = [
        i.benefit_vnd
        for i in recognised
        if i.recognised_on is not None and f.year - years < i.recognised_on.year <= f.year
    ]
    if f.person is None or not f.person.direct_worker:
        return [rules.broken("LAO_DONG_SANG_TAO", "(chỉ người không giữ chức vụ lãnh đạo)")]
    if max(recent, default=0) < one and sum(recent) < over:
        return [rules.broken("LAO_DONG_SANG_TAO", _foreign(f))]
    return []


def _service_medal(rules: RuleSet, f: NomineeFacts) -> list[RuleBroken]:
    p = f.person
    need = {
        "full_time": int(rules.number("SERVICE_MEDAL", "full_time_years")),
        "part_time": int(rules.number("SERVICE_MEDAL", "part_time_years")),
    }
    if p is None or p.cadre not in need or p.cadre_since is None:
        return [rules.broken("SERVICE_MEDAL", "(không phải cán bộ công đoàn)")]
    served = f.year - p.cadre_since.year
    if served < need[p.cadre]:
        return [rules.broken("SERVICE_MEDAL", f"({served} năm)")]
    return []


# --- what leans on what (rule 4's chain, rule 3's prerequisite) ---------------------------------

# A title's revocation puts in doubt the later awards whose eligibility leaned on it: the award
# and how many years after the revoked one's year (0: the same year) it looks.
LEANING = {
    LDTT: {CSTDCS: 0},
    CSTDCS: {"bang_khen_ldld": 1, "bang_khen_tld": 1, "chien_si_thi_dua_cap_tinh": 2},
}


def leaning_on(award: str) -> dict[str, int]:
    return LEANING.get(award, {})
