"""Ids that follow from names (UUID version 5), made the way ``uuid.uuid5`` makes them.

A bulk call makes several per row (a pledge's id, its person's): the standard library's
constructor checks and converts what it is given each time, most of the cost. This one builds
the same value from the digest directly; ``tests/shared/test_ids.py`` holds it to ``uuid5``.
"""

from __future__ import annotations

from hashlib import sha1
from uuid import UUID

_VARIANT_MASK = ~(0xC000 << 48)
_VARIANT = 0x8000 << 48
_VERSION_MASK = ~(0xF000 << 64)
_VERSION_5 = 5 << 76


def name_uuid(namespace: UUID, name: str) -> UUID:
    """``uuid.uuid5(namespace, name)``, about twice as fast."""
    value = int.from_bytes(sha1(namespace.bytes + name.encode()).digest()[:16], "big")
    return UUID(int=(value & _VARIANT_MASK & _VERSION_MASK) | _VARIANT | _VERSION_5)
