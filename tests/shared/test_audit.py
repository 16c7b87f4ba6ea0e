"""The hash chain under attack: whoever rewrites the log directly in SQL is named by the verifier,
at the first bad seq. And the spec in docs/audit.md is the code's own behaviour."""

from __future__ import annotations

import io
import re
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner

from services.gateway.cli import app as cli
from shared import audit, canonical
from shared.eventstore import NewEvent

DOC = Path(__file__).parents[2] / "docs" / "audit.md"


@asynccontextmanager
async def tampering(owner):
    """What an attacker with the owner's rights does: switch the append-only trigger off."""
    async with owner.transaction():
        await owner.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        yield owner
        await owner.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")


async def ten_events(store, tenant: str) -> None:
    stream = uuid.uuid4()
    for version in range(1, 11, 2):
        await store.append(
            tenant,
            [
                NewEvent(stream, version, "NoteWritten", {"text": f"ghi chú {version}"}),
                NewEvent(stream, version + 1, "NoteWritten", {"text": f"ghi chú {version + 1}"}),
            ],
            meta={"actor": "can-bo"},
        )


async def test_an_untouched_log_verifies(store, owner, tenant):
    await ten_events(store, tenant)
    verdict = await audit.verify_tenant(owner, tenant)
    assert verdict.ok
    assert (verdict.count, verdict.head_hash) == (10, (await store.head(tenant)).hash)
    assert verdict.describe().startswith(f"OK {tenant}: 10 events, head ")


async def test_an_empty_log_verifies(owner, tenant):
    verdict = await audit.verify_tenant(owner, tenant)
    assert verdict.ok and verdict.count == 0


async def test_a_changed_row_is_named(store, owner, tenant):
    await ten_events(store, tenant)
    async with tampering(owner):
        await owner.execute(
            """UPDATE events SET data = '{"text": "đã sửa"}' WHERE tenant_id = $1 AND seq = 4""",
            tenant,
        )
    verdict = await audit.verify_tenant(owner, tenant)
    assert (verdict.ok, verdict.bad_seq, verdict.problem) == (False, 4, "changed")


async def test_a_row_nested_too_deep_to_write_back_is_named_not_a_crash(store, owner, tenant):
    # An event deeper than canonical JSON can be written (orjson stops near 255 levels) made
    # `thidua verify` end in a traceback, never reaching OK or BROKEN.
    await ten_events(store, tenant)
    deep = "[" * 300 + "]" * 300
    async with tampering(owner):
        await owner.execute(
            "UPDATE events SET data = jsonb_build_object('text', $2::jsonb) "
            "WHERE tenant_id = $1 AND seq = 6",
            tenant,
            deep,
        )
    verdict = await audit.verify_tenant(owner, tenant)
    assert (verdict.ok, verdict.bad_seq, verdict.problem) == (False, 6, "unreadable")


async def test_a_changed_recorded_time_is_named(store, owner, tenant):
    await ten_events(store, tenant)
    async with tampering(owner):
        await owner.execute(
            "UPDATE events SET recorded_at = recorded_at - interval '1 day' "
            "WHERE tenant_id = $1 AND seq = 7",
            tenant,
        )
    verdict = await audit.verify_tenant(owner, tenant)
    assert (verdict.bad_seq, verdict.problem) == (7, "changed")


async def test_a_deleted_row_is_named(store, owner, tenant):
    await ten_events(store, tenant)
    async with tampering(owner):
        await owner.execute("DELETE FROM events WHERE tenant_id = $1 AND seq = 6", tenant)
    verdict = await audit.verify_tenant(owner, tenant)
    assert (verdict.ok, verdict.bad_seq, verdict.problem) == (False, 6, "missing")


async def test_a_log_cut_short_is_named(store, owner, tenant):
    await ten_events(store, tenant)
    async with tampering(owner):
        await owner.execute("DELETE FROM events WHERE tenant_id = $1 AND seq >= 9", tenant)
    verdict = await audit.verify_tenant(owner, tenant)
    assert (verdict.bad_seq, verdict.problem) == (9, "missing")


async def test_two_rows_with_swapped_data_are_named_at_the_first(store, owner, tenant):
    await ten_events(store, tenant)
    async with tampering(owner):
        await owner.execute(
            """UPDATE events e SET data = o.data
                 FROM events o
                WHERE e.tenant_id = $1 AND o.tenant_id = $1
                  AND ((e.seq = 3 AND o.seq = 8) OR (e.seq = 8 AND o.seq = 3))""",
            tenant,
        )
    verdict = await audit.verify_tenant(owner, tenant)
    assert (verdict.bad_seq, verdict.problem) == (3, "changed")


async def test_reordered_rows_are_named(store, owner, tenant):
    await ten_events(store, tenant)
    async with tampering(owner):
        # Swap whole rows: each keeps its own fields and hash, but sits at the other's place.
        await owner.execute(
            "UPDATE events SET seq = -seq WHERE tenant_id = $1 AND seq IN (5, 6)", tenant
        )
        await owner.execute(
            "UPDATE events SET seq = CASE seq WHEN -5 THEN 6 ELSE 5 END "
            "WHERE tenant_id = $1 AND seq IN (-5, -6)",
            tenant,
        )
    verdict = await audit.verify_tenant(owner, tenant)
    assert (verdict.bad_seq, verdict.problem) == (5, "reordered")
    assert "vốn được ghi ở seq 6" in verdict.detail


async def test_a_deleted_row_with_the_rest_renumbered_is_caught(store, owner, tenant):
    await ten_events(store, tenant)
    async with tampering(owner):
        await owner.execute("DELETE FROM events WHERE tenant_id = $1 AND seq = 4", tenant)
        await owner.execute(
            "UPDATE events SET seq = seq - 1 + 100 WHERE tenant_id = $1 AND seq > 4", tenant
        )
        await owner.execute(
            "UPDATE events SET seq = seq - 100 WHERE tenant_id = $1 AND seq > 100", tenant
        )
    verdict = await audit.verify_tenant(owner, tenant)
    assert (verdict.bad_seq, verdict.problem) == (4, "reordered")
    assert "vốn được ghi ở seq 5" in verdict.detail


async def test_an_edited_prev_hash_is_a_change(store, owner, tenant):
    await ten_events(store, tenant)
    async with tampering(owner):
        await owner.execute(
            "UPDATE events SET prev_hash = decode(repeat('11', 32), 'hex') "
            "WHERE tenant_id = $1 AND seq = 5",
            tenant,
        )
    verdict = await audit.verify_tenant(owner, tenant)
    assert (verdict.bad_seq, verdict.problem) == (5, "changed")


async def test_a_row_written_beyond_the_head_is_named(store, owner, tenant):
    await ten_events(store, tenant)
    await owner.execute(
        "INSERT INTO events SELECT tenant_id, 11, stream_id, 11, event_type, schema_version, "
        "data, meta, recorded_at, hash, hash FROM events WHERE tenant_id = $1 AND seq = 10",
        tenant,
    )
    verdict = await audit.verify_tenant(owner, tenant)
    assert (verdict.bad_seq, verdict.problem) == (11, "changed")


async def test_verification_while_the_tenant_keeps_appending_is_not_a_false_alarm(
    store, owner, tenant
):
    import asyncio

    await ten_events(store, tenant)
    stream = uuid.uuid4()

    async def keep_appending():
        for version in range(1, 40):
            await store.append(tenant, [NewEvent(stream, version, "NoteWritten", {"i": version})])

    writer = asyncio.create_task(keep_appending())
    verdicts = []
    while not writer.done():
        verdicts.append(await audit.verify_tenant(owner, tenant))
    await writer
    assert verdicts and all(v.ok for v in verdicts), [v.describe() for v in verdicts if not v.ok]


def test_the_worked_example_in_the_doc_is_what_the_code_computes():
    body = canonical.dumps(
        canonical.content(
            tenant_id="ldld-ninhbinh",
            stream_id=UUID("0b6f3c52-8a51-4a0e-9d3f-2f1c7a9e4b10"),
            stream_version=1,
            event_type="CampaignLaunched",
            schema_version=1,
            data={"name": "Phong trào thi đua năm 2021", "phases": 2, "plan_due": "2021-02-20"},
            meta={"actor": "can-bo-1", "request_id": "r-7"},
        )
    )
    at = datetime(2021, 1, 20, 8, 30, 0, 123456, tzinfo=UTC)
    digest = canonical.chain(canonical.GENESIS_HASH, 1, at, body).hex()
    text = DOC.read_text(encoding="utf-8")
    assert body.decode() in text
    assert f"content ({len(body)} bytes)" in text
    assert digest in text


def standalone_verifier():
    """The stdlib-only verifier printed in docs/audit.md, run as an auditor would run it."""
    text = DOC.read_text(encoding="utf-8")
    code = re.search(r"<!-- standalone-verifier -->\n```python\n(.*?)```", text, re.S)[1]
    namespace: dict[str, object] = {"__name__": "auditor"}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace["verify"]


async def test_the_docs_standalone_verifier_checks_a_real_export(store, owner, tenant):
    await ten_events(store, tenant)
    out = io.BytesIO()
    assert await audit.export_tenant(owner, tenant, out) == 10
    lines = out.getvalue().decode().splitlines()
    head = (await store.head(tenant)).hash.hex()

    verify = standalone_verifier()
    assert verify(lines) == f"OK 10 events, head {head}"

    edited = lines[6].replace("ghi chú 7", "ghi chú 70")
    assert verify([*lines[:6], edited, *lines[7:]]) == "BROKEN at seq 7: changed"
    assert verify(lines[:3] + lines[4:]) == "BROKEN at seq 4: missing"


@pytest.fixture
def cli_env(settings):
    return {"THIDUA_DATABASE_URL": settings.database_url, "THIDUA_LOG_JSON": "false"}


async def test_thidua_verify_prints_ok_or_the_first_bad_seq_and_exits_nonzero(
    store, owner, tenant, cli_env
):
    await ten_events(store, tenant)
    runner = CliRunner()
    result = await _in_thread(runner.invoke, cli, ["verify", "--tenant", tenant], env=cli_env)
    assert result.exit_code == 0, result.output
    assert f"OK {tenant}: 10 events" in result.output

    async with tampering(owner):
        await owner.execute("DELETE FROM events WHERE tenant_id = $1 AND seq = 2", tenant)
    result = await _in_thread(runner.invoke, cli, ["verify", "--tenant", tenant], env=cli_env)
    assert result.exit_code == 1
    assert f"BROKEN {tenant} at seq 2: missing" in result.output


async def test_thidua_log_export_writes_json_lines(store, tenant, cli_env):
    await ten_events(store, tenant)
    result = await _in_thread(
        CliRunner().invoke, cli, ["log", "export", "--tenant", tenant], env=cli_env
    )
    assert result.exit_code == 0
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert standalone_verifier()(lines).startswith("OK 10 events")


async def _in_thread(fn, *args, **kwargs):
    # The CLI runs its own event loop (asyncio.run), which cannot nest inside the test's loop.
    import asyncio

    return await asyncio.to_thread(fn, *args, **kwargs)
