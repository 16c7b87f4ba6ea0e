"""The campaign mutations as a front end meets them over HTTP, with the projection runner in the
same process: a mutation's answer and the caller's next query show what it did (read your own
writes), and a repeated ``Idempotency-Key`` answers as the first request did and writes nothing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from tests.registry.test_graphql import code_of, gql

from .conftest import seed_003

REGISTER = """mutation($c: ID!) {
  registerForCampaign(campaignId: $c, contents: ["Phát huy sáng kiến, sáng tạo"], late: true) {
    id } }"""
MINE = "{ myRegistrations { campaignId status } }"
INITIATIVE = """mutation($t: String!) {
  registerInitiative(input: {title: $t, authors: ["Trần Thị Bình"]}) { id title } }"""
INITIATIVES = (
    """query($u: ID!) { initiatives(unitId: $u, subtree: false) { edges { node { id } } } }"""
)


async def keyed(client, tokens, tenant: str, key: str, query: str, **variables) -> dict:
    token = tokens.issue(tenant=tenant, roles=["officer"], subject="s", ttl=timedelta(minutes=5))
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_registration_shows_in_the_units_next_query(campaigns, tree, client, tokens):
    # Given the province's launched campaign
    province = await seed_003(campaigns, tree.prov1)

    # When an upper unit registers through GraphQL
    body = await gql(client, tokens, tree.upper1, ["officer"], REGISTER, c=str(province))

    # Then the answer shows the campaign, and the unit's very next query its registration
    assert body.get("errors") is None, body
    assert body["data"]["registerForCampaign"]["id"] == str(province)
    mine = await gql(client, tokens, tree.upper1, ["officer"], MINE)
    assert {"campaignId": str(province), "status": "registered"} in mine["data"]["myRegistrations"]


async def test_an_initiative_is_in_the_mutations_answer_and_the_next_list(tree, client, tokens):
    # When a grassroots unit registers an initiative through GraphQL
    body = await gql(client, tokens, tree.cs1, ["officer"], INITIATIVE, t="Máy cắt tôn")

    # Then its answer and the unit's next list show it
    initiative = body["data"]["registerInitiative"]
    assert initiative["title"] == "Máy cắt tôn"
    listed = await gql(client, tokens, tree.cs1, ["officer"], INITIATIVES, u=tree.cs1)
    assert initiative["id"] in [e["node"]["id"] for e in listed["data"]["initiatives"]["edges"]]


async def test_the_same_idempotency_key_twice_answers_the_same_and_writes_once(
    tree, client, tokens, owner
):
    # Given an initiative registered under an Idempotency-Key
    key = f"khoa-{uuid.uuid4().hex}"
    first = await keyed(client, tokens, tree.cs1, key, INITIATIVE, t="Máy uốn thép")

    # When the same request comes again with the same key
    again = await keyed(client, tokens, tree.cs1, key, INITIATIVE, t="Máy uốn thép")

    # Then it answers as the first did, and the log holds one initiative
    assert again == first
    count = await owner.fetchval(
        "SELECT count(*) FROM events WHERE tenant_id = $1 AND event_type = "
        "'InitiativeRegistered' AND data->>'title' = 'Máy uốn thép'",
        tree.cs1,
    )
    assert count == 1


async def test_the_same_key_with_other_input_is_refused_and_writes_nothing(
    tree, client, tokens, owner
):
    # Given an initiative registered under an Idempotency-Key
    key = f"khoa-{uuid.uuid4().hex}"
    await keyed(client, tokens, tree.cs1, key, INITIATIVE, t="Máy ép gạch")

    # When another initiative comes with the same key
    body = await keyed(client, tokens, tree.cs1, key, INITIATIVE, t="Máy sàng cát")

    # Then it is refused, and nothing of it is in the log
    assert code_of(body) == "IDEMPOTENCY_KEY_REUSED"
    count = await owner.fetchval(
        "SELECT count(*) FROM events WHERE tenant_id = $1 AND data->>'title' = 'Máy sàng cát'",
        tree.cs1,
    )
    assert count == 0
