"""shared/ids.py: an id that follows from a name is the one ``uuid.uuid5`` makes, for any name
and namespace (the log's ids were made by ``uuid5`` before it, and must keep matching)."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from shared.ids import name_uuid


@given(st.uuids(), st.text())
def test_name_uuid_is_uuid5(namespace: uuid.UUID, name: str) -> None:
    made = name_uuid(namespace, name)
    assert made == uuid.uuid5(namespace, name)
    assert (made.version, made.variant) == (5, uuid.RFC_4122)
    assert str(made) == str(uuid.uuid5(namespace, name))
