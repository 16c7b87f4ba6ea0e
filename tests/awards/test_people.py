"""A unit's people (issue 14, points 1 and 2), as specifications: given a unit, when a command,
then these events and this register (or this error, and nothing written: no event, no key)."""

from __future__ import annotations

from datetime import date

import orjson
import pytest

from services.awards.bulk import PersonRow, register_people
from services.awards.domain import Particulars, Personal
from shared import audit
from shared.errors import DomainError
from tests.awards.conftest import officer

AN = Personal("Nguyễn Thị An", 1988, ("0912 345 678",))
AN_PLAIN = Particulars(
    "female", post="Công nhân", direct_worker=True, employed_since=date(2010, 3, 1)
)


async def _person(owner, person_id):
    return await owner.fetchrow("SELECT * FROM people WHERE person_id = $1", person_id)


async def _written(owner, tenant):
    """What the unit has written so far: its events and its people's keys."""
    events = await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tenant)
    keys = await owner.fetchval("SELECT count(*) FROM person_keys WHERE tenant_id = $1", tenant)
    return events, keys


async def test_a_registered_person_is_in_the_register_and_their_name_in_no_event(
    awards, tree, owner, store
):
    pid = await awards.register_person(
        officer(tree.cs1), staff_number="NV-001", personal=AN, particulars=AN_PLAIN
    )
    row = await _person(owner, pid)
    assert row["full_name"] == "Nguyễn Thị An" and row["birth_year"] == 1988
    assert orjson.loads(row["contacts"]) == ["0912 345 678"]
    assert (row["gender"], row["direct_worker"], row["status"]) == ("female", True, "active")
    assert row["search_key"] == "nguyen thi an" and row["staff_number"] == "NV-001"
    log = await store.read_log(tree.cs1)
    registered = [e for e in log if e.event_type == "PersonRegistered"]
    assert len(registered) == 1 and registered[0].stream_id == pid
    stored = orjson.dumps(registered[0].data).decode()
    # Accented letters: the sealed text (base64) holds ASCII only, so a short ASCII probe could
    # turn up in it by chance; the plain fields are checked by name.
    for secret in ("Nguyễn", "Nguy\\u1ec5n"):
        assert secret not in stored
    assert not {"full_name", "birth_year", "contacts"} & set(registered[0].data)
    assert registered[0].data["sealed"].startswith("v1.")
    assert registered[0].data["gender"] == "female"  # counts need it plain


async def test_a_staff_number_names_one_person_of_a_unit(awards, tree, owner):
    actor = officer(tree.cs1)
    await awards.register_person(actor, staff_number="NV-7", personal=AN, particulars=AN_PLAIN)
    before = await _written(owner, tree.cs1)
    with pytest.raises(DomainError) as refused:
        await awards.register_person(
            actor, staff_number="nv-7", personal=Personal("Lê Văn Bình"), particulars=AN_PLAIN
        )
    assert refused.value.code == "PERSON_ALREADY_REGISTERED"
    assert await _written(owner, tree.cs1) == before
    # Another unit has its own numbers.
    await awards.register_person(
        officer(tree.upper2), staff_number="NV-7", personal=AN, particulars=AN_PLAIN
    )


@pytest.mark.parametrize(
    ("personal", "particulars", "field"),
    [
        (Personal(""), AN_PLAIN, "fullName"),
        (Personal("A" * 301), AN_PLAIN, "fullName"),
        (Personal("Nguyễn Thị An", 1850), AN_PLAIN, "birthYear"),
        (Personal("Nguyễn Thị An", 2999), AN_PLAIN, "birthYear"),
        (Personal("Nguyễn Thị An", None, ("x",) * 6), AN_PLAIN, "contacts"),
        (AN, Particulars("other"), "gender"),
        (AN, Particulars("female", cadre="boss"), None),
        (AN, Particulars("female", cadre_since=date(2020, 1, 1)), "cadreSince"),
        (AN, Particulars("female", employed_since=date(2031, 1, 1)), "employedSince"),
    ],
)
async def test_a_person_breaking_a_rule_is_refused_and_nothing_is_written(
    awards, tree, owner, personal, particulars, field
):
    before = await _written(owner, tree.cs1)
    with pytest.raises(DomainError) as refused:
        await awards.register_person(
            officer(tree.cs1), staff_number="", personal=personal, particulars=particulars
        )
    assert refused.value.code == "PERSON_INVALID"
    assert refused.value.context.get("field") == field
    assert await _written(owner, tree.cs1) == before


async def test_only_an_officer_of_the_unit_registers_its_people(awards, tree, owner):
    from tests.awards.conftest import principal

    before = await _written(owner, tree.cs1)
    with pytest.raises(DomainError) as refused:
        await awards.register_person(
            principal(tree.cs1, "member"), staff_number="", personal=AN, particulars=AN_PLAIN
        )
    assert refused.value.code == "FORBIDDEN"
    assert await _written(owner, tree.cs1) == before


async def test_an_amendment_is_sealed_with_the_same_key(awards, tree, owner, store):
    actor = officer(tree.cs1)
    pid = await awards.register_person(actor, staff_number="", personal=AN, particulars=AN_PLAIN)
    key_id = (await _person(owner, pid))["key_id"]
    await awards.amend_person(
        actor,
        pid,
        personal=Personal("Nguyễn Thị Ân", 1988),
        particulars=Particulars("female", post="Tổ trưởng", direct_worker=False),
    )
    row = await _person(owner, pid)
    assert (row["full_name"], row["post"], row["direct_worker"]) == (
        "Nguyễn Thị Ân",
        "Tổ trưởng",
        False,
    )
    assert row["key_id"] == key_id and row["version"] == 2
    amended = [e for e in await store.read_log(tree.cs1) if e.event_type == "PersonAmended"]
    assert "Ân" not in orjson.dumps(amended[-1].data).decode()


async def test_a_person_who_left_is_kept_and_changes_no_more(awards, tree, owner, clock):
    actor = officer(tree.cs1)
    pid = await awards.register_person(actor, staff_number="", personal=AN, particulars=AN_PLAIN)
    await awards.record_leaving(actor, pid, on=clock.on, reason="Nghỉ hưu")
    row = await _person(owner, pid)
    assert (row["status"], row["left_on"]) == ("left", clock.on)
    assert orjson.loads(row["history"])[-1] == {
        "on": clock.on.isoformat(),
        "what": "left",
        "reason": "Nghỉ hưu",
    }
    # The reason is written about the person: sealed in the log with their key.
    [left] = await owner.fetch(
        "SELECT data::text AS data FROM events WHERE stream_id = $1 AND event_type = 'PersonLeft'",
        pid,
    )
    assert "Nghỉ hưu" not in left["data"] and orjson.loads(left["data"])["sealed"]
    before = await _written(owner, tree.cs1)
    with pytest.raises(DomainError) as refused:
        await awards.amend_person(actor, pid, personal=AN, particulars=AN_PLAIN)
    assert refused.value.code == "PERSON_LEFT"
    with pytest.raises(DomainError) as refused:
        await awards.record_leaving(actor, pid, on=clock.on, reason="lần nữa")
    assert refused.value.code == "PERSON_LEFT"
    assert await _written(owner, tree.cs1) == before


async def test_erasing_destroys_the_key_keeps_the_counts_and_the_chain(
    awards, tree, owner, store, clock
):
    actor = officer(tree.cs1)
    pid = await awards.register_person(
        actor, staff_number="NV-9", personal=AN, particulars=AN_PLAIN
    )
    await awards.record_leaving(actor, pid, on=clock.on, reason="Chị An chuyển công tác")
    key_id = (await _person(owner, pid))["key_id"]
    women = "SELECT count(*) FROM people WHERE tenant_id = $1 AND gender = 'female'"
    counted = await owner.fetchval(women, tree.cs1)

    await awards.erase_person(actor, pid, legal_reason="Yêu cầu xóa theo Nghị định 13/2023/NĐ-CP")

    row = await _person(owner, pid)
    assert row["full_name"] is None and row["birth_year"] is None and row["search_key"] == ""
    assert orjson.loads(row["contacts"]) == [] and row["status"] == "erased"
    assert row["gender"] == "female" and row["staff_number"] == "NV-9"
    assert await owner.fetchval(women, tree.cs1) == counted
    assert await owner.fetchval("SELECT count(*) FROM person_keys WHERE key_id = $1", key_id) == 0
    history = orjson.loads(row["history"])
    assert [h["what"] for h in history] == ["registered", "left", "erased"]
    assert "reason" not in history[1]  # it named her
    assert history[2]["reason"].startswith("Yêu cầu xóa")
    # In the log too: sealed with the key destroyed, nothing in any event names her reason.
    logged = await owner.fetchval(
        "SELECT string_agg(data::text, ' ') FROM events WHERE tenant_id = $1", tree.cs1
    )
    assert "chuyển công tác" not in logged.casefold()
    # The log is untouched and still verifies: the chain covers the sealed text.
    assert any(e.event_type == "PersonErased" for e in await store.read_log(tree.cs1))
    verdict = await audit.verify_tenant(owner, tree.cs1)
    assert verdict.ok, verdict.describe()

    before = await _written(owner, tree.cs1)
    for change in (
        awards.erase_person(actor, pid, legal_reason="lần nữa"),
        awards.amend_person(actor, pid, personal=AN, particulars=AN_PLAIN),
    ):
        with pytest.raises(DomainError) as refused:
            await change
        assert refused.value.code == "PERSON_ERASED"
    assert await _written(owner, tree.cs1) == before


async def test_another_units_person_is_not_found(awards, tree, owner):
    pid = await awards.register_person(
        officer(tree.cs1), staff_number="", personal=AN, particulars=AN_PLAIN
    )
    for unit in (tree.upper2, tree.upper1):  # a unit aside, and even the unit above
        with pytest.raises(DomainError) as refused:
            await awards.erase_person(officer(unit), pid, legal_reason="thử")
        assert refused.value.code == "NOT_FOUND"
    assert (await _person(owner, pid))["status"] == "active"


async def test_people_in_bulk_name_each_bad_row_and_a_second_sending_writes_nothing(
    awards, tree, owner
):
    rows = [
        PersonRow(
            1, "A1", Personal("Trần Văn Cường", 1979), Particulars("male", direct_worker=True)
        ),
        PersonRow(2, "", Personal("Không Số Hiệu"), Particulars("male")),
        PersonRow(3, "A3", Personal("Phạm Thị Dung"), Particulars("female")),
        PersonRow(4, "a1", Personal("Trùng Số Hiệu"), Particulars("male")),
        PersonRow(5, "A5", Personal("Lò Thị Én", 2999), Particulars("female")),
    ]
    result = await register_people(awards, officer(tree.cs1), rows, max_rows=100)
    assert (result.received, result.written, result.unchanged) == (5, 2, 0)
    assert [(e.row, e.code, e.field) for e in result.errors] == [
        (2, "PERSON_INVALID", "staffNumber"),
        (4, "PERSON_DUPLICATE_ROW", None),
        (5, "PERSON_INVALID", "birthYear"),
    ]
    names = await owner.fetch(
        "SELECT staff_number, full_name FROM people WHERE tenant_id = $1 ORDER BY 1", tree.cs1
    )
    assert [tuple(r) for r in names] == [("A1", "Trần Văn Cường"), ("A3", "Phạm Thị Dung")]
    before = await _written(owner, tree.cs1)
    again = await register_people(awards, officer(tree.cs1), rows[:1] + rows[2:3], max_rows=100)
    assert (again.written, again.unchanged, again.error_count) == (0, 2, 0)
    assert await _written(owner, tree.cs1) == before


async def test_a_bulk_over_the_limit_is_refused_whole(awards, tree, owner):
    rows = [PersonRow(n, f"B{n}", Personal(f"Người {n}"), Particulars("male")) for n in range(1, 4)]
    before = await _written(owner, tree.cs1)
    with pytest.raises(DomainError) as refused:
        await register_people(awards, officer(tree.cs1), rows, max_rows=2)
    assert refused.value.code == "BULK_TOO_LARGE"
    assert await _written(owner, tree.cs1) == before
