"""One bound on the files parsed at once: ``Parsers`` (one per process, ``Runtime.parsers``)."""

from __future__ import annotations

import asyncio
import threading
import time

from shared.uploads import Parsers


async def test_no_more_files_are_parsed_at_once_than_the_cap():
    # given a cap of 2 and six parses, each noting when it starts and ends
    parsers = Parsers(2)
    lock = threading.Lock()
    running, most = 0, 0

    def parse(n: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)  # long enough that an uncapped third parse would overlap
        with lock:
            running -= 1
        return n

    # when all six are asked for at once
    results = await asyncio.gather(*(parsers.run(parse, n) for n in range(6)))

    # then each answered, never more than two at a time
    assert results == list(range(6))
    assert most == 2
