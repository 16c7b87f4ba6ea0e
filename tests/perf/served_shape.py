"""A bare litestar + strawberry app answering the bench's own documents (the page, the
campaign list, ``registerInitiative``) with the answers `thidua serve` gave, from memory:
types of the same shapes (dates, enums, lists), resolvers that only return objects. What
it serves is the ceiling of the stack for those documents: GraphQL's execution of their
fields and the HTTP around it, with no database, no token, nothing of ours.
No ``from __future__ import annotations`` here: strawberry resolves the types of the app's own
root, defined in :func:`shape_app`, from annotations evaluated where they are written."""

import enum
import uuid
from datetime import date
from typing import Any

import strawberry
from litestar import Litestar
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.litestar import make_graphql_controller


@strawberry.enum
class Standing(enum.Enum):
    ON_TIME = "ON_TIME"
    LATE = "LATE"
    NOT_YET = "NOT_YET"
    WITHDRAWN = "WITHDRAWN"


@strawberry.type
class Phase:
    number: int
    name: str
    starts: date
    ends: date
    report_due: date | None


@strawberry.type
class Indicator:
    code: str
    name: str
    target: float | None
    actual: float | None
    achievement: float | None


@strawberry.type
class Child:
    unit_id: strawberry.ID
    unit_name: str
    status: Standing
    registered_on: date | None


@strawberry.type
class Edge:
    node: Child
    cursor: str


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Children:
    total_count: int
    on_time: int
    late: int
    not_yet: int
    edges: list[Edge]
    page_info: PageInfo


@strawberry.type
class Campaign:
    id: strawberry.ID
    name: str
    unit_id: strawberry.ID
    status: str
    phases: list[Phase]
    indicators: list[Indicator]
    child_registrations: Children | None


@strawberry.type
class Unit:
    name: str


@strawberry.type
class Me:
    unit: Unit


@strawberry.type
class Registration:
    campaign_id: strawberry.ID
    contents: list[str]
    late: bool
    status: str


@strawberry.type
class Initiative:
    id: strawberry.ID


@strawberry.input
class InitiativeInput:
    title: str
    authors: list[str]
    field: str = ""
    description: str = ""
    campaign_id: strawberry.ID | None = None


def day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def children(c: dict[str, Any] | None) -> Children | None:
    if c is None:
        return None
    edges = [
        Edge(
            cursor="",
            node=Child(
                unit_id=e["node"]["unitId"],
                unit_name=e["node"]["unitName"],
                status=Standing(e["node"]["status"]),
                registered_on=day(e["node"]["registeredOn"]),
            ),
        )
        for e in c["edges"]
    ]
    info = PageInfo(
        has_next_page=c["pageInfo"]["hasNextPage"], end_cursor=c["pageInfo"]["endCursor"]
    )
    return Children(
        total_count=c["totalCount"],
        on_time=c["onTime"],
        late=c["late"],
        not_yet=c["notYet"],
        edges=edges,
        page_info=info,
    )


def campaign(c: dict[str, Any]) -> Campaign:
    return Campaign(
        id=c.get("id", ""),
        name=c["name"],
        unit_id=c["unitId"],
        status=c["status"],
        phases=[
            Phase(
                number=p["number"],
                name=p["name"],
                starts=day(p["starts"]),
                ends=day(p["ends"]),
                report_due=day(p["reportDue"]),
            )
            for p in c.get("phases", [])
        ],
        indicators=[
            Indicator(**{k: i[k] for k in ("code", "name", "target", "actual", "achievement")})
            for i in c.get("indicators", [])
        ],
        child_registrations=children(c.get("childRegistrations")),
    )


def shape_app(answers: dict[str, Any], province_token: str) -> Litestar:
    """The app, answering the page and the list with ``answers`` (what `thidua serve` answered):
    the province's token gets the list's campaigns, any other caller the page's."""
    page = answers["page"]["data"]
    listed = [campaign(c) for c in answers["list"]["data"]["campaigns"]]
    seen = [campaign(c) for c in page["campaigns"]]
    province = f"Bearer {province_token}"

    @strawberry.type
    class Query:
        @strawberry.field
        async def campaigns(self, info: strawberry.Info) -> list[Campaign]:
            asked = info.context["request"].headers.get("authorization")
            return listed if asked == province else seen

        @strawberry.field
        async def me(self) -> Me:
            return Me(unit=Unit(name=page["me"]["unit"]["name"]))

        @strawberry.field
        async def my_registrations(self) -> list[Registration]:
            return [
                Registration(
                    campaign_id=r["campaignId"],
                    contents=r["contents"],
                    late=r["late"],
                    status=r["status"],
                )
                for r in page["myRegistrations"]
            ]

        @strawberry.field
        def hello(self) -> str:
            return "world"

    @strawberry.type
    class Mutation:
        @strawberry.mutation
        async def register_initiative(self, input: InitiativeInput) -> Initiative:
            return Initiative(id=strawberry.ID(str(uuid.uuid4())))

    schema = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=[lambda: ParserCache(maxsize=1024), lambda: ValidationCache(maxsize=1024)],
    )
    graphql = make_graphql_controller(schema, path="/graphql", graphql_ide=None)
    return Litestar(route_handlers=[graphql], openapi_config=None)
