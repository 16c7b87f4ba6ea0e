"""What a GraphQL client sees of an error: a domain error's code and Vietnamese message, or a
masked internal error (logged in full on the server)."""

from __future__ import annotations

import structlog
from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from shared.errors import DomainError

log = structlog.get_logger(__name__)

INTERNAL_MESSAGE = "Lỗi máy chủ nội bộ. Vui lòng thử lại sau."


def _masked(error: GraphQLError) -> bool:
    # Errors with no original error are the client's own (syntax, validation): shown as they are.
    return error.original_error is not None


class DomainErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=_masked, error_message=INTERNAL_MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, DomainError):
            message, extensions = original.message, {"code": original.code}
        else:
            log.error("graphql_internal_error", path=error.path, error=repr(original))
            message, extensions = INTERNAL_MESSAGE, {"code": "INTERNAL"}
        return GraphQLError(
            message=message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=extensions,
        )
