"""GraphQL of the council (issue 14, point 10): convene a session on the nominees an appraisal
accepted, vote (open or secret), conclude with the tally; read a session, its items and who
voted (on a secret ballot, never how). Read by the council's unit and the units above it."""

from __future__ import annotations

import uuid
from datetime import date
from enum import Enum
from typing import Any

import orjson
import strawberry
from strawberry.types import Info

from services.awards.commands_council import council_commands_of
from services.awards.domain import Member
from shared import catalogue, pages
from shared.access import fetch as _read
from shared.access import fetch_one, principal_of
from shared.commands import idempotency_key_of
from shared.errors import InvalidInput, NotFound
from shared.graphql import client_uuid
from shared.pages import Edge, PageInfo


@strawberry.enum(description="Biểu quyết công khai hay bỏ phiếu kín.")
class Ballot(Enum):
    OPEN = "open"
    SECRET = "secret"


@strawberry.enum(description="Đồng ý, không đồng ý, không biểu quyết.")
class Choice(Enum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


MAX_PAGE = 500

# Counted by the projection when the council concludes (awards/projections.py _results); until
# then, the votes cast so far: each member's lists unnested once and counted by item (a list
# searched for each item would read every list once per item).
COUNTED_VOTERS = "CASE WHEN i.passed IS NULL THEN coalesce(cast_so_far.n, 0) ELSE i.voters END"


def votes_so_far(where: str) -> str:
    """The join COUNTED_VOTERS reads, over the votes' rows ``where`` picks (``v``)."""
    return (
        "LEFT JOIN (SELECT v.tenant_id, v.session_id, item, count(*)::integer AS n "
        f"FROM council_votes v, unnest(v.items) AS item WHERE {where} "
        "GROUP BY v.tenant_id, v.session_id, item) AS cast_so_far "
        "ON cast_so_far.tenant_id = i.tenant_id AND cast_so_far.session_id = i.session_id "
        "AND cast_so_far.item = i.item_id"
    )


@strawberry.type(description="Một thành viên Hội đồng.")
class CouncilMember:
    subject: str
    person_id: strawberry.ID | None
    unit_id: strawberry.ID | None


@strawberry.type(description="Một phiếu: ai đã biểu quyết; công khai thì cả lựa chọn.")
class CouncilVote:
    voter: str
    choice: Choice | None = strawberry.field(description="null khi bỏ phiếu kín.")


@strawberry.type(description="Một người (tập thể) Hội đồng biểu quyết.")
class CouncilItem:
    id: strawberry.ID
    proposal_id: strawberry.ID
    proposer: strawberry.ID
    nominee_id: strawberry.ID
    who: str
    award: str
    recused: list[str] = strawberry.field(description="Thành viên phải tránh biểu quyết.")
    voters: int
    yes: int | None
    no: int | None
    abstain: int | None
    eligible: int | None
    passed: bool | None = strawberry.field(description="Được Hội đồng đề nghị (sau khi kết thúc).")

    @strawberry.field
    def award_name(self) -> str:
        return catalogue.award_name(self.award)


_AS_READ = ("who", "award", "voters", "yes", "no", "abstain", "eligible", "passed")


def _item(r: Any) -> CouncilItem:
    return CouncilItem(
        id=strawberry.ID(r["item_id"]),
        proposal_id=strawberry.ID(str(r["proposal_id"])),
        proposer=strawberry.ID(r["proposer"]),
        nominee_id=strawberry.ID(r["nominee_id"]),
        recused=orjson.loads(r["recused"]),
        **{name: r[name] for name in _AS_READ},
    )


@strawberry.type(description="Trang người (tập thể) Hội đồng biểu quyết.")
class CouncilItemPage:
    edges: list[Edge[CouncilItem]]
    page_info: PageInfo


@strawberry.type(description="Một phiên họp Hội đồng Thi đua - Khen thưởng.")
class CouncilSessionType:
    id: strawberry.ID
    unit_id: strawberry.ID
    title: str
    meets_on: date
    ballot: Ballot
    quorum: int
    members: list[CouncilMember]
    status: str = strawberry.field(description="open, concluded.")
    concluded_on: date | None

    @strawberry.field(
        description="Các người (tập thể) được biểu quyết, theo thứ tự, từng trang "
        "(trang sau: after = endCursor)."
    )
    async def items(
        self, info: Info, first: int = 100, after: str | None = None
    ) -> CouncilItemPage:
        pages.checked_first(first, MAX_PAGE)
        position = pages.typed_position(after, ("bigint",))
        # Once concluded, the results counted them: the votes are not read again.
        voters, so_far = "i.voters", ""
        if self.status == "open":
            voters, so_far = COUNTED_VOTERS, votes_so_far("v.tenant_id = $1 AND v.session_id = $2")
        rows = await _read(
            info,
            "SELECT item_id, proposal_id, proposer, nominee_id, who, award, recused::text AS "
            f"recused, {voters} AS voters, yes, no, abstain, eligible, passed, position "
            f"FROM council_items i {so_far} "
            "WHERE i.tenant_id = $1 AND i.session_id = $2 "
            f"AND {pages.past_cursor('i.position', ('bigint',), 3, given=position is not None)} "
            "ORDER BY i.position LIMIT $4",
            str(self.unit_id),
            uuid.UUID(str(self.id)),
            *pages.position_parameters(position, ("bigint",)),
            first + 1,
        )
        edges = pages.edges_of(rows, first, lambda r: (str(r["position"]),), _item)
        return CouncilItemPage(edges=edges, page_info=pages.next_page(rows, first, edges))

    @strawberry.field(description="Ai đã biểu quyết mục nào (bỏ phiếu kín: không ghi lựa chọn).")
    async def votes(self, info: Info, item_id: strawberry.ID) -> list[CouncilVote]:
        rows = await _read(
            info,
            "SELECT voter, choice FROM council_votes WHERE tenant_id = $1 AND session_id = $2 "
            "AND $3 = ANY (items) ORDER BY voter",
            str(self.unit_id),
            uuid.UUID(str(self.id)),
            str(item_id)[:200],
        )
        return [
            CouncilVote(voter=r["voter"], choice=Choice(r["choice"]) if r["choice"] else None)
            for r in rows
        ]


_SESSION_COLUMNS = (
    "tenant_id, session_id, title, meets_on, ballot, quorum, members::text AS members, status, "
    "concluded_on"
)
_SESSION_KEY = ("date", "uuid")
SESSIONS_PAGE = 100


@strawberry.type(description="Trang phiên họp Hội đồng.")
class CouncilSessionPage:
    edges: list[Edge[CouncilSessionType]]
    page_info: PageInfo


async def _session(info: Info, sid: uuid.UUID) -> CouncilSessionType:
    r = await fetch_one(
        info, f"SELECT {_SESSION_COLUMNS} FROM council_sessions WHERE session_id = $1", sid
    )
    return _session_of(r)


def _session_of(r: Any) -> CouncilSessionType:
    return CouncilSessionType(
        id=strawberry.ID(str(r["session_id"])),
        unit_id=strawberry.ID(r["tenant_id"]),
        title=r["title"],
        meets_on=r["meets_on"],
        ballot=Ballot(r["ballot"]),
        quorum=r["quorum"],
        members=[
            CouncilMember(
                subject=m["subject"],
                person_id=strawberry.ID(m["person_id"]) if m["person_id"] else None,
                unit_id=strawberry.ID(m["unit_id"]) if m["unit_id"] else None,
            )
            for m in orjson.loads(r["members"])
        ],
        status=r["status"],
        concluded_on=r["concluded_on"],
    )


@strawberry.type(description="Một danh sách người (tập thể) được đề nghị đã công khai.")
class DisclosureType:
    id: strawberry.ID
    unit_id: strawberry.ID
    title: str
    published_on: date
    council_on: date

    @strawberry.field(description="Những người (tập thể) trong danh sách.")
    async def nominees(self, info: Info) -> list[DisclosedNominee]:
        rows = await _read(
            info,
            "SELECT item_id, proposal_id, who, award FROM disclosed_nominees "
            "WHERE tenant_id = $1 AND disclosure_id = $2 ORDER BY item_id",
            str(self.unit_id),
            uuid.UUID(str(self.id)),
        )
        return [
            DisclosedNominee(
                item_id=strawberry.ID(r["item_id"]),
                proposal_id=strawberry.ID(str(r["proposal_id"])),
                who=r["who"],
                award=r["award"],
            )
            for r in rows
        ]


@strawberry.type(description="Một người (tập thể) trong danh sách công khai.")
class DisclosedNominee:
    item_id: strawberry.ID
    proposal_id: strawberry.ID
    who: str
    award: str


async def _disclosure(info: Info, did: uuid.UUID) -> DisclosureType:
    r = await fetch_one(
        info,
        "SELECT tenant_id, disclosure_id, title, published_on, council_on FROM disclosures "
        "WHERE disclosure_id = $1",
        did,
    )
    return DisclosureType(
        id=strawberry.ID(str(r["disclosure_id"])),
        unit_id=strawberry.ID(r["tenant_id"]),
        title=r["title"],
        published_on=r["published_on"],
        council_on=r["council_on"],
    )


@strawberry.type
class CouncilQuery:
    @strawberry.field(description="Một danh sách công khai trong tầm đọc; ngoài tầm: null.")
    async def disclosure(self, info: Info, id: strawberry.ID) -> DisclosureType | None:
        try:
            return await _disclosure(info, client_uuid(id))
        except NotFound:
            return None

    @strawberry.field(description="Một phiên họp Hội đồng trong tầm đọc; ngoài tầm: null.")
    async def council_session(self, info: Info, id: strawberry.ID) -> CouncilSessionType | None:
        try:
            return await _session(info, client_uuid(id))
        except NotFound:
            return None

    @strawberry.field(
        description="Các phiên họp Hội đồng của đơn vị mình, theo ngày họp, từng trang (trang "
        "sau: after = endCursor); status: open hay concluded, bỏ trống: tất cả."
    )
    async def council_sessions(
        self, info: Info, status: str | None = None, first: int = 50, after: str | None = None
    ) -> CouncilSessionPage:
        pages.checked_first(first, SESSIONS_PAGE)
        if status is not None and status not in ("open", "concluded"):
            raise InvalidInput("status: open hay concluded.")
        position = pages.typed_position(after, _SESSION_KEY)
        given = position is not None
        rows = await _read(
            info,
            f"SELECT {_SESSION_COLUMNS} FROM council_sessions WHERE tenant_id = $1 "
            "AND ($2::text IS NULL OR status = $2) AND "
            f"{pages.past_cursor('meets_on, session_id', _SESSION_KEY, 3, given=given)} "
            "ORDER BY meets_on, session_id LIMIT $5",
            principal_of(info).tenant,
            status,
            *pages.position_parameters(position, _SESSION_KEY),
            first + 1,
        )
        edges = pages.edges_of(
            rows, first, lambda r: (r["meets_on"].isoformat(), str(r["session_id"])), _session_of
        )
        return CouncilSessionPage(edges=edges, page_info=pages.next_page(rows, first, edges))


@strawberry.input(
    description="Một thành viên: định danh trong mã truy cập, và người, đơn vị của họ."
)
class CouncilMemberInput:
    subject: str
    person_id: strawberry.ID | None = None
    unit_id: strawberry.ID | None = None


@strawberry.input(description="Một phiên họp Hội đồng.")
class CouncilInput:
    title: str
    meets_on: date
    ballot: Ballot
    quorum: int
    members: list[CouncilMemberInput]
    proposals: list[strawberry.ID] = strawberry.field(
        description="Các đề nghị đã thẩm định xong: người được đồng ý vào biểu quyết."
    )
    idempotency_key: str | None = None


@strawberry.type
class CouncilMutation:
    @strawberry.mutation(description="Triệu tập một phiên họp Hội đồng của đơn vị mình.")
    async def convene_council(self, info: Info, input: CouncilInput) -> CouncilSessionType:
        if len(input.members) > 100 or len(input.proposals) > 1_000:
            raise InvalidInput("Tối đa 100 thành viên, 1.000 đề nghị.")
        members = [
            Member(
                subject=m.subject[:200],
                person_id=str(client_uuid(m.person_id)) if m.person_id else "",
                unit_id=str(m.unit_id)[:64] if m.unit_id else "",
            )
            for m in input.members
        ]
        sid = await council_commands_of(info.context["runtime"]).convene(
            principal_of(info),
            title=input.title,
            meets_on=input.meets_on,
            ballot=input.ballot.value,
            quorum=input.quorum,
            members=members,
            proposals=[client_uuid(p) for p in input.proposals],
            idempotency_key=idempotency_key_of(info, input.idempotency_key),
        )
        return await _session(info, sid)

    @strawberry.mutation(
        description="Biểu quyết một mục (thành viên Hội đồng, vai trò council); bỏ phiếu kín thì "
        "lựa chọn vào hòm phiếu, không ghi tên."
    )
    async def cast_vote(
        self, info: Info, session_id: strawberry.ID, item_id: strawberry.ID, choice: Choice
    ) -> bool:
        await council_commands_of(info.context["runtime"]).vote(
            principal_of(info),
            client_uuid(session_id),
            str(item_id)[:200],
            choice.value,
            idempotency_key=idempotency_key_of(info),
        )
        return True

    @strawberry.mutation(
        description="Công khai danh sách người (tập thể) được đề nghị (đã thẩm định xong) tới "
        "các đơn vị cấp dưới, trước phiên họp Hội đồng ngày `councilOn`."
    )
    async def disclose_nominees(
        self, info: Info, title: str, council_on: date, proposals: list[strawberry.ID]
    ) -> DisclosureType:
        if len(proposals) > 1_000:
            raise InvalidInput("Tối đa 1.000 đề nghị.")
        did = await council_commands_of(info.context["runtime"]).disclose(
            principal_of(info),
            title=title,
            council_on=council_on,
            proposals=[client_uuid(p) for p in proposals],
            idempotency_key=idempotency_key_of(info),
        )
        return await _disclosure(info, did)

    @strawberry.mutation(
        description="Biểu quyết nhiều mục cùng một lựa chọn (thành viên Hội đồng): những mục đã "
        "nêu, hoặc (bỏ trống) mọi mục mình chưa biểu quyết và không phải tránh. Trả về số mục."
    )
    async def cast_votes(
        self,
        info: Info,
        session_id: strawberry.ID,
        choice: Choice,
        item_ids: list[strawberry.ID] | None = None,
    ) -> int:
        if item_ids is not None and len(item_ids) > 10_000:
            raise InvalidInput("Tối đa 10.000 mục.")
        return await council_commands_of(info.context["runtime"]).vote(
            principal_of(info),
            client_uuid(session_id),
            None,
            choice.value,
            items=[str(i)[:200] for i in item_ids] if item_ids is not None else None,
            idempotency_key=idempotency_key_of(info),
        )

    @strawberry.mutation(description="Kết thúc phiên họp: kiểm phiếu từng mục.")
    async def conclude_council(self, info: Info, session_id: strawberry.ID) -> CouncilSessionType:
        sid = client_uuid(session_id)
        await council_commands_of(info.context["runtime"]).conclude(
            principal_of(info), sid, idempotency_key=idempotency_key_of(info)
        )
        return await _session(info, sid)
