"""The GraphQL schema, assembled from each service's ``schema.py`` (the gateway's own fields here)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import strawberry
import structlog
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from services.awards.schema import AwardsMutation, AwardsQuery
from services.awards.schema_council import CouncilMutation, CouncilQuery
from services.awards.schema_decisions import DecisionMutation, DecisionQuery
from services.awards.schema_proposals import AppraisalMutation, ProposalMutation, ProposalQuery
from services.awards.schema_reference import ReferenceMutation, ReferenceQuery
from services.campaign.schema import CampaignMutation, CampaignQuery
from services.campaign.schema_records import RecordsMutation, RecordsQuery
from services.gateway.audit_schema import AuditQuery
from services.gateway.errors import (
    INTERNAL,
    DomainErrors,
    client_code,
    is_unexpected,
    root_cause,
)
from services.gateway.limits import CACHE_SIZE, CheckedRequest, Limits
from services.gateway.projections_schema import ProjectionsQuery
from services.registry.schema import RegistryMutation, RegistryQuery
from services.reporting.schema import ReportingQuery
from services.reporting.schema_records import ReportRecordsMutation, ReportRecordsQuery
from services.reporting.schema_reports import ReportsMutation, ReportsQuery
from shared.access import SharedScope
from shared.graphql import SCALARS
from shared.settings import Settings

log = structlog.get_logger(__name__)

QUERY_PREFIX_CHARS = 200
MESSAGE_CHARS = 500
TRACEBACK_CHARS = 8000
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


@functools.cache
def product_version() -> str:
    # Cached: importlib.metadata reads and parses the package's METADATA file at every call.
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
        _drop_loaders(self.execution_context.context)


class RequestScope(SchemaExtension):
    """Also a query's one scoped connection for all its reads (shared/access.py
    ``SharedScope``), given back when it ends (so an async hook: the schema runs it only when
    it executes on an event loop, see :func:`request_extension`)."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        shared = None
        if isinstance(context, dict) and "runtime" in context and self._is_query():
            shared = context["reads"] = SharedScope(
                context["runtime"].pool, context.get("principal")
            )
        try:
            yield
        finally:
            if shared is not None:
                del context["reads"]
                await shared.close()
            _drop_loaders(context)

    def _is_query(self) -> bool:
        try:
            return self.execution_context.operation_type is OperationType.QUERY
        except RuntimeError:  # no operation to run: nothing will read
            return False


def request_extension() -> SchemaExtension:
    """A request's own extension: :class:`RequestScope` on an event loop, :class:`RequestLoaders`
    in a synchronous execution (introspecting the schema), where nothing reads from the
    database and an async hook would refuse to run."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return RequestLoaders()
    return RequestScope()


def _drop_loaders(context: Any) -> None:
    if isinstance(context, dict):
        for key in [k for k in context if k.endswith("_loaders")]:
            del context[key]


class ThiduaSchema(strawberry.Schema):
    """The schema, with its own account of errors (see :meth:`process_errors`) and, when
    suggestions are off, none of graphql-core's "Did you mean …" in any message (strawberry's
    own switch covers only unknown fields)."""

    @staticmethod
    def remove_field_suggestion(error: GraphQLError) -> None:
        error.message = _SUGGESTION.sub("", error.message)
        if isinstance(error.original_error, GraphQLError):  # a variable's value, refused
            error.original_error.message = _SUGGESTION.sub("", error.original_error.message)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """One log line per error, naming the request by operation, the query's hash and a
        bounded prefix of it (strawberry's default logs the error's source excerpt, i.e. the
        whole of a one-line query, up to the 4 MB a request may carry). A refusal (a domain
        error's code, or the client's own malformed, invalid or over-limit request) is logged
        at info level; only an unexpected exception is an error, with its traceback."""
        request = _request_fields(execution_context)
        for error in errors:
            _log_error(error, request)


def _request_fields(context: ExecutionContext | None) -> dict[str, Any]:
    query = (context.query if context is not None else None) or ""
    return {
        "operation": context.operation_name if context is not None else None,
        "query_sha256": hashlib.sha256(query.encode("utf-8", "replace")).hexdigest(),
        "query_chars": len(query),
        "query_prefix": redacted(query[:QUERY_PREFIX_CHARS]),
    }


# A quoted string (GraphQL's, or a Python repr's in a variable's coercion message) or a run of
# three digits or more (a birth year, a phone number): what a log line must not carry, since a
# person's name, birth year and contacts come in as such (registerPerson's literals, or the
# value graphql-core echoes when it refuses a variable).
_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"?|\'(?:[^\'\\]|\\.)*\'?|[0-9]{3,}')


def redacted(text: str) -> str:
    """``text`` with its literals replaced by "…": the query's shape and the error's words stay."""
    return _LITERAL.sub("…", text)


def _log_error(error: GraphQLError, request: dict[str, Any]) -> None:
    """The code logged is the code the client receives (errors.client_code), so a refusal in
    the log can be matched with the answer that carried it."""
    where = {"path": error.path, **request}
    if not is_unexpected(error):
        message = redacted(error.message[:MESSAGE_CHARS])
        log.info("graphql_refused", code=client_code(error), message=message, **where)
        return
    cause = root_cause(error)
    trace = "".join(traceback.format_exception(cause))[-TRACEBACK_CHARS:] if cause else ""
    log.error(
        "graphql_internal_error",
        code=INTERNAL,
        error=repr(cause)[:MESSAGE_CHARS],
        traceback=trace,
        **where,
    )


def build_schema(settings: Settings) -> strawberry.Schema:
    # Factories: each request gets fresh extension instances. What they share is made once here,
    # above all the validation rules: validation is cached per (document, rules), so a rule
    # class built anew per request (as strawberry's limiters do) would never hit the cache.
    rules = [
        depth_rule(settings.graphql_max_depth, None),
        aliases_rule(settings.graphql_max_aliases),
    ]
    if not settings.graphiql_enabled:
        rules.append(NoSchemaIntrospectionCustomRule)
    limits = Limits.from_settings(settings)
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        lambda: AddValidationRules(rules),
        lambda: CheckedRequest(limits),
        DomainErrors,
        request_extension,
    ]
    config = StrawberryConfig(
        disable_field_suggestions=not settings.graphiql_enabled, scalar_map=SCALARS
    )
    return ThiduaSchema(query=Query, mutation=Mutation, extensions=extensions, config=config)


Query = merge_types(
    "Query",
    (
        GatewayQuery,
        RegistryQuery,
        CampaignQuery,
        RecordsQuery,
        AwardsQuery,
        ReferenceQuery,
        ProposalQuery,
        CouncilQuery,
        DecisionQuery,
        ReportingQuery,
        ReportRecordsQuery,
        ReportsQuery,
        AuditQuery,
        ProjectionsQuery,
    ),
)
Query.__doc__ = "Điểm vào đọc dữ liệu của Thi đua."
Mutation = merge_types(
    "Mutation",
    (
        RegistryMutation,
        CampaignMutation,
        RecordsMutation,
        AwardsMutation,
        ReferenceMutation,
        ProposalMutation,
        AppraisalMutation,
        CouncilMutation,
        DecisionMutation,
        ReportRecordsMutation,
        ReportsMutation,
    ),
)
