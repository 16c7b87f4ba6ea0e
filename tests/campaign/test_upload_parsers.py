"""Every upload route of a process parses its files under one bound, the runtime's: a route, or
an app, that made its own would add its cap to the others' (issue 12, finding 1)."""

from __future__ import annotations

from typing import Any

import httpx

from services.gateway.app import create_app
from shared.uploads import Parsers

from .test_graphql import launched
from .test_pledges import LINES, csv_file, upload


class Counted(Parsers):
    """A bound that counts the files parsed under it."""

    def __init__(self, concurrency: int) -> None:
        super().__init__(concurrency)
        self.files = 0

    async def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self.files += 1
        return await super().run(fn, *args, **kwargs)


async def test_uploads_through_two_apps_of_one_runtime_are_parsed_under_its_one_bound(
    client, settings, runtime, tokens, tree, monkeypatch
):
    # given the runtime's bound, and a second app built on the same runtime
    bound = Counted(settings.upload_parse_concurrency)
    monkeypatch.setattr(runtime, "parsers", bound)
    campaign_id = await launched(client, tokens, tree.prov1)
    second = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings, runtime)), base_url="http://test"
    )

    # when a file is uploaded through each app
    async with second:
        for through in (client, second):
            response = await upload(
                through, tokens, tree.upper1, campaign_id, csv_file(LINES), "giao-uoc.csv"
            )
            assert response.status_code == 200, response.text

    # then both were parsed under the runtime's bound
    assert bound.files == 2
