"""The GraphQL schema, assembled from each service's ``schema.py`` (the gateway's own fields here)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.tools import merge_types

from services.campaign.schema import CampaignMutation, CampaignQuery
from services.campaign.schema_records import RecordsMutation, RecordsQuery
from services.gateway.audit_schema import AuditQuery
from services.gateway.errors import DomainErrors
from services.registry.schema import RegistryMutation, RegistryQuery
from shared.settings import Settings


def product_version() -> str:
    try:
        return version("thidua")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


@strawberry.type
class GatewayQuery:
    @strawberry.field(description="Phiên bản phần mềm máy chủ.")
    def version(self) -> str:
        return product_version()

    @strawberry.field(description="Thời điểm hiện tại theo đồng hồ máy chủ (UTC).")
    def server_time(self) -> datetime:
        return datetime.now(UTC)


class RequestLoaders(SchemaExtension):
    """Drops a request's DataLoaders once it has run: graphql-core's execution context is a
    reference cycle, so the rows they cache would otherwise wait for the cyclic collector, and
    make its full collections long."""

    def on_execute(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        if isinstance(context, dict):
            for key in [k for k in context if k.endswith("_loaders")]:
                del context[key]


def build_schema(settings: Settings) -> strawberry.Schema:
    # Factories: each request gets fresh extension instances (the parser and validation caches
    # are shared between instances of the same size, so caching still spans requests).
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: ParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
        lambda: QueryDepthLimiter(max_depth=settings.graphql_max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases),
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        DomainErrors,
        RequestLoaders,
    ]
    if not settings.graphiql_enabled:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions)


Query = merge_types("Query", (GatewayQuery, RegistryQuery, CampaignQuery, RecordsQuery, AuditQuery))
Query.__doc__ = "Điểm vào đọc dữ liệu của Thi đua."
Mutation = merge_types("Mutation", (RegistryMutation, CampaignMutation, RecordsMutation))
