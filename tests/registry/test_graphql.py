"""The registry through GraphQL: who reads and changes what, for every role and relation."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import httpx
import jwt
import pytest

from services.gateway.app import create_app
from shared import access
from shared.auth import ROLES, TokenService

from .conftest import principal

UNIT = "query($id: ID!) { unit(id: $id) { id name level status } }"
CHILDREN = "query($p: ID) { units(parentId: $p) { edges { node { id } } } }"
RENAME = 'mutation($id: ID!) { renameUnit(id: $id, name: "Tên mới") { id name } }'

# (viewer, target) for each relation, in the tree of tests/registry/conftest.py.
RELATIONS = {
    "self": ("upper1", "upper1"),
    "parent": ("upper1", "prov1"),
    "child": ("upper1", "cs1"),
    "grandchild": ("prov1", "cs1"),
    "sibling": ("upper1", "upper2"),
    "cousin": ("upper1", "upper3"),
    "unrelated": ("upper1", "elsewhere"),
}
BELOW = {"child", "grandchild"}


@pytest.fixture
async def client(settings, runtime):
    app = create_app(settings, runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def tokens(settings) -> TokenService:
    return TokenService.from_settings(settings)


@pytest.fixture
async def elsewhere(registry):
    """A unit in another tree altogether."""
    unit_id = f"x{uuid.uuid4().hex[:8]}-tld"
    await registry.register(None, unit_id=unit_id, name="Khác", level="national")
    return unit_id


def unit_id(tree, elsewhere: str, name: str) -> str:
    return elsewhere if name == "elsewhere" else getattr(tree, name)


async def gql(client, tokens, tenant, roles, query, **variables):
    token = tokens.issue(tenant=tenant, roles=roles, subject="s", ttl=timedelta(minutes=5))
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def code_of(body) -> str | None:
    errors = body.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


@pytest.mark.parametrize("relation", RELATIONS)
async def test_unit_is_readable_at_self_for_everyone_below_for_all_but_members_else_null(
    client, tokens, tree, elsewhere, relation
):
    viewer, target = (unit_id(tree, elsewhere, n) for n in RELATIONS[relation])
    for role in ROLES:
        body = await gql(client, tokens, viewer, [role], UNIT, id=target)
        visible = relation == "self" or (relation in BELOW and role != "member")
        assert code_of(body) is None, body
        assert (body["data"]["unit"] is not None) == visible, (relation, role)


@pytest.mark.parametrize("relation", RELATIONS)
async def test_units_lists_children_only_within_reach(client, tokens, tree, elsewhere, relation):
    viewer, target = (unit_id(tree, elsewhere, n) for n in RELATIONS[relation])
    for role in ROLES:
        body = await gql(client, tokens, viewer, [role], CHILDREN, p=target)
        if relation in {"parent", "sibling", "cousin", "unrelated"}:
            assert code_of(body) == "NOT_FOUND", (relation, role, body)
        elif role == "member":
            assert code_of(body) in {"FORBIDDEN", "NOT_FOUND"}, (relation, role, body)
        else:
            assert code_of(body) is None, (relation, role, body)


@pytest.mark.parametrize("relation", RELATIONS)
async def test_only_an_admin_above_a_unit_changes_it(client, tokens, tree, elsewhere, relation):
    viewer, target = (unit_id(tree, elsewhere, n) for n in RELATIONS[relation])
    for role in ROLES:
        body = await gql(client, tokens, viewer, [role], RENAME, id=target)
        readable = relation == "self" or (relation in BELOW and role != "member")
        if relation in BELOW and role == "admin":
            assert body["data"]["renameUnit"]["name"] == "Tên mới"
            body = await gql(client, tokens, viewer, [role], RENAME, id=target)
            assert code_of(body) == "UNIT_UNCHANGED"
        elif readable:
            assert code_of(body) == "FORBIDDEN", (relation, role, body)
        else:
            assert code_of(body) == "NOT_FOUND", (relation, role, body)


async def test_me_names_the_caller_and_their_unit(client, tokens, tree):
    body = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer", "approver"],
        "{ me { subject tenant roles unit { name } } }",
    )
    assert body["data"]["me"] == {
        "subject": "s",
        "tenant": tree.upper1,
        "roles": ["approver", "officer"],
        "unit": {"name": "Công đoàn Điện lực Ninh Bình"},
    }


async def test_search_without_diacritics_finds_units_below_and_pages_with_cursors(
    client, tokens, tree, elsewhere
):
    query = (
        "query($q: String, $after: String) { units(search: $q, first: 1, after: $after) "
        "{ edges { node { id name } } pageInfo { hasNextPage endCursor } } }"
    )
    body = await gql(client, tokens, tree.tld, ["officer"], query, q="dien luc")
    page = body["data"]["units"]
    assert [e["node"]["id"] for e in page["edges"]] == [tree.cs1]
    assert page["pageInfo"]["hasNextPage"]
    body = await gql(
        client,
        tokens,
        tree.tld,
        ["officer"],
        query,
        q="dien luc",
        after=page["pageInfo"]["endCursor"],
    )
    page = body["data"]["units"]
    assert [e["node"]["name"] for e in page["edges"]] == ["Công đoàn Điện lực Ninh Bình"]
    assert not page["pageInfo"]["hasNextPage"]
    # A province sees only its own subtree; the other tree's units never.
    body = await gql(client, tokens, tree.prov2, ["officer"], query, q="dien luc")
    assert body["data"]["units"]["edges"] == []
    body = await gql(client, tokens, tree.tld, ["officer"], query, q="khac")
    assert body["data"]["units"]["edges"] == []
    body = await gql(client, tokens, tree.tld, ["officer"], query, q="x", after="not-a-cursor")
    assert code_of(body) == "INVALID_INPUT"


async def test_an_admin_registers_moves_merges_and_dissolves_below_their_unit(
    client, tokens, tree, owner
):
    register = "mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id level sectorType parentId } }"
    new = {
        "id": tree.cs9,
        "name": "CĐCS Công ty Dệt Nam Định",
        "level": "GRASSROOTS",
        "parentId": tree.upper3,
        "sectorType": "DN tư nhân",
        "members": 300,
        "effectiveOn": "2024-03-01",
    }
    body = await gql(client, tokens, tree.tld, ["admin"], register, i=new)
    assert body["data"]["registerUnit"] == {
        "id": tree.cs9,
        "level": "GRASSROOTS",
        "sectorType": "DN tư nhân",
        "parentId": tree.upper3,
    }
    # The province next door may not register under another province's unit.
    body = await gql(client, tokens, tree.prov1, ["admin"], register, i={**new, "id": tree.cs8})
    assert code_of(body) == "NOT_FOUND"
    move = 'mutation($id: ID!, $p: ID!) { moveUnit(id: $id, parentId: $p, effectiveOn: "2024-07-01") { parentId } }'
    body = await gql(client, tokens, tree.tld, ["admin"], move, id=tree.cs9, p=tree.upper1)
    assert body["data"]["moveUnit"] == {"parentId": tree.upper1}
    merge = 'mutation($a: ID!, $b: ID!) { mergeUnits(ids: [$a], into: $b, effectiveOn: "2025-07-01") { id } }'
    body = await gql(client, tokens, tree.tld, ["admin"], merge, a=tree.prov2, b=tree.prov1)
    assert body["data"]["mergeUnits"] == {"id": tree.prov1}
    dissolve = 'mutation($id: ID!) { dissolveUnit(id: $id, effectiveOn: "2025-08-01") { status } }'
    body = await gql(client, tokens, tree.prov1, ["admin"], dissolve, id=tree.cs9)
    assert body["data"]["dissolveUnit"] == {"status": "DISSOLVED"}
    body = await gql(client, tokens, tree.prov1, ["admin"], dissolve, id=tree.upper1)
    assert code_of(body) == "UNIT_HAS_CHILDREN"


async def test_no_token_reaches_only_version_and_server_time(client):
    response = await client.post("/graphql", json={"query": "{ version serverTime }"})
    assert response.status_code == 200 and "errors" not in response.json()
    response = await client.post("/graphql", json={"query": "{ me { subject } }"})
    assert code_of(response.json()) == "UNAUTHENTICATED"
    response = await client.post("/graphql", json={"query": '{ unit(id: "x") { id } }'})
    assert code_of(response.json()) == "UNAUTHENTICATED"


def forged(settings, **changes) -> str:
    claims = {
        "sub": "s",
        "tenant": "t-1",
        "roles": ["officer"],
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer,
        "iat": 1_700_000_000,
        "exp": 4_000_000_000,
    }
    secret = changes.pop("secret", settings.jwt_secret)
    claims.update(changes)
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda s: forged(s, exp=1_700_000_100), "TOKEN_EXPIRED"),
        (lambda s: "not.a.token", "TOKEN_MALFORMED"),
        (
            lambda s: forged(s, secret="another-secret-that-is-also-32-bytes-long"),
            "TOKEN_BAD_SIGNATURE",
        ),
        (lambda s: forged(s, aud="someone-else"), "TOKEN_WRONG_AUDIENCE"),
        (lambda s: forged(s, roles=["king"]), "TOKEN_BAD_CLAIMS"),
    ],
)
async def test_a_bad_token_gets_401_with_its_code_even_for_version(client, settings, make, code):
    response = await client.post(
        "/graphql",
        json={"query": "{ version }"},
        headers={"Authorization": f"Bearer {make(settings)}"},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert response.headers["www-authenticate"] == "Bearer"


async def test_row_level_security_holds_when_a_query_forgets_its_tenant_filter(
    runtime, tree, elsewhere
):
    """A raw select through the request's own connection sees only the caller's reach."""
    async with access.scope(runtime.pool, principal(tree.upper1, "officer")) as conn:
        units = {r["tenant_id"] for r in await conn.fetch("SELECT tenant_id FROM units")}
        parents = {r["tenant_id"] for r in await conn.fetch("SELECT tenant_id FROM unit_parents")}
        closure = await conn.fetch("SELECT ancestor, descendant FROM unit_closure")
    assert units == {tree.upper1, tree.cs1}
    assert parents == {tree.upper1, tree.cs1}
    assert all(tree.upper1 in (r["ancestor"], r["descendant"]) for r in closure)
    async with access.scope(runtime.pool, None) as conn:
        assert await conn.fetchval("SELECT count(*) FROM units") == 0
    async with runtime.pool.acquire() as conn:  # outside any scope: nothing either
        assert await conn.fetchval("SELECT count(*) FROM units") == 0
        # The application may not write the tree at all: only the registry's functions do
        # (shared/migrations/0010_dated_reach.sql).
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await conn.execute("DELETE FROM units")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await conn.execute(
                "INSERT INTO units (tenant_id, name, level, members, since, search_key, version) "
                "VALUES ('forged', 'X', 'national', 0, '2024-01-01', 'x', 1)"
            )


AUDIT = (
    "query($id: ID!) { verification(unitId: $id) { ok count headSeq } "
    "auditLog(unitId: $id) { seq eventType data meta } }"
)


@pytest.mark.parametrize("relation", RELATIONS)
async def test_auditors_read_and_verify_the_history_of_their_subtree_only(
    client, tokens, tree, elsewhere, relation
):
    viewer, target = (unit_id(tree, elsewhere, n) for n in RELATIONS[relation])
    for role in ROLES:
        body = await gql(client, tokens, viewer, [role], AUDIT, id=target)
        readable = relation == "self" or (relation in BELOW and role != "member")
        if role == "auditor" and relation in {"self", *BELOW}:
            assert body["data"]["verification"] == {"ok": True, "count": 1, "headSeq": 1}
            [event] = body["data"]["auditLog"]
            assert event["eventType"] == "UnitRegistered" and event["data"]["unit_id"] == target
        elif readable:
            assert code_of(body) == "FORBIDDEN", (relation, role, body)
        else:
            assert code_of(body) == "NOT_FOUND", (relation, role, body)
