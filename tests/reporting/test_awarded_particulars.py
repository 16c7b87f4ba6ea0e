"""The women and direct workers among the persons awarded, as a specification: counted from the
decision's own event, with the particulars it found (a person amended later changes no past
decision's figures), so that a rebuild counts what the live run counted, whatever order it reads
the units' logs in."""

from __future__ import annotations

import uuid

from services.reporting.projections import PROJECTION
from shared.clock import today
from shared.projection_rebuild import rebuild
from tests.awards.test_people_graphql import AN, register
from tests.awards.test_revocation import decided
from tests.registry.test_graphql import gql

AWARDED = """query ($unit: ID, $year: Int!) { summary(unitId: $unit, firstYear: $year) {
  total { awardedPersons awardedWomen awardedDirectWorkers awardedUnrecorded } } }"""
AMEND = """mutation($id: ID!, $input: PersonInput!) { amendPerson(id: $id, input: $input) {
  gender directWorker } }"""


async def awarded(client, tokens, tree) -> dict[str, int]:
    body = await gql(
        client, tokens, tree.upper1, ["officer"], AWARDED, unit=tree.upper1, year=today().year
    )
    assert "errors" not in body, body
    return body["data"]["summary"]["total"]


async def test_a_decision_counts_its_persons_as_it_found_them_live_and_after_a_rebuild(
    client, tokens, tree, runtime, owner
):
    # Given a woman, a direct worker of Hoa Lư, awarded by upper1's decision
    an = AN | {"staffNumber": uuid.uuid4().hex[:10]}
    person = await register(client, tokens, tree.cs1, an)
    decision = await decided(
        client,
        tokens,
        tree,
        {"subject": "PERSON", "personId": person["id"], "award": "lao_dong_tien_tien"},
    )
    assert decision["recipientCount"] == 1, decision
    # When her record is amended afterwards: a man, not a direct worker
    changed = await gql(
        client,
        tokens,
        tree.cs1,
        ["officer"],
        AMEND,
        id=person["id"],
        input=an | {"gender": "MALE", "directWorker": False},
    )
    assert changed["data"]["amendPerson"] == {"gender": "MALE", "directWorker": False}, changed
    # Then the decision's year counts a woman and a direct worker awarded
    expected = {
        "awardedPersons": 1,
        "awardedWomen": 1,
        "awardedDirectWorkers": 1,
        "awardedUnrecorded": 0,
    }
    assert await awarded(client, tokens, tree) == expected
    # and so does every figure rebuilt from the log, which reads her amendment in the same
    # batch as the decision
    await rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=128)
    assert await awarded(client, tokens, tree) == expected
    # and the decision's event says what it found
    recipients = await owner.fetchval(
        "SELECT data->'recipients' FROM events WHERE tenant_id = $1 "
        "AND event_type = 'DecisionIssued' ORDER BY seq DESC LIMIT 1",
        tree.upper1,
    )
    assert '"woman": true' in recipients and '"direct_worker": true' in recipients
