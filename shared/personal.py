"""Personal data sealed with a key per person (DESIGN.md, "Personal data"): names, birth years
and contacts go into events only as sealed text, and erasing a person destroys their key.

A key is 32 random bytes in ``person_keys`` (shared/migrations/0025_people.sql), outside the
log, named by its own id, which the events carry. Sealing is AES-256-GCM (the ``cryptography``
package) with a fresh 96-bit nonce for every text, and the key's id as associated data, so a
sealed text moved under another key does not open. The sealed form is ``v1.`` and the URL-safe
base64 of nonce and ciphertext (with its tag): a string, which the hash chain covers as it
covers any other.

What was sealed opens while its key exists; once the key is destroyed, :func:`unseal` answers
None and the readers show the person as erased. The log is never touched, so ``thidua verify``
still passes. A database backup taken before an erasure still holds the key: keep backups for
no longer than the law allows, or erase again after a restore (the erasure's event is in the
log, and the projection deletes the key again when it is rebuilt).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from uuid import UUID, uuid4

import asyncpg
import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.errors import DomainError
from shared.eventstore import NewEvent

VERSION = "v1."
_NONCE = 12


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, key_id: UUID, data: Mapping[str, Any]) -> str:
    nonce = os.urandom(_NONCE)
    plain = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    sealed = AESGCM(key).encrypt(nonce, plain, key_id.bytes)
    return VERSION + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(key: bytes | None, key_id: UUID, sealed: str) -> dict[str, Any] | None:
    """What ``sealed`` holds; None when its key is gone (erased) or it does not open with it."""
    if key is None or not sealed.startswith(VERSION):
        return None
    try:
        raw = base64.urlsafe_b64decode(sealed[len(VERSION) :])
        plain = AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], key_id.bytes)
    except (InvalidTag, ValueError, binascii.Error):
        return None
    opened = orjson.loads(plain)
    return opened if isinstance(opened, dict) else None


@dataclass(frozen=True, slots=True)
class Named:
    """A person as another service's record names them: the name written, and the unit's own
    staff number when given ('' when not)."""

    name: str
    staff_number: str = ""


@dataclass(frozen=True, slots=True)
class Holder:
    """The person a name belongs to, and the key their name is sealed with in any event."""

    person_id: UUID
    key_id: UUID
    key: bytes


@dataclass(slots=True)
class Holders:
    """For each name asked, in order, its holder or the refusal of that one name (an erased
    person); and the events of the people made for the names that matched no one, to append
    with the asking command's own, in one append (a refused command then writes no one)."""

    found: list[Holder | DomainError]
    made: list[NewEvent]


class People(Protocol):
    """The people register as other services see it (issue 14, point 2): names in pledges and
    initiative authors are personal data, sealed with the key of the person they name. The
    awards service keeps the register (services/awards/named.py); a service that writes names
    is given this port by the composition root, and never imports the awards' domain."""

    async def holders(
        self,
        conn: asyncpg.Connection,
        unit_id: str,
        named: Sequence[Named],
        on: date,
        settle: Callable[[], Awaitable[None]],
    ) -> Holders:
        """On ``conn`` (the asking command's, scoped as its caller, in its transaction): the
        person of ``unit_id`` with each staff number; without one, the one person of that name;
        with no one, a person made for that name. Two names that are one person (the same staff
        number, or the same name without one) get one holder. ``settle``: brings the register
        up to the unit's log, awaited before people are made for names (two commands at once
        must not make two people for one name)."""
        ...


def seal_name(holder: Holder, name: str) -> str:
    """A name as another service's event holds it: sealed with its person's key."""
    return seal(holder.key, holder.key_id, {"name": name})


def unseal_name(key: bytes | None, key_id: UUID, sealed: str) -> str | None:
    """A name :func:`seal_name` sealed; None once its person is erased."""
    opened = unseal(key, key_id, sealed)
    name = opened.get("name") if opened else None
    return name if isinstance(name, str) else None


async def mint_keys(
    conn: asyncpg.Connection, tenant_id: str, count: int
) -> list[tuple[UUID, bytes]]:
    """``count`` new keys for people of ``tenant_id``, stored on ``conn`` (the command's own,
    as the caller: row-level security lets a unit mint keys for itself only). A key minted by a
    decision that is then refused or loses a race seals nothing: an unused row, harmless."""
    keys = [(uuid4(), new_key()) for _ in range(count)]
    if keys:
        await conn.execute(
            "INSERT INTO person_keys (key_id, tenant_id, key) "
            "SELECT k, $2, v FROM unnest($1::uuid[], $3::bytea[]) AS t (k, v)",
            [k for k, _ in keys],
            tenant_id,
            [v for _, v in keys],
        )
    return keys


async def keys_of(
    conn: asyncpg.Connection, key_ids: Iterable[UUID], *, share: bool = False
) -> dict[UUID, bytes]:
    """The keys that still exist among ``key_ids`` (those the connection's role may read).
    ``share``: held until the transaction ends, so an erasure that destroys one of them waits
    for what is being written with it, and then finds it (a projection opening names)."""
    wanted = list(set(key_ids))
    if not wanted:
        return {}
    lock = " FOR SHARE OF k" if share else ""
    # Joined to the ids, not ``= ANY``: a generic plan (the fifth call on a connection on)
    # walks the index for each id either way, where ``= ANY`` may scan the whole table
    # searching the array for each row (35 ms for each projection batch of 500 pledges).
    rows = await conn.fetch(
        "SELECT k.key_id, k.key FROM unnest($1::uuid[]) AS w (key_id) "
        f"JOIN person_keys k ON k.key_id = w.key_id{lock}",
        wanted,
    )
    return {r["key_id"]: bytes(r["key"]) for r in rows}


async def destroy_keys(conn: asyncpg.Connection, key_ids: Sequence[UUID]) -> None:
    """Erasure: the keys are deleted (the projection runner's role may)."""
    if key_ids:
        await conn.execute("DELETE FROM person_keys WHERE key_id = ANY ($1::uuid[])", list(key_ids))
