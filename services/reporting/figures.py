"""What each event counts in a unit's summary: pure, no I/O.

Reporting reads the other services' stored events as data (their JSON, with the store's
transcoded dates and ids), never their domain modules. Every countable thing is an **item** of
the unit whose log holds its events (a pledge, a decision's award, a recognised initiative…): an
item has one day (the day that dates it: launched, registered, recognised, decided) and its
current figures, a few (metric, dim, value) triples. An event sets an item's figures anew; the
projection writes the difference from what the item counted before, on the item's day. So a
withdrawal or a revocation takes back exactly what the item had counted, in the year it counted
it, and an amendment counts the change.

Metric names are stable: stored rows and the GraphQL fields both use them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

# Figure = (metric, dim, value)
Figure = tuple[str, str, int]

CAMPAIGNS_LAUNCHED = "campaigns_launched"
CAMPAIGNS_CARRIED_OUT = "campaigns_carried_out"  # cụ thể hóa: launched for an upper campaign
REGISTRATIONS = "registrations"  # dim: on_time | late
PHASE_REVIEWS = "phase_reviews"  # dim: on_time | late
CONCLUSIONS = "conclusions"  # dim: on_time | late
PLEDGES = "pledges"  # dim: the title pledged
WORKS = "works"  # dim: the work's kind
INITIATIVES = "initiatives"  # recognised
INITIATIVE_BENEFIT = "initiative_benefit_vnd"
PROPOSALS = "proposals"  # dim: the proposal's kind (regular, thematic, ad_hoc, career)
DECISIONS = "decisions"
AWARDED_PERSONS = "awarded_persons"  # dim: the award (title or form)
AWARDED_COLLECTIVES = "awarded_collectives"  # dim: the award
CASH = "cash_vnd"  # dim: the award
AWARDED_DIRECT_WORKERS = "awarded_direct_workers"
AWARDED_WOMEN = "awarded_women"
AWARDED_UNRECORDED = "awarded_unrecorded"  # persons whose particulars reporting has not seen
CAMPAIGNS_REVIEWED = "campaigns_reviewed"  # launched campaigns with a phase review or conclusion
TRAININGS = "trainings"
TRAINING_ATTENDEES = "training_attendees"
CADRES_TRAINED = "cadres_trained"  # the unit's emulation cadres trained in the year (the most)
EMULATION_CADRES = "emulation_cadres"  # how many it has (the most it declared that year)
SEMINARS = "seminars"
SEMINAR_PARTICIPANTS = "seminar_participants"
GOOD_PRACTICES = "good_practices"  # presented
REPLICATIONS = "replications"  # of other units' good practices
INSPECTIONS = "inspections"  # of lower units' emulation work

METRICS = (
    CAMPAIGNS_LAUNCHED,
    CAMPAIGNS_CARRIED_OUT,
    REGISTRATIONS,
    PHASE_REVIEWS,
    CONCLUSIONS,
    PLEDGES,
    WORKS,
    INITIATIVES,
    INITIATIVE_BENEFIT,
    PROPOSALS,
    DECISIONS,
    AWARDED_PERSONS,
    AWARDED_COLLECTIVES,
    CASH,
    AWARDED_DIRECT_WORKERS,
    AWARDED_WOMEN,
    AWARDED_UNRECORDED,
    CAMPAIGNS_REVIEWED,
    TRAININGS,
    TRAINING_ATTENDEES,
    CADRES_TRAINED,
    EMULATION_CADRES,
    SEMINARS,
    SEMINAR_PARTICIPANTS,
    GOOD_PRACTICES,
    REPLICATIONS,
    INSPECTIONS,
)
ON_TIME, LATE = "on_time", "late"


def day_of(value: Any) -> date:
    """A date as the store keeps it: ``{"_type_": "date_iso", "_data_": "2021-01-20"}``."""
    if isinstance(value, Mapping):
        value = value.get("_data_")
    return date.fromisoformat(str(value))


def id_of(value: Any) -> str:
    """An id as the store keeps it (a transcoded uuid, or plain text)."""
    if isinstance(value, Mapping):
        value = value.get("_data_")
    return str(value)


@dataclass(frozen=True, slots=True)
class Particulars:
    """What the figures count of a person: plain in their events (never their name)."""

    woman: bool
    direct_worker: bool


@dataclass(slots=True)
class Item:
    """A countable thing of one unit: its day, its figures now, and what later events need to
    know of it (``facts``: a campaign's parent, a proposal's kind, an award's recipient)."""

    day: date | None = None
    figures: tuple[Figure, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Change:
    """An item's figures set anew by an event."""

    key: str
    day: date | None
    figures: tuple[Figure, ...]
    facts: Mapping[str, Any]


def keys_of(event_type: str, stream: str, data: Mapping[str, Any]) -> list[str]:
    """The items an event touches: read before the batch is counted."""
    if event_type in _CAMPAIGN or event_type == "PhaseAdded":
        return [f"campaign:{stream}"]
    if event_type in _APPRAISAL:
        return [f"appraisal:{id_of(data.get('proposal_id'))}:{data.get('round')}"]
    if event_type == "PhaseReviewed":
        return [f"review:{stream}:{data.get('number')}", f"campaign:{stream}"]
    if event_type == "CampaignConcluded":
        return [f"conclusion:{stream}", f"campaign:{stream}"]
    if event_type == "TrainingHeld":
        return [f"training:{stream}", f"cadres:{day_of(data['held_on']).year}"]
    if event_type in MADE:
        return [f"{MADE[event_type].item}:{stream}"]
    if event_type in _ONE_ITEM:
        return [f"{_ONE_ITEM[event_type]}:{stream}"]
    if event_type in ("DecisionIssued", "DecisionRecipientsListed"):
        recipients = data.get("recipients") or []
        return [f"decision:{stream}", *(f"award:{stream}:{r['item_id']}" for r in recipients)]
    if event_type == "AwardRevoked":
        return [f"award:{stream}:{data.get('item_id')}"]
    return []


_CAMPAIGN = ("CampaignCreated", "CampaignLaunched")
# An appraisal round of a proposal sent to this unit: opened, then concluded (returned for
# correction or completed); its due day is on the proposal's side.
_APPRAISAL = ("AppraisalOpened", "AppraisalReturned", "AppraisalCompleted")
_ONE_ITEM = {
    "RegistrationSubmitted": "registration",
    "RegistrationWithdrawn": "registration",
    "PledgeWithdrawn": "pledge",
    "WorkWithdrawn": "work",
    "InitiativeRegistered": "initiative",
    "InitiativeRecognised": "initiative",
    "InitiativeRecognitionAmended": "initiative",
    "InitiativeWithdrawn": "initiative",
    "ProposalDrafted": "proposal",
    "ProposalSubmitted": "proposal",
    "ProgressReported": "progress",
}


@dataclass(frozen=True, slots=True)
class Counted:
    """A figure of a made item: its metric, the data field naming its dim ('' without one) and
    the field holding its number (1 without one)."""

    metric: str
    dim: str | None = None
    number: str | None = None

    def of(self, data: Mapping[str, Any]) -> Figure:
        dim = "" if self.dim is None else _text(data.get(self.dim))
        value = 1 if self.number is None else int(data.get(self.number) or 0)
        return (self.metric, dim, value)


@dataclass(frozen=True, slots=True)
class Made:
    """An item its stream's first event makes, counted from that event's data alone (no earlier
    event touched it): its key's prefix, the field that dates it, and its figures. Declared as
    data, so the runner counts them in the database by the same rule
    (services/reporting/projections.py ``count_made``)."""

    item: str
    day: str
    figures: tuple[Counted, ...]

    def change(self, stream: str, data: Mapping[str, Any]) -> Change:
        figures = tuple(c.of(data) for c in self.figures)
        return Change(f"{self.item}:{stream}", day_of(data[self.day]), figures, {})


MADE = {
    "PledgeRegistered": Made("pledge", "registered_on", (Counted(PLEDGES, dim="title"),)),
    "WorkRegistered": Made("work", "registered_on", (Counted(WORKS, dim="kind"),)),
    # records of services/reporting/domain.py
    "SeminarHeld": Made(
        "seminar",
        "held_on",
        (Counted(SEMINARS), Counted(SEMINAR_PARTICIPANTS, number="participants")),
    ),
    "GoodPracticePresented": Made("practice", "presented_on", (Counted(GOOD_PRACTICES),)),
    "GoodPracticeReplicated": Made("replication", "replicated_on", (Counted(REPLICATIONS),)),
    "InspectionRecorded": Made("inspection", "held_on", (Counted(INSPECTIONS),)),
}
PERSON_EVENTS = ("PersonRegistered", "PersonAmended", "PersonArrived", "PersonReturned")
COUNTED_EVENTS = (
    *_CAMPAIGN,
    "PhaseAdded",
    *_APPRAISAL,
    "PhaseReviewed",
    "CampaignConcluded",
    *_ONE_ITEM,
    *MADE,
    "DecisionIssued",
    "DecisionRecipientsListed",
    "AwardRevoked",
    "TrainingHeld",
)


def _timely(late: Any) -> str:
    return LATE if late else ON_TIME


def changes_of(
    event_type: str,
    stream: str,
    data: Mapping[str, Any],
    items: Mapping[str, Item],
    people: Mapping[str, Particulars],
) -> list[Change]:
    """The items an event sets anew. ``items``: the touched items as they stand (absent: none
    yet); ``people``: the particulars of the persons a decision awards, where known."""
    key = (keys_of(event_type, stream, data) or [""])[0]
    item = items.get(key) or Item()
    match event_type:
        case "CampaignCreated":
            # what its deadlines need: when units below register, and how long after a
            # phase's end its report is due
            facts = {
                **item.facts,
                "carried_out": data.get("parent_campaign") is not None,
                "due": _iso(data.get("registration_due")),
                "report_days": data.get("report_days"),
            }
            return [Change(key, item.day, item.figures, facts)]
        case "PhaseAdded":
            phases = {**item.facts.get("phases", {}), str(data["number"]): _iso(data["ends"])}
            return [Change(key, item.day, item.figures, {**item.facts, "phases": phases})]
        case "CampaignLaunched":
            figures = [(CAMPAIGNS_LAUNCHED, "", 1)]
            if item.facts.get("carried_out"):
                figures.append((CAMPAIGNS_CARRIED_OUT, "", 1))
            return [Change(key, day_of(data["launched_on"]), tuple(figures), item.facts)]
        case "PhaseReviewed":
            figures = ((PHASE_REVIEWS, _timely(data.get("late")), 1),)
            review = Change(
                key, day_of(data["reviewed_on"]), figures, {"late": bool(data.get("late"))}
            )
            return [review, *_reviewed(stream, items)]
        case "CampaignConcluded":
            figures = ((CONCLUSIONS, _timely(data.get("late")), 1),)
            conclusion = Change(key, day_of(data["concluded_on"]), figures, {})
            return [conclusion, *_reviewed(stream, items)]
        case "TrainingHeld":
            return _training(stream, data, items)
        case "RegistrationSubmitted":
            figures = ((REGISTRATIONS, _timely(data.get("late")), 1),)
            facts = {"campaign": id_of(data.get("campaign_id")), "late": bool(data.get("late"))}
            return [Change(key, day_of(data["registered_on"]), figures, facts)]
        case "ProgressReported":
            # a registered unit's report of a phase, due reportDays after its end: counted by
            # the deadlines alone, by its first sending (a later one corrects its figures, not
            # when it was first sent)
            facts = {
                "campaign": id_of(data.get("campaign_id")),
                "phase": str(data.get("phase")),
                "late": item.facts.get("late", bool(data.get("late"))),
            }
            return [Change(key, item.day or day_of(data["reported_on"]), (), facts)]
        case "InitiativeRegistered":
            # its authors who are people of a register (sealed names carry their ids): the
            # 5-year report's typical individuals are found by them
            authors = [
                a["person_id"]
                for a in _listed(data.get("authors"))
                if isinstance(a, Mapping) and isinstance(a.get("person_id"), str) and a["person_id"]
            ]
            facts = {**item.facts, "authors": authors, "title": _text(data.get("title"))}
            return [Change(key, item.day, item.figures, facts)]
        case "InitiativeRecognised":
            return [_initiative(key, day_of(data["recognised_on"]), data, item.facts)]
        case "InitiativeRecognitionAmended":
            if item.day is None:  # amended before being recognised: nothing counted yet
                return []
            return [_initiative(key, item.day, data, item.facts)]
        case "RegistrationWithdrawn" | "PledgeWithdrawn" | "WorkWithdrawn" | "InitiativeWithdrawn":
            return [Change(key, item.day, (), item.facts)]
        case "ProposalDrafted":
            return [Change(key, None, (), {"kind": str(data.get("kind", ""))})]
        case "ProposalSubmitted":
            # the appraisal of each round is due by its own day (working days, the awards'
            # calendar): the latest round's
            dues = {**item.facts.get("dues", {}), str(data.get("round")): _iso(data.get("due_on"))}
            facts = {**item.facts, "dues": dues}
            if item.figures:  # a round after a return: the proposal was counted once
                return [Change(key, item.day, item.figures, facts)]
            figures = ((PROPOSALS, str(item.facts.get("kind", "")), 1),)
            return [Change(key, day_of(data["submitted_on"]), figures, facts)]
        case "AppraisalOpened":
            facts = {"proposal": id_of(data.get("proposal_id")), "proposer": data.get("proposer")}
            return [Change(key, day_of(data["opened_on"]), (), {**item.facts, **facts})]
        case "AppraisalReturned" | "AppraisalCompleted":
            facts = {
                **item.facts,
                "proposal": id_of(data.get("proposal_id")),
                "proposer": data.get("proposer"),
                "concluded": _iso(data["concluded_on"]),
            }
            return [Change(key, item.day or day_of(data["concluded_on"]), (), facts)]
        case "DecisionIssued":
            day = day_of(data["decided_on"])
            decision = Change(key, day, ((DECISIONS, "", 1),), {})
            return [decision, *_awards(stream, day, data, items, people)]
        case "DecisionRecipientsListed":
            decision = items.get(key)
            if decision is None or decision.day is None:
                return []
            return _awards(stream, decision.day, data, items, people)
        case "AwardRevoked":
            if item.day is None:
                return []
            return [Change(key, item.day, (), {**item.facts, "revoked": True})]
    if event_type in MADE:
        return [MADE[event_type].change(stream, data)]
    return []


def _reviewed(stream: str, items: Mapping[str, Item]) -> list[Change]:
    """A launched campaign, once reviewed (a phase or its conclusion), counts as reviewed in the
    year it was launched (seed 000: every launched campaign reviewed)."""
    key = f"campaign:{stream}"
    campaign = items.get(key)
    if campaign is None or campaign.day is None or campaign.facts.get("reviewed"):
        return []
    figures = (*campaign.figures, (CAMPAIGNS_REVIEWED, "", 1))
    return [Change(key, campaign.day, figures, {**campaign.facts, "reviewed": True})]


def _training(stream: str, data: Mapping[str, Any], items: Mapping[str, Item]) -> list[Change]:
    """The training itself, and the unit's emulation cadres of its year: the most trained and
    the most it declared having (two trainings of the same cadres train them once)."""
    day = day_of(data["held_on"])
    training = Change(
        f"training:{stream}",
        day,
        ((TRAININGS, "", 1), (TRAINING_ATTENDEES, "", int(data.get("attendees") or 0))),
        {},
    )
    key = f"cadres:{day.year}"
    before = items.get(key) or Item()
    trained = max(int(data.get("cadres_trained") or 0), before.facts.get("trained", 0))
    cadres = max(int(data.get("cadres") or 0), before.facts.get("cadres", 0))
    latest = max(day, before.day) if before.day else day
    figures = ((CADRES_TRAINED, "", trained), (EMULATION_CADRES, "", cadres))
    return [training, Change(key, latest, figures, {"trained": trained, "cadres": cadres})]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _listed(value: Any) -> list:
    """A list in an event's data, or none: a recognition's is also read in SQL
    (services/reporting/projections.py ``_RECOGNISED``), which takes nothing else for one."""
    return value if isinstance(value, list) else []


def _iso(value: Any) -> str | None:
    return None if value is None else day_of(value).isoformat()


def _initiative(key: str, day: date, data: Mapping[str, Any], facts: Mapping[str, Any]) -> Change:
    benefit = int(data.get("benefit_vnd") or 0)
    applied = [a for a in _listed(data.get("applied_at")) if isinstance(a, str)]
    return Change(
        key,
        day,
        ((INITIATIVES, "", 1), (INITIATIVE_BENEFIT, "", benefit)),
        {**facts, "benefit": benefit, "applied_at": applied},
    )


def _awards(
    stream: str,
    day: date,
    data: Mapping[str, Any],
    items: Mapping[str, Item],
    people: Mapping[str, Particulars],
) -> list[Change]:
    changes = []
    for r in data.get("recipients") or []:
        key = f"award:{stream}:{r['item_id']}"
        if key in items:  # listed twice (a decision stored before that was refused): once
            continue
        changes.append(Change(key, day, award_figures(r, people), {"who": r.get("who", "")}))
    return changes


def award_figures(recipient: Mapping[str, Any], people: Mapping[str, Particulars]) -> tuple:
    award = str(recipient.get("award", ""))
    cash = int(recipient.get("cash_vnd") or 0)
    who = str(recipient.get("who", ""))
    if not who.startswith("person:"):
        return ((AWARDED_COLLECTIVES, award, 1), (CASH, award, cash))
    figures: list[Figure] = [(AWARDED_PERSONS, award, 1), (CASH, award, cash)]
    if "woman" in recipient:  # what the decision found (null: nothing recorded)
        person = carried(recipient)
    else:  # a decision stored before its event said
        person = people.get(who.partition(":")[2])
    if person is None:
        figures.append((AWARDED_UNRECORDED, "", 1))
    else:
        if person.direct_worker:
            figures.append((AWARDED_DIRECT_WORKERS, "", 1))
        if person.woman:
            figures.append((AWARDED_WOMEN, "", 1))
    return tuple(figures)


def carried(recipient: Mapping[str, Any]) -> Particulars | None:
    """A person's particulars as the decision found them (every decision's event since they
    were added to it): the same figures whenever its event is counted; None where it found
    none."""
    woman, direct = recipient.get("woman"), recipient.get("direct_worker")
    if not isinstance(woman, bool) or not isinstance(direct, bool):
        return None
    return Particulars(woman=woman, direct_worker=direct)


def persons_awarded(event_type: str, data: Mapping[str, Any]) -> list[str]:
    """The person ids a decision's event awards without their particulars (a decision stored
    before its event carried them): theirs are read with its items, as reporting knows them."""
    if event_type not in ("DecisionIssued", "DecisionRecipientsListed"):
        return []
    return [
        str(r.get("who", "")).partition(":")[2]
        for r in data.get("recipients") or []
        if str(r.get("who", "")).startswith("person:") and "woman" not in r
    ]


def particulars_of(data: Mapping[str, Any]) -> Particulars | None:
    """A person's particulars from a person event, when it carries them ('' gender: not yet
    recorded)."""
    gender = data.get("gender")
    if not gender:
        return None
    return Particulars(woman=gender == "female", direct_worker=bool(data.get("direct_worker")))


def authored(day: date | None, figures: Iterable[Figure], facts: Mapping[str, Any]) -> list:
    """What an initiative counts for each of its authors who is a person of a register (the
    typical individuals): one initiative and its benefit, on its day, while it counts (once
    recognised, until withdrawn). [(person, day, initiatives, benefit)]"""
    if day is None or not figures:
        return []
    benefit = int(facts.get("benefit") or 0)
    return [(person, day, 1, benefit) for person in facts.get("authors") or []]


def authored_deltas(before: Item | None, change: Change) -> Iterable[tuple[str, date, int, int]]:
    """What setting an initiative anew adds to its authors' shares, as ``deltas`` does to the
    unit's figures: (person, day, initiatives, benefit)."""
    if before is not None:
        for person, day, n, benefit in authored(before.day, before.figures, before.facts):
            yield person, day, -n, -benefit
    yield from authored(change.day, change.figures, change.facts)


def deltas(before: Item | None, change: Change) -> Iterable[tuple[date, str, str, int]]:
    """What setting an item anew adds to its unit's figures: (day, metric, dim, value), the old
    figures taken back on the old day and the new added on the new one."""
    if before is not None and before.day is not None:
        for metric, dim, value in before.figures:
            yield before.day, metric, dim, -value
    if change.day is not None:
        for metric, dim, value in change.figures:
            yield change.day, metric, dim, value
