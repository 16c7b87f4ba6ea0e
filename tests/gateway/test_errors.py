"""What a client sees when its request is malformed: a client error with a stable code, never
the masked ``INTERNAL`` of an unexpected exception, never an HTTP 5xx."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from graphql import GraphQLError

from services.gateway.app import create_app
from shared.auth import TokenService
from shared.graphql import LIMIT

NOWHERE = "00000000-0000-0000-0000-000000000000"
AMEND_TARGET = (
    "mutation($t: BigInt!) { amendIndicatorTarget("
    f'campaignId: "{NOWHERE}", code: "c", target: $t, reason: "r") {{ id }} }}'
)


@pytest.fixture
async def client(settings, runtime):
    app = create_app(settings, runtime)
    token = TokenService.from_settings(settings).issue(
        tenant="ldld-ninh-binh", roles=["officer"], subject="s", ttl=timedelta(minutes=5)
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {token}"},
    ) as c:
        yield c


def codes(body: dict) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


def literal_target(value: str) -> str:
    return (
        f'mutation {{ amendIndicatorTarget(campaignId: "{NOWHERE}", code: "c", '
        f'target: {value}, reason: "r") {{ id }} }}'
    )


@pytest.mark.parametrize(
    "literal",
    [
        "1000000000000001",
        "-1000000000000001",
        '"12ab"',
        '"--5"',
        '"1000000000000001"',
        '"١٢"',  # digits, but not ASCII ones
        "1.5",
        "true",
        "[1]",
        "9" * 5000,  # beyond what int() converts at all
    ],
)
async def test_a_bigint_literal_out_of_range_or_malformed_is_a_client_error(client, literal):
    # Given a BigInt argument written in the query as something that is not an integer within
    # ±10^15, when the query is sent,
    response = await client.post("/graphql", json={"query": literal_target(literal)})
    # then it is refused as invalid input, before any resolver runs, not as a server failure.
    body = response.json()
    assert response.status_code < 500
    assert codes(body) == ["INVALID_INPUT"], body
    assert body.get("data") is None


async def test_a_bigint_float_literal_in_recognise_initiative_is_a_client_error(client):
    query = (
        f'mutation {{ recogniseInitiative(initiativeId: "{NOWHERE}", benefitVnd: 1.5, '
        "appliedAt: []) { id } }"
    )
    body = (await client.post("/graphql", json={"query": query})).json()
    assert codes(body) == ["INVALID_INPUT"], body


@pytest.mark.parametrize(
    "value",
    [LIMIT + 1, -LIMIT - 1, "12ab", "1000000000000001", 1.5, True, [1], {"a": 1}, "9" * 5000],
)
async def test_a_bigint_variable_out_of_range_or_malformed_is_a_client_error(client, value):
    response = await client.post(
        "/graphql", json={"query": AMEND_TARGET, "variables": {"t": value}}
    )
    body = response.json()
    assert response.status_code < 500
    assert codes(body) == ["INVALID_INPUT"], body
    assert "Variable '$t'" in body["errors"][0]["message"]


@pytest.mark.parametrize("value", [LIMIT, -LIMIT, str(LIMIT), 0])
async def test_a_bigint_at_the_limit_is_accepted_and_reaches_the_resolver(client, value):
    # The campaign does not exist: the answer is the resolver's NOT_FOUND, so the value passed.
    response = await client.post(
        "/graphql", json={"query": AMEND_TARGET, "variables": {"t": value}}
    )
    assert codes(response.json()) == ["NOT_FOUND"], response.json()


def nested_lists(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [10_000, 100_000])
async def test_deeply_nested_json_in_variables_is_a_400_with_a_code(client, depth):
    # Given a request body whose variables nest lists 10,000 deep (beyond Python's own json
    # decoder), when it is posted,
    body = '{"query": "{ version }", "variables": {"x": ' + nested_lists(depth) + "}}"
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    # then it is refused as the client's error, in the shape of a GraphQL error.
    assert response.status_code == 400
    assert codes(response.json()) == ["INVALID_INPUT"]


async def test_deeply_nested_json_in_get_variables_is_a_400_with_a_code(client):
    response = await client.get(
        "/graphql", params={"query": "{ version }", "variables": nested_lists(10_000)}
    )
    assert response.status_code == 400
    assert codes(response.json()) == ["INVALID_INPUT"]


async def test_nested_json_the_schema_follows_is_refused_by_graphql_itself(client):
    # A list argument nested deeper than graphql-core coerces is its own refusal, still a 200.
    query = "query($t: [[[String]]]) { version }"
    body = {"query": query, "variables": {"t": [[[[[[["x"]]]]]]]}}
    response = await client.post("/graphql", json=body)
    assert response.status_code == 200
    assert codes(response.json()) and "INTERNAL" not in codes(response.json())


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        b"\xff\xfe{",  # not UTF-8
        '"just a string"',
        "[]",
        '{"query": 42}',
        '{"query": "{ version }", "variables": 1}',
    ],
)
async def test_a_malformed_body_is_a_400_with_a_code_in_json(client, content):
    response = await client.post(
        "/graphql", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert codes(response.json()) == ["INVALID_INPUT"]
    assert is_vietnamese(response.json()["errors"][0]["message"])


def is_vietnamese(message: str) -> bool:
    """Not strawberry's English: a letter only Vietnamese writes."""
    return any(letter in message for letter in "ăâđêôơưạảấầẩậắằặẹẻẽếềểệịọỏốồổộớờởợụủứừửựỳỷỹ")


@pytest.mark.parametrize(
    ("method", "params", "content", "content_type", "message"),
    [
        ("POST", None, "{ version }", "text/plain", "Kiểu nội dung không được hỗ trợ"),
        ("POST", None, "[1]", "application/json", "Nội dung yêu cầu phải là một đối tượng JSON"),
        ("POST", None, "{}", "application/json", "Yêu cầu không có câu truy vấn GraphQL"),
        ("GET", {"query": "mutation { x }"}, None, None, "phải gửi bằng POST"),
        (
            "POST",
            None,
            '{"query": "query A { version } query B { version }", "operationName": "C"}',
            "application/json",
            "không có thao tác mang tên operationName",
        ),
    ],
)
async def test_strawberrys_own_refusals_are_said_in_vietnamese(
    client, method, params, content, content_type, message
):
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.request(
        method, "/graphql", params=params, content=content, headers=headers
    )
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert message in error["message"] and is_vietnamese(error["message"])


async def test_syntax_and_validation_errors_carry_a_code(client):
    syntax = (await client.post("/graphql", json={"query": "{ version "})).json()
    unknown = (await client.post("/graphql", json={"query": "{ nosuchfield }"})).json()
    assert codes(syntax) == ["GRAPHQL_PARSE_FAILED"]
    assert codes(unknown) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_a_variable_of_the_wrong_type_is_a_client_error_not_internal(client):
    query = "query($id: ID!) { campaign(id: $id) { id } }"
    body = (await client.post("/graphql", json={"query": query, "variables": {"id": [1]}})).json()
    assert codes(body) == ["INVALID_INPUT"], body


async def test_a_sized_list_field_written_without_arguments_is_answered(client):
    # Crash found while reading the served app's log: the cost budget read a field's arguments
    # as a list, and graphql-core leaves them None when the field is written without any.
    response = await client.post("/graphql", json={"query": "{ units { edges { node { id } } } }"})
    body = response.json()
    assert "INTERNAL" not in codes(body), body
    assert isinstance(body["data"]["units"]["edges"], list)


@pytest.mark.parametrize(
    "query",
    [
        '{ campaigns(search: "\\u0000", kind: YEARLY) { version } }',  # as the fuzzer sent it
        '{ units(search: "a\\u0000") { edges { cursor } } }',
    ],
)
async def test_a_nul_character_in_a_search_is_invalid_input(client, query):
    # Crash found by the fuzzer (test_fuzz.py, 400 examples): PostgreSQL text cannot hold NUL, so
    # the search query itself failed (CharacterNotInRepertoireError) and answered INTERNAL.
    body = (await client.post("/graphql", json={"query": query})).json()
    assert codes(body) == ["INVALID_INPUT"], body


async def test_a_lone_surrogate_in_variables_is_a_400(client):
    # Valid JSON, but no UTF-8 text: it could reach neither the database nor a log line.
    content = (
        '{"query": "query($s: String) { campaigns(search: $s) { id } }", '
        '"variables": {"s": "\\ud800"}}'
    )
    response = await client.post(
        "/graphql", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert codes(response.json()) == ["INVALID_INPUT"]


def test_a_plain_graphql_error_raised_while_answering_a_field_is_a_bug_not_the_clients():
    # graphql-core refusing what a resolver returned ("Int cannot represent …") carries a path
    # and no code: it answered GRAPHQL_VALIDATION_FAILED and was logged as a refusal.
    from services.gateway.errors import is_unexpected

    assert is_unexpected(GraphQLError("Int cannot represent non-integer value", path=["a"]))
    assert not is_unexpected(GraphQLError("Cannot query field 'x'"))  # validation: no path
    coded = GraphQLError("quá dài", path=["a"], extensions={"code": "TEXT_TOO_LONG"})
    assert not is_unexpected(coded)
