"""The database's own defences, as an attacker holding the application's role would meet them.

Issue 12: functions that run with the owner's rights resolve no name through a schema the
application can write (finding 4); what an append hashes is exactly what it stores (finding 6);
the event store's write-side tables answer each request only within its reach (finding 5).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from urllib.parse import urlsplit

import asyncpg
import orjson
import pytest

from shared import audit, canonical
from shared import migrate as migrate_module
from shared.db import APP_ROLE, with_user
from shared.errors import InvalidEventData, MigrationError
from shared.eventstore import EventStore, NewEvent, PreparedAppend
from tests.conftest import fresh_database

SINGLE = "SELECT * FROM thidua_append($1, $2, NULL, NULL)"
BATCH = "SELECT * FROM thidua_append_batch($1, $2, $3)"
OPEN = "SELECT * FROM thidua_open_logs($1, $2)"


def content(tenant: str, data: object, *, stream: uuid.UUID | None = None, version: int = 1):
    return canonical.content(
        tenant_id=tenant,
        stream_id=stream or uuid.uuid4(),
        stream_version=version,
        event_type="ThingHappened",
        schema_version=1,
        data=data,
        meta={},
    )


def payload(tenant: str, data: object, **kw) -> str:
    return canonical.dumps(content(tenant, data, **kw)).decode()


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


async def drop_database(server_url: str, url: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE "{database_name(url)}" WITH (FORCE)')
    finally:
        await admin.close()


async def verdict(owner: asyncpg.Connection, tenant: str) -> audit.Verdict:
    return await audit.verify_tenant(owner, tenant)


# --- Finding 4: the owner's functions cannot be hijacked -------------------------------------

# What the attacker of issue 12 planted: a better match for the append's convert_to(text,
# 'UTF8') than pg_catalog's convert_to(text, name). Called with the owner's rights, it switches
# the append-only trigger off and rewrites the log's first event.
PLANT = """
CREATE FUNCTION {schema}.convert_to(t text, enc text) RETURNS bytea LANGUAGE plpgsql AS $f$
BEGIN
    IF current_user <> 'thidua_app' THEN
        EXECUTE 'ALTER TABLE public.events DISABLE TRIGGER events_append_only';
        EXECUTE $q$UPDATE public.events SET data = '{{"n": 666}}' WHERE seq = 1$q$;
    END IF;
    RETURN pg_catalog.convert_to(t, enc::name);
END $f$
"""


@pytest.fixture
async def pg14_database(server_url: str) -> AsyncIterator[str]:
    """A database of its own, migrated, whose schema public everyone may write again, as on
    PostgreSQL 14 (and any cluster upgraded from it): planted functions stay in it."""
    url = await fresh_database(server_url)
    owner = await asyncpg.connect(url)
    try:
        await owner.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
        yield url
    finally:
        await owner.close()
        await drop_database(server_url, url)


async def test_a_function_planted_in_public_is_never_run_with_the_owners_rights(pg14_database):
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    owner = await asyncpg.connect(pg14_database)
    app = await asyncpg.connect(with_user(pg14_database, APP_ROLE))
    try:
        # Given a log of one event, and the attacker's convert_to in public, first in its path
        stream = uuid.uuid4()
        first = payload(tenant, {"n": 1}, stream=stream)
        [one] = await app.fetch(SINGLE, tenant, [first])
        await app.execute(PLANT.format(schema="public"))
        await app.execute("SET search_path = public, pg_catalog")

        # When it appends through each of the owner's functions
        second = payload(tenant, {"n": 2}, stream=stream, version=2)
        [two] = await app.fetch(SINGLE, tenant, [second])
        third = payload(tenant, {"n": 3}, stream=stream, version=3)
        await app.fetch(BATCH, [tenant], [1], [third])
        await app.fetch(OPEN, [f"{tenant}-new"], [payload(f"{tenant}-new", {"n": 1})])

        # Then the planted function never ran: the first event is as written, the trigger
        # holds, and every hash is the documented one
        assert orjson.loads(
            await owner.fetchval("SELECT data::text FROM events WHERE tenant_id = $1", tenant)
        ) == {"n": 1}
        assert (
            await owner.fetchval(
                "SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'events_append_only'"
            )
            == "O"
        )
        expected = canonical.chain(one["out_hash"], 2, two["out_recorded_at"], second.encode())
        assert bytes(two["out_hash"]) == expected
        for unit in (tenant, f"{tenant}-new"):
            assert (await verdict(owner, unit)).ok
    finally:
        await app.close()
        await owner.close()


async def test_a_temporary_shadow_is_never_run_nor_read_by_the_owners_functions(pg14_database):
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    owner = await asyncpg.connect(pg14_database)
    app = await asyncpg.connect(with_user(pg14_database, APP_ROLE))
    try:
        # Given temporary tables and a temporary convert_to, where a cluster lets the
        # application have them
        await owner.execute(
            f'GRANT TEMPORARY ON DATABASE "{database_name(pg14_database)}" TO {APP_ROLE}'
        )
        await app.execute(PLANT.format(schema="pg_temp"))
        await app.execute(
            "CREATE TEMP TABLE tenant_heads (tenant_id text PRIMARY KEY, seq bigint, hash bytea, "
            "updated_at timestamptz)"
        )
        await app.execute("INSERT INTO tenant_heads VALUES ($1, 41, '\\xdeadbeef', now())", tenant)
        await app.execute("SET search_path = pg_temp, public, pg_catalog")

        # When it appends
        first = payload(tenant, {"n": 1})
        [row] = await app.fetch(SINGLE, tenant, [first])

        # Then the log starts at seq 1 from genesis, as if the shadows were not there
        assert row["out_seq"] == 1
        assert bytes(row["out_hash"]) == canonical.chain(
            canonical.GENESIS_HASH, 1, row["out_recorded_at"], first.encode()
        )
        assert (await verdict(owner, tenant)).ok
    finally:
        await app.close()
        await owner.close()


async def test_a_database_where_the_application_planted_a_function_is_not_migrated(
    server_url, monkeypatch
):
    # Given a PostgreSQL 14-style database at migration 8, where the application planted its
    # convert_to before the upgrade
    url = await fresh_database(server_url, migrated=False)
    every = migrate_module.available()
    owner = await asyncpg.connect(url)
    app = None
    try:
        monkeypatch.setattr(
            migrate_module, "available", lambda: [m for m in every if m.version < 9]
        )
        await migrate_module.migrate(owner)
        await owner.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
        app = await asyncpg.connect(with_user(url, APP_ROLE))
        await app.execute(PLANT.format(schema="public"))
        monkeypatch.setattr(migrate_module, "available", lambda: every)

        # When it is migrated, then migration 9 refuses and names what it found
        with pytest.raises(MigrationError, match=r"convert_to\(text,text\)"):
            await migrate_module.migrate(owner)
        assert max(await migrate_module.applied(owner)) == 8
    finally:
        if app is not None:
            await app.close()
        await owner.close()
        await drop_database(server_url, url)


async def test_after_migrating_the_application_cannot_create_anything_in_public(store):
    async with store.pool.acquire() as conn:
        for statement in (
            "CREATE TABLE public.h3_probe (n int)",
            PLANT.format(schema="public"),
            "CREATE OPERATOR public.|| (LEFTARG = bytea, RIGHTARG = bytea, FUNCTION = byteacat)",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)


async def test_every_function_with_the_owners_rights_searches_only_pg_catalog(owner):
    rows = await owner.fetch(
        "SELECT p.proname, p.proconfig FROM pg_proc p "
        "WHERE p.pronamespace = 'public'::regnamespace AND p.prosecdef"
    )
    assert {r["proname"] for r in rows} >= {
        "thidua_append",
        "thidua_append_batch",
        "thidua_open_logs",
    }
    for row in rows:
        assert row["proconfig"] == ["search_path=pg_catalog, pg_temp"], row["proname"]


# --- Finding 6: what is hashed is what is stored ---------------------------------------------

HONEST = {"n": 1, "title": "A", "tags": [{"k": 1}]}

# Each turns the canonical text of an event with data HONEST into another text that PostgreSQL
# parses into (nearly) the same fields: hashed as sent, it would verify as BROKEN for ever.
FORGERIES = {
    "data twice at the top": lambda t: t.replace('{"data":{', '{"data":{"n":666},"data":{', 1),
    "a key twice in data": lambda t: t.replace('"n":1,', '"n":666,"n":1,', 1),
    "a key twice deeper": lambda t: t.replace('{"k":1}', '{"k":2,"k":1}', 1),
    "keys out of order": lambda t: t.replace(
        '"n":1,"tags":[{"k":1}],"title":"A"', '"title":"A","n":1,"tags":[{"k":1}]', 1
    ),
    "whitespace": lambda t: t.replace('"data":{', '"data": {', 1),
    "an escape not needed": lambda t: t.replace('"title":"A"', '"title":"\\u0041"', 1),
    "an escaped slash": lambda t: t.replace('"title":"A"', '"title":"\\/"', 1),
    "an exponent": lambda t: t.replace('"n":1,', '"n":1e0,', 1),
    "a fraction": lambda t: t.replace('"n":1,', '"n":1.0,', 1),
    "a negative zero": lambda t: t.replace('"n":1,', '"n":-0,', 1),
    "beyond 64 bits": lambda t: t.replace('"n":1,', '"n":9223372036854775808,', 1),
}


async def count(store: EventStore, tenant: str) -> int:
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('thidua.tenant', $1, true)", tenant)
        return await conn.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tenant)


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
async def test_a_payload_that_does_not_read_back_as_sent_is_refused(store, owner, tenant, forge):
    # Given a log of one honest event
    await store.append(tenant, [NewEvent(uuid.uuid4(), 1, "ThingHappened", HONEST)])
    honest = payload(tenant, HONEST)
    forged = forge(honest)
    assert forged != honest and orjson.loads(forged)  # valid JSON, another text

    # When the application's role appends the forged text itself
    async with store.pool.acquire() as conn:
        with pytest.raises(asyncpg.PostgresError) as caught:
            await conn.fetch(SINGLE, tenant, [forged])

    # Then it is refused with its code, nothing is written, and the log still verifies
    assert caught.value.sqlstate == "TD005"
    assert await count(store, tenant) == 1
    assert (await verdict(owner, tenant)).ok


async def test_the_store_names_the_refusal_event_data_invalid(store, tenant):
    forged = FORGERIES["data twice at the top"](payload(tenant, HONEST))
    event = NewEvent(uuid.uuid4(), 1, "ThingHappened", HONEST)
    async with store.pool.acquire() as conn:
        with pytest.raises(InvalidEventData) as caught:
            await store.append_prepared(PreparedAppend(tenant, [forged], [event]), connection=conn)
    assert caught.value.code == "EVENT_DATA_INVALID"
    assert await count(store, tenant) == 0


async def test_the_batch_and_the_bulk_opening_refuse_it_too(store, owner, tenant):
    forged = FORGERIES["a key twice deeper"](payload(tenant, HONEST))
    async with store.pool.acquire() as conn:
        for statement, args in (
            (BATCH, ([tenant], [1], [forged])),
            (OPEN, ([tenant], [forged])),
        ):
            with pytest.raises(asyncpg.PostgresError) as caught:
                await conn.fetch(statement, *args)
            assert caught.value.sqlstate == "TD005"
    assert await count(store, tenant) == 0
    assert (
        await owner.fetchval(
            "SELECT count(*) FROM tenant_heads WHERE tenant_id = $1 AND seq > 0", tenant
        )
        == 0
    )


def every_kind_of_text() -> dict[str, object]:
    """Keys and strings where PostgreSQL's writing and canonical.dumps could part: every ASCII
    character (controls escaped), code points beyond, keys whose byte order is not their length
    order, the ends of 64 bits."""
    ascii_all = "".join(chr(c) for c in range(1, 128))
    return {
        "ascii": ascii_all,
        ascii_all: "as a key",
        "controls": "\b\f\n\r\t\x0b\x1f\x7f",
        "vi": "Thi đua “Lao động giỏi” – Ả Ẩ ỹ",
        "beyond": "\u2028\u2029\ufeff😀𝔘",
        "é": 1,
        "z": 2,
        "Z": 3,
        "ả": 4,
        "aa": 5,
        "b": 6,
        "𝔘": 7,
        "": 8,
        "ints": [0, -1, 2**63 - 1, -(2**63), 10**18],
        "nested": [[], {}, [{"y": None, "x": True}], {"b": False, "a": [1, [2, [3]]]}],
    }


async def test_honest_payloads_of_every_kind_are_stored_and_verify(store, owner, tenant):
    data = every_kind_of_text()
    stream = uuid.uuid4()
    await store.append(tenant, [NewEvent(stream, 1, "ThingHappened", data)])
    await store.append(tenant, [NewEvent(stream, 2, "ThingHappened", {"again": data})])
    [first, _] = await store.read_log(tenant)
    assert first.data == data
    assert (await verdict(owner, tenant)).ok


# --- Finding 5: the event store's write-side tables, by reach --------------------------------


@pytest.fixture
async def siblings(store: EventStore, owner: asyncpg.Connection, tenant: str):
    """A parent and two grassroots units below it, each with a log, an idempotency key and a
    snapshot: (parent, one, sibling)."""
    parent, one, sibling = f"{tenant}-p", f"{tenant}-a", f"{tenant}-b"
    await owner.executemany(
        "INSERT INTO unit_closure (ancestor, descendant, depth, valid_from) "
        "VALUES ($1, $2, $3, '2020-01-01')",
        [
            (parent, parent, 0),
            (one, one, 0),
            (sibling, sibling, 0),
            (parent, one, 1),
            (parent, sibling, 1),
        ],
    )
    for unit in (one, sibling):
        stream = uuid.uuid4()
        await store.append(
            unit, [NewEvent(stream, 1, "ThingHappened", {"n": 1})], idempotency_key=f"key-{unit}"
        )
        await owner.execute(
            "INSERT INTO snapshots (tenant_id, stream_id, stream_version, aggregate, state, "
            "digest) VALUES ($1, $2, 1, 'Thing', '{\"n\": 1}', $3)",
            unit,
            stream,
            bytes(32),
        )
    return parent, one, sibling


async def as_unit(store: EventStore, unit: str, statement: str, *args):
    """One statement in a request's transaction of an officer of ``unit`` (as shared/access.scope
    opens it: the unit, and a reach below it)."""
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "SELECT set_config('thidua.tenant', $1, true), set_config('thidua.reach', 'subtree', "
            "true)",
            unit,
        )
        return await conn.fetch(statement, *args)


TABLES = ("snapshots", "idempotency_keys", "tenant_heads")


@pytest.mark.parametrize("table", TABLES)
async def test_a_unit_reads_its_own_rows_and_none_of_its_siblings(store, siblings, table):
    _, one, sibling = siblings
    read = f"SELECT tenant_id FROM {table} WHERE tenant_id = ANY($1::text[])"
    rows = await as_unit(store, one, read, [one, sibling])
    assert [r["tenant_id"] for r in rows] == [one]


@pytest.mark.parametrize("table", TABLES)
async def test_a_parent_reads_the_rows_of_the_units_below_it(store, siblings, table):
    parent, one, sibling = siblings
    read = f"SELECT tenant_id FROM {table} WHERE tenant_id = ANY($1::text[]) ORDER BY 1"
    rows = await as_unit(store, parent, read, [one, sibling])
    assert [r["tenant_id"] for r in rows] == [one, sibling]


@pytest.mark.parametrize("table", TABLES)
async def test_a_former_parent_and_a_parent_to_be_read_none_of_a_units_rows(
    store, owner, siblings, table
):
    # Given a unit that was below another until 2021 and will be below a third next year
    _, one, _ = siblings
    former, future = f"{one}-former", f"{one}-future"
    await owner.executemany(
        "INSERT INTO unit_closure (ancestor, descendant, depth, valid_from, valid_to) "
        "VALUES ($1, $2, $3, $4, $5)",
        [
            (former, former, 0, date(2020, 1, 1), None),
            (former, one, 1, date(2020, 1, 1), date(2021, 1, 1)),
            (future, future, 0, date(2020, 1, 1), None),
            (future, one, 1, date.today() + timedelta(days=365), None),
        ],
    )
    read = f"SELECT tenant_id FROM {table} WHERE tenant_id = $1"
    # Then neither reads what the unit is now (a snapshot, a head, a key)
    for parent in (former, future):
        assert await as_unit(store, parent, read, one) == []


@pytest.mark.parametrize("table", TABLES)
async def test_a_connection_no_request_scoped_reads_nothing(store, siblings, table):
    _, one, sibling = siblings
    async with store.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT tenant_id FROM {table} WHERE tenant_id = ANY($1::text[])", [one, sibling]
        )
    assert rows == []


async def test_a_unit_can_neither_change_nor_delete_nor_plant_a_siblings_snapshot(
    store, owner, siblings
):
    _, one, sibling = siblings
    before = await owner.fetch("SELECT * FROM snapshots WHERE tenant_id = $1", sibling)

    # When the unit's request goes for its sibling's snapshot
    updated = await as_unit(
        store,
        one,
        "UPDATE snapshots SET state = '{\"n\": 666}' WHERE tenant_id = $1 RETURNING 1",
        sibling,
    )
    deleted = await as_unit(
        store, one, "DELETE FROM snapshots WHERE tenant_id = $1 RETURNING 1", sibling
    )
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_unit(
            store,
            one,
            "INSERT INTO snapshots (tenant_id, stream_id, stream_version, aggregate, state, "
            "digest) VALUES ($1, $2, 1, 'Thing', '{}', $3)",
            sibling,
            uuid.uuid4(),
            bytes(32),
        )
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_unit(
            store,
            one,
            "UPDATE snapshots SET tenant_id = $2 WHERE tenant_id = $1",
            one,
            sibling,
        )

    # Then nothing of the sibling's changed
    assert updated == [] and deleted == []
    assert await owner.fetch("SELECT * FROM snapshots WHERE tenant_id = $1", sibling) == before


async def test_a_unit_writes_its_own_snapshots_and_a_parent_those_below_it(store, siblings):
    parent, one, _ = siblings
    stream = uuid.uuid4()
    insert = (
        "INSERT INTO snapshots (tenant_id, stream_id, stream_version, aggregate, state, digest) "
        "VALUES ($1, $2, 1, 'Thing', '{}', $3) RETURNING 1"
    )
    assert await as_unit(store, one, insert, one, stream, bytes(32)) != []
    deleted = await as_unit(
        store,
        parent,
        "DELETE FROM snapshots WHERE tenant_id = $1 AND stream_id = $2 RETURNING 1",
        one,
        stream,
    )
    assert deleted != []


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO idempotency_keys VALUES ($1, 'k', '\\x00', 1, 1, now())",
        "DELETE FROM idempotency_keys WHERE tenant_id = $1",
        "UPDATE tenant_heads SET seq = 0 WHERE tenant_id = $1",
        "DELETE FROM tenant_heads WHERE tenant_id = $1",
    ],
)
async def test_keys_and_heads_are_written_by_the_owners_functions_alone(store, siblings, statement):
    _, one, _ = siblings
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_unit(store, one, statement, one)


async def test_the_owners_functions_still_append_for_any_unit_from_any_connection(
    store, owner, siblings
):
    # Group commit appends for many units on connections no request scoped: the functions
    # run as the owner, whom row-level security does not bind.
    _, one, sibling = siblings
    assert not any(
        r["relforcerowsecurity"]
        for r in await owner.fetch(
            "SELECT relforcerowsecurity FROM pg_class WHERE oid = ANY($1::regclass[])",
            list(TABLES),
        )
    )
    payloads = [payload(u, {"n": 2}) for u in sorted((one, sibling))]
    rows = await as_unit(store, one, BATCH, sorted((one, sibling)), [1, 1], payloads)
    assert rows[0]["out_seqs"] == [2, 2]
    for unit in (one, sibling):
        assert (await verdict(owner, unit)).ok


def nested(levels: int) -> dict:
    value: object = "đáy"
    for _ in range(levels):
        value = {"a": value}
    return value  # type: ignore[return-value]


async def test_a_payload_nested_past_the_limit_is_refused_and_one_within_it_taken(
    store, owner, tenant
):
    # An attacker's review stored data nested 256 deep: taken by the check, it left an event
    # that `thidua verify` could not write back (orjson stops near 255 levels).
    async with store.pool.acquire() as conn:
        with pytest.raises(asyncpg.PostgresError) as caught:
            await conn.fetch(SINGLE, tenant, [payload(tenant, nested(100))])
        assert caught.value.sqlstate == "TD005"
        assert await count(store, tenant) == 0
        await conn.fetch(SINGLE, tenant, [payload(tenant, nested(40))])
    assert await count(store, tenant) == 1
    assert (await verdict(owner, tenant)).ok


# --- The runner's role: every row of its tables, and COPY -------------------------------------


async def test_the_runners_policies_let_it_reach_every_row_of_every_table_it_may_touch(owner):
    """Migration 0046 lets the runner bypass row-level security (for COPY): that gives it no row
    its policies did not, as long as, on each table under row-level security, every command it
    holds a privilege for (on any column) has a permissive policy for the runner that lets every
    row through, and no policy that applies to it restricts anything. A table added later
    without one, or with a narrower one, fails here."""
    rows = await owner.fetch(
        "SELECT c.relname, p.cmd, "
        "CASE WHEN p.privilege = 'DELETE' "
        "THEN has_table_privilege('thidua_projector', c.oid, p.privilege) "
        "ELSE has_any_column_privilege('thidua_projector', c.oid, p.privilege) END AS held, "
        "EXISTS (SELECT 1 FROM pg_policy q WHERE q.polrelid = c.oid AND q.polpermissive "
        "  AND 'thidua_projector'::regrole = ANY (q.polroles) AND q.polcmd IN (p.cmd, '*') "
        "  AND coalesce(pg_get_expr(q.polqual, q.polrelid), 'true') = 'true' "
        "  AND coalesce(pg_get_expr(q.polwithcheck, q.polrelid), 'true') = 'true') AS open "
        "FROM pg_class c CROSS JOIN (VALUES ('r', 'SELECT'), ('a', 'INSERT'), ('w', 'UPDATE'), "
        "('d', 'DELETE')) AS p (cmd, privilege) "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') "
        "AND c.relrowsecurity"
    )
    held = [(r["relname"], r["cmd"]) for r in rows if r["held"]]
    assert len({table for table, _ in held}) >= 30  # the log, the tree, every read model
    assert [(r["relname"], r["cmd"]) for r in rows if r["held"] and not r["open"]] == []
    # A policy for the runner (or for everyone) that narrows, or restricts: bypassed, it would
    # give the runner more than it had.
    narrowing = await owner.fetch(
        "SELECT c.relname, q.polname FROM pg_policy q JOIN pg_class c ON c.oid = q.polrelid "
        "WHERE c.relnamespace = 'public'::regnamespace "
        "AND ('thidua_projector'::regrole = ANY (q.polroles) OR 0 = ANY (q.polroles)) "
        "AND (NOT q.polpermissive "
        "  OR coalesce(pg_get_expr(q.polqual, q.polrelid), 'true') <> 'true' "
        "  OR coalesce(pg_get_expr(q.polwithcheck, q.polrelid), 'true') <> 'true')"
    )
    assert [tuple(r) for r in narrowing] == []


async def test_the_runner_copies_its_rows_where_the_migrating_role_could_let_it(owner):
    bypasses, superuser = await owner.fetchrow(
        "SELECT (SELECT rolbypassrls FROM pg_roles WHERE rolname = 'thidua_projector'), "
        "(SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user)"
    )
    if superuser:  # a role without the attribute may not give it (migration 0046's notice)
        assert bypasses
    async with owner.transaction():
        await owner.execute("SET LOCAL ROLE thidua_projector")
        secured = await owner.fetchval(
            "SELECT row_security_active('decision_recipients'::regclass)"
        )
    assert secured is not bypasses
    app = await owner.fetchval("SELECT rolbypassrls FROM pg_roles WHERE rolname = $1", APP_ROLE)
    assert app is False
