"""Long lists split across events, the one way every service does it.

An event stays under the store's bound (``max_event_bytes``, 256 KiB by default) whatever the
size of what it records: a decision of 10,000 recipients, a council of 10,000 items. The
aggregate writes its head event with the first run of the list and one continuation event per
further run, all in the same append, so a reader of the log finds the whole list in the events
that follow the head, in order, before any other event of that stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import orjson

T = TypeVar("T")

# Well under the store's bound, leaving room for what else the event carries (its meta, a
# keyed command's answer in the first event).
CHUNK_BYTES = 64 * 1024


def chunked(items: Sequence[T], budget: int | None = None) -> list[list[T]]:
    """``items`` in order, in runs whose JSON stays within ``budget`` bytes (``CHUNK_BYTES``,
    read when called; an item larger than the budget is a run of its own). Always at least one
    run, empty for no items."""
    budget = CHUNK_BYTES if budget is None else budget
    runs: list[list[T]] = [[]]
    size = 0
    for item in items:
        n = len(orjson.dumps(item, default=str)) + 1
        if runs[-1] and size + n > budget:
            runs.append([])
            size = 0
        runs[-1].append(item)
        size += n
    return runs
