"""The awards service on the session's database, over a tree of units no other test shares,
with a clock the tests set."""

from __future__ import annotations

import pytest

from services.awards.commands import AwardsCommands, commands_of
from services.gateway.runtime import Runtime
from tests.campaign.conftest import Clock, campaigns, clock, officer  # noqa: F401  (fixtures)
from tests.registry.conftest import Tree, principal, registry, tree  # noqa: F401  (fixtures)
from tests.registry.test_graphql import client, elsewhere, tokens  # noqa: F401  (fixtures)


@pytest.fixture
def awards(runtime: Runtime, clock: Clock) -> AwardsCommands:  # noqa: F811
    return commands_of(runtime, clock)


def nodes(page: dict) -> list[dict]:
    """A cursor page's rows (``edges { node { … } }``), in order."""
    return [edge["node"] for edge in page["edges"]]
