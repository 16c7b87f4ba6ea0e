"""What one GraphQL request may ask: a cost budget, text and list limits, no suggestions when
introspection is off, and bounded logs of the errors (issue 12, finding 7)."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import timedelta

import httpx
import pytest
import structlog

from services.gateway.app import create_app
from services.gateway.limits import SPELT_CHARS, Place, computed, spelt
from services.registry.commands import commands_of
from shared.auth import TokenService

LOG = "{ %s }"
AUDIT_LOG = 'a%d: auditLog(unitId: "%s", first: 500) { seq data }'
VERIFY = 'v%d: verification(unitId: "%s") { ok count }'


@pytest.fixture
async def unit(runtime) -> str:
    registry = commands_of(runtime)
    unit_id = f"l{uuid.uuid4().hex[:8]}-tld"
    await registry.register(None, unit_id=unit_id, name="Đơn vị thử giới hạn", level="national")
    return unit_id


def app_client(settings, runtime, **changes) -> httpx.AsyncClient:
    app = create_app(settings.model_copy(update=changes), runtime)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def client(settings, runtime):
    async with app_client(settings, runtime) as c:
        yield c


@pytest.fixture
def auth(settings, unit):
    def headers(*roles: str) -> dict[str, str]:
        token = TokenService.from_settings(settings).issue(
            tenant=unit, roles=roles or ["auditor"], subject="s", ttl=timedelta(minutes=5)
        )
        return {"Authorization": f"Bearer {token}"}

    return headers


async def post(client, headers, query: str, **variables) -> dict:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def code_of(body: dict) -> str | None:
    errors = body.get("errors") or []
    return (errors[0].get("extensions") or {}).get("code") if errors else None


# ------------------------------------------------------------------------------------- cost


async def test_thirty_audit_logs_of_500_events_are_refused_before_execution(client, auth, unit):
    query = LOG % " ".join(AUDIT_LOG % (i, unit) for i in range(30))
    body = await post(client, auth(), query)
    assert code_of(body) == "QUERY_TOO_COSTLY" and body.get("data") is None
    assert body["errors"][0]["extensions"]["cost"] > body["errors"][0]["extensions"]["maxCost"]


async def test_thirty_verifications_are_refused_and_a_few_are_answered(client, auth, unit):
    many = await post(client, auth(), LOG % " ".join(VERIFY % (i, unit) for i in range(30)))
    assert code_of(many) == "QUERY_TOO_COSTLY"
    few = await post(client, auth(), LOG % " ".join(VERIFY % (i, unit) for i in range(3)))
    assert few["data"] == {f"v{i}": {"ok": True, "count": 1} for i in range(3)}


async def test_list_sizes_given_through_variables_count_too(client, auth, unit):
    fields = " ".join(f"a{i}: auditLog(unitId: $u, first: $n) {{ seq }}" for i in range(30))
    query = "query($u: ID!, $n: Int!) { " + fields + " }"
    assert code_of(await post(client, auth(), query, u=unit, n=500)) == "QUERY_TOO_COSTLY"
    small = await post(client, auth(), query, u=unit, n=1)
    assert small["data"]["a29"] == [{"seq": 1}]


async def test_a_whole_float_size_variable_counts_as_the_same_size(client, auth, unit):
    # graphql-core takes 500.0 for an Int: the budget must count it as 500, not as the default.
    query = (
        "query($n: Int! = 1) { "
        + " ".join(f'a{i}: auditLog(unitId: "{unit}", first: $n) {{ seq }}' for i in range(30))
        + " }"
    )
    body = await post(client, auth(), query, n=500.0)
    assert code_of(body) == "QUERY_TOO_COSTLY" and body.get("data") is None


@pytest.mark.parametrize(
    "query",
    [
        "{ units(first: %s) { edges { node { id } } } }" % ("9" * 5000),
        "query($n: Int = %s) { units(first: $n) { edges { node { id } } } }" % ("9" * 5000),
        "{ units(first: %s) { edges { node { id } } } }" % ("9" * 41),
    ],
)
async def test_a_number_literal_too_long_for_any_field_is_the_clients_error(client, auth, query):
    # Python reads no int past 4,300 digits: this answered INTERNAL (a ValueError in validation).
    body = await post(client, auth(), query)
    assert code_of(body) == "INVALID_INPUT" and body.get("data") is None


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($u: ID) { pledges(unitId: $u) { total } }", {"u": "\u0000"}),
        ("query($u: ID) { works(unitId: $u) { edges { node { id } } } }", {"u": "a\u0000"}),
        ('{ initiatives(unitId: "\\u0000") { count } }', {}),
        ("query($u: ID) { pledges(unitId: $u) { total } }", {"u": "a\u001b[2Jb"}),
        ('{ initiatives(unitId: "a\\u0007") { count } }', {}),
        ("query($u: ID) { pledges(unitId: $u) { total } }", {"u": "a\u009b2Jb"}),  # C1 CSI
    ],
)
async def test_a_control_character_in_any_text_is_refused_before_it_reaches_the_database(
    client, auth, query, variables
):
    # PostgreSQL's text cannot hold NUL: these answered INTERNAL. ESC and BEL were kept in
    # reasons and shown as they came.
    body = await post(client, auth("officer"), query, **variables)
    assert code_of(body) == "INVALID_INPUT" and body.get("data") is None


async def test_tabs_and_line_breaks_are_texts_own(client, auth):
    # a paragraph's text (objectives, an achievement summary) keeps them: only looked up here
    query = "query($q: String) { people(search: $q) { total } }"
    body = await post(client, auth("officer"), query, q="một\tdòng\r\nhai\u000bdòng\u000c")
    assert body["data"] == {"people": {"total": 0}}


async def test_a_tight_budget_refuses_what_a_loose_one_runs(settings, runtime, auth):
    # 10 campaigns (an unsized list) × (1 + 10 phases × (1 + their review)) + 1 = 221
    nested = "{ campaigns { phases { review { report } } } }"
    async with app_client(settings, runtime, graphql_max_cost=220) as tight:
        assert code_of(await post(tight, auth("officer"), nested)) == "QUERY_TOO_COSTLY"
    async with app_client(settings, runtime, graphql_max_cost=221) as loose:
        assert (await post(loose, auth("officer"), nested))["data"] == {"campaigns": []}


async def test_validation_and_cost_are_computed_once_per_distinct_query(client, auth, unit):
    query = f'{{ unit(id: "{unit}") {{ id name }} }}'
    await post(client, auth(), query)
    before = computed.copy()
    await post(client, auth(), query)
    assert computed == before
    await post(client, auth(), query.replace("name", "name level"))
    assert computed - before == {"validation": 1, "literals": 1, "cost": 1}


# ------------------------------------------------------------------------------- text, lists

SEARCH = "query($s: String) { campaigns(search: $s) { id } }"


async def test_a_3_mb_search_is_refused_as_a_literal_and_as_a_variable(client, auth):
    huge = "a" * 3_000_000
    literal = await post(client, auth("officer"), f'{{ campaigns(search: "{huge}") {{ id }} }}')
    assert code_of(literal) == "TEXT_TOO_LONG" and literal.get("data") is None
    variable = await post(client, auth("officer"), SEARCH, s=huge)
    assert code_of(variable) == "TEXT_TOO_LONG" and variable.get("data") is None


async def test_a_search_term_has_a_tighter_limit_than_other_text(client, auth):
    assert (await post(client, auth("officer"), SEARCH, s="ninh binh"))["data"] == {"campaigns": []}
    assert code_of(await post(client, auth("officer"), SEARCH, s="x" * 201)) == "TEXT_TOO_LONG"


async def test_text_deep_inside_an_input_object_is_measured(client, auth, settings):
    query = (
        "mutation($r: [PledgeRowInput!]!) { registerPledges(campaignId: $c, rows: $r) { written } }"
    )
    query = query.replace("mutation(", "mutation($c: ID!, ")
    rows = [{"name": "Nguyễn Văn A", "title": "LĐ tiên tiến", "ref": "x" * 20_001}]
    body = await post(client, auth("officer"), query, c=str(uuid.uuid4()), r=rows)
    assert code_of(body) == "TEXT_TOO_LONG" and "$r[0].ref" in body["errors"][0]["message"]


async def test_a_list_over_the_limit_is_refused_but_bulk_rows_may_be_longer(client, auth):
    merge = (
        "mutation($ids: [ID!]!) "
        '{ mergeUnits(ids: $ids, into: "x", effectiveOn: "2030-01-01") { id } }'
    )
    body = await post(client, auth("admin"), merge, ids=[f"u{i}" for i in range(1001)])
    assert code_of(body) == "LIST_TOO_LONG"
    bulk = (
        "mutation($c: ID!, $r: [PledgeRowInput!]!) "
        "{ registerPledges(campaignId: $c, rows: $r) { written } }"
    )
    rows = [{"name": f"Người {i}", "title": "LĐ tiên tiến"} for i in range(1001)]
    body = await post(client, auth("officer"), bulk, c=str(uuid.uuid4()), r=rows)
    assert code_of(body) not in {"LIST_TOO_LONG", None}


# -------------------------------------------------------------------------------- suggestions


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ versio }", {}),
        ("{ units(firs: 1) { edges { node { id } } } }", {}),
        ("{ campaigns(kind: YEARLYY) { id } }", {}),
        ("query($k: CampaignKnd) { version }", {}),
    ],
)
async def test_no_did_you_mean_with_introspection_off(settings, runtime, auth, query, variables):
    async with app_client(settings, runtime, graphiql=False) as closed:
        body = await post(closed, auth("officer"), query, **variables)
    assert body["errors"] and not any("Did you mean" in e["message"] for e in body["errors"])
    async with app_client(settings, runtime, graphiql=True) as opened:
        body = await post(opened, auth("officer"), query, **variables)
    assert any("Did you mean" in e["message"] for e in body["errors"])


async def test_no_did_you_mean_in_a_refused_variable_with_introspection_off(
    settings, runtime, auth, caplog
):
    query = "query($k: CampaignKind) { campaigns(kind: $k) { id } }"
    async with app_client(settings, runtime, graphiql=False) as closed:
        with structlog.testing.capture_logs() as events:
            body = await post(closed, auth("officer"), query, k="YEARLYY")
    assert body["errors"] and "Did you mean" not in str(body) + str(events)


# ------------------------------------------------------------------------------------ logging


async def test_an_error_logs_the_operation_a_hash_and_a_bounded_prefix(client, auth, caplog):
    # Given a one-line query of a megabyte with a mistake at its very end
    query = "query Huge {" + " " * 1_000_000 + "nosuchfield }"
    with caplog.at_level(logging.DEBUG), structlog.testing.capture_logs() as events:
        body = await post(client, auth(), query, ignored=None)
    assert body["errors"]
    # Then the log names it by operation and hash, and holds only a little of it
    [event] = [e for e in events if e["event"] == "graphql_refused"]
    assert event["operation"] == "Huge" and event["log_level"] == "info"
    assert event["query_sha256"] == hashlib.sha256(query.encode()).hexdigest()
    assert event["query_chars"] == len(query)
    logged = sum(len(str(e)) for e in events) + sum(len(r.getMessage()) for r in caplog.records)
    assert logged < 5_000


def test_a_place_deep_in_a_variable_is_named_by_its_start():
    """A refusal names where the value is; 900 lists deep, by its first 200 characters."""
    place: Place = "$nominees"
    for _ in range(900):
        place = (place, 0)
    named = spelt((place, "summary"))
    assert len(named) == SPELT_CHARS and named.startswith("$nominees[0][0]") and named[-1] == "…"
    assert spelt(((("$nominees", 3), "earlierTitles"), 1)) == "$nominees[3].earlierTitles[1]"
