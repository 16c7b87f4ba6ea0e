"""What a client sees of an error: a domain error's code and Vietnamese message, the client's
own malformed or invalid request with a code of its own, or a masked internal error (logged in
full on the server, see ``ThiduaSchema.process_errors`` and :func:`internal_error`).

Every error a client sees carries ``extensions.code``; ``INTERNAL`` means an unexpected
exception, and nothing a client sends may produce one (the fuzzer in tests/gateway/test_fuzz.py
holds the server to it)."""

from __future__ import annotations

import re
from typing import Any

import orjson
import structlog
from cross_web import HTTPException
from graphql.error import GraphQLError, GraphQLSyntaxError
from graphql.language import VariableDefinitionNode
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException as LitestarHTTPException
from litestar.exceptions import InternalServerException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import MaskErrors

from shared.errors import DomainError
from shared.text import grouped

log = structlog.get_logger(__name__)

INTERNAL = "INTERNAL"
INTERNAL_MESSAGE = "Lỗi máy chủ nội bộ. Vui lòng thử lại sau."
INVALID_INPUT = "INVALID_INPUT"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BODY_UNREADABLE = (
    "Nội dung yêu cầu không đọc được dưới dạng JSON (sai cú pháp, sai mã hoá, hoặc lồng quá sâu)."
)
BODY_NOT_OBJECT = "Nội dung yêu cầu phải là một đối tượng JSON."
# What the HTTP layer itself refuses, before any route's code runs (Litestar's, and strawberry's
# own HTTP refusals): no such path, a method the path does not take, a body over the limit, a
# query parameter missing or malformed. Both answer in English with no code; a client reads them
# like every other refusal, by these codes.
_REFUSALS = {
    400: ("INVALID_INPUT", "Yêu cầu không hợp lệ"),
    401: ("UNAUTHENTICATED", "Cần đăng nhập"),
    403: ("FORBIDDEN", "Không có quyền"),
    404: ("NOT_FOUND", "Không có đường dẫn này"),
    405: ("METHOD_NOT_ALLOWED", "Đường dẫn này không nhận phương thức này"),
    413: ("REQUEST_TOO_LARGE", "Yêu cầu quá lớn"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "Kiểu nội dung không được hỗ trợ"),
}
# Strawberry's own HTTP refusals, in its words (strawberry/http/), as a client reads them.
_STRAWBERRY_SAID = {
    "Unsupported content type": "Kiểu nội dung không được hỗ trợ: gửi JSON (application/json).",
    "Batching is not enabled": BODY_NOT_OBJECT,
    "Too many operations": BODY_NOT_OBJECT,
    "Unable to parse request body as JSON": BODY_UNREADABLE,
    "No GraphQL query found in the request": "Yêu cầu không có câu truy vấn GraphQL (query).",
    "Can't get GraphQL operation type": "Không rõ thao tác nào: câu truy vấn có nhiều thao tác "
    "thì cần operationName.",
    "GraphQL only supports GET and POST requests.": "GraphQL chỉ nhận GET và POST.",
    "Not Found": "Không có đường dẫn này.",
    "mutations are not allowed when using GET": "Thao tác ghi (mutation) phải gửi bằng POST.",
    "The GraphQL operation's `query` must be a string or null, if provided.": (
        "Trường query phải là một chuỗi, hoặc null."
    ),
    "The GraphQL operation's `variables` must be an object or null, if provided.": (
        "Trường variables phải là một đối tượng, hoặc null."
    ),
    "The GraphQL operation's `extensions` must be an object or null, if provided.": (
        "Trường extensions phải là một đối tượng, hoặc null."
    ),
}


def _strawberry_refusal(reason: str) -> str:
    """A Vietnamese message for a refusal of strawberry's: ours where we know its words, else a
    general one (its words go in ``detail``)."""
    said = _STRAWBERRY_SAID.get(reason)
    if said is not None:
        return said
    if reason in (BODY_UNREADABLE, BODY_NOT_OBJECT):  # our own, raised in decode_json
        return reason
    if reason.startswith("Unknown operation named"):
        return "Câu truy vấn không có thao tác mang tên operationName đã cho."
    return "Yêu cầu GraphQL không hợp lệ."


def root_cause(error: GraphQLError) -> BaseException | None:
    """The innermost exception an error wraps (graphql-core wraps a refused variable twice)."""
    cause: BaseException | None = error.original_error
    while isinstance(cause, GraphQLError) and cause.original_error is not None:
        cause = cause.original_error
    return cause


def is_unexpected(error: GraphQLError) -> bool:
    """An exception nobody meant a client to see: a bug, or a failure below the domain. A
    GraphQLError raised before execution (a scalar refusing a value, a limit) is the client's
    own; a plain one raised while a field was being answered, with no code, is graphql-core
    refusing what a resolver returned (a string for an Int, a number for a list): a bug."""
    cause = root_cause(error)
    if cause is None or type(cause) is GraphQLError:
        return _answering(error) and type(cause or error) is GraphQLError and not _coded(error)
    return not isinstance(cause, GraphQLError | DomainError)


def _answering(error: GraphQLError) -> bool:
    return error.path is not None


def _coded(error: GraphQLError) -> bool:
    return any(
        "code" in (getattr(part, "extensions", None) or {})
        for part in (error, error.original_error)
    )


def client_code(error: GraphQLError) -> str:
    """The code of an error that is not unexpected: a domain error's, the code the error (or
    what it wraps) carries, else one by kind: unparsable, a variable's value refused, invalid."""
    cause = root_cause(error)
    if isinstance(cause, DomainError):
        return cause.code
    for part in (error, error.original_error, cause):
        code = (getattr(part, "extensions", None) or {}).get("code")
        if isinstance(code, str):
            return code
    if isinstance(error, GraphQLSyntaxError):
        return PARSE_FAILED
    if isinstance(cause, StrawberryInputCoercionError) or _is_variable_error(error):
        return INVALID_INPUT
    return VALIDATION_FAILED


def _is_variable_error(error: GraphQLError) -> bool:
    return isinstance(error.original_error, GraphQLError) and any(
        isinstance(node, VariableDefinitionNode) for node in error.nodes or ()
    )


def presented(error: GraphQLError) -> GraphQLError:
    """The error as a client sees it: always with a code; only an unexpected one loses its
    message (the log line was written before, from the original error)."""
    cause = root_cause(error)
    if is_unexpected(error):
        message, code = INTERNAL_MESSAGE, INTERNAL
    elif isinstance(cause, DomainError):
        message, code = cause.message, cause.code
    else:
        message, code = error.message, client_code(error)
        if code in _LEADS and not _coded(error):  # graphql-core's or strawberry's own words
            message = _LEADS[code] + ": " + _PYTHON_SAID.sub(r"\1", message)
    shown = cause.shown() if isinstance(cause, DomainError) else {}
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), **shown, "code": code},
    )


# What a client's own error is, in Vietnamese, before graphql-core's English words (the name of
# the argument, variable or field it names is in them).
_LEADS = {
    INVALID_INPUT: "Giá trị không hợp lệ",
    VALIDATION_FAILED: "Câu truy vấn không hợp lệ",
    PARSE_FAILED: "Câu truy vấn sai cú pháp",
}
# A scalar's refusal (strawberry's wrap_parser) ends with Python's own exception message
# ("invalid literal for int() with base 10: b'garb'"): the server's inside, not the client's
# mistake.
_PYTHON_SAID = re.compile(r'(Value cannot represent an? \w+: ".*?"\.) .*$', re.DOTALL)


def _presented_once(error: GraphQLError) -> GraphQLError:
    return error if "code" in (error.extensions or {}) else presented(error)


class DomainErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda _: True, error_message=INTERNAL_MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return presented(error)


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def json_errors(controller: type) -> type:
    """The GraphQL controller, answering a body it cannot read (malformed, or nested beyond what
    Python's json decoder recursed into: a RecursionError, an HTTP 500 before) and strawberry's
    own HTTP refusals (plain text before) as JSON with a code, like every other error."""

    class JsonErrorsController(controller):  # type: ignore[misc,valid-type]
        def decode_json(self, data: str | bytes) -> object:
            try:
                # orjson, not json: it refuses a lone surrogate ("\\ud800", which no database
                # text can hold) and stops at 1,024 levels where json.loads recurses until a
                # RecursionError.
                decoded = orjson.loads(data)
            except orjson.JSONDecodeError:  # malformed, not UTF-8, too deep, lone surrogate
                raise HTTPException(400, BODY_UNREADABLE) from None
            if not isinstance(decoded, dict | list):  # strawberry reads it with .get()
                raise HTTPException(400, BODY_NOT_OBJECT)
            return decoded

        async def process_result(self, request: Any, result: Any) -> Any:
            # An exception raised by an extension's own hook (strawberry's ParserCache parses in
            # on_parse) skips every extension's on_operation, MaskErrors' too: the last chance.
            if result.errors:
                result.errors = [_presented_once(e) for e in result.errors]
            return await super().process_result(request, result)

        async def execute_request(
            self, request: Request[Any, Any, Any], context: Any, root_value: Any
        ) -> Response[Any]:
            try:
                return await self.run(request, context=context, root_value=root_value)
            except HTTPException as refused:
                code = _REFUSALS.get(refused.status_code, (INVALID_INPUT, ""))[0]
                log.info("http_refused", status=refused.status_code, code=code)
                body = error_body(_strawberry_refusal(refused.reason), code)
                if refused.reason not in (BODY_UNREADABLE, BODY_NOT_OBJECT):
                    body["errors"][0]["extensions"]["detail"] = refused.reason[:200]
                return Response(body, status_code=refused.status_code, media_type=MediaType.JSON)

    JsonErrorsController.__name__ = controller.__name__
    return JsonErrorsController


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Litestar's handler for anything a route did not expect: one error-level log line with
    the traceback inside it, and the same masked answer GraphQL gives. A client that hung up
    before its body was read is no fault here: one info line, no traceback (rendering one per
    dropped connection stalled the server whenever a load balancer or client closed many)."""
    if isinstance(exc, InternalServerException) and exc.detail == CLIENT_GONE:
        log.info("client_disconnected", method=request.method, path=request.url.path)
    else:
        _log_internal(request, exc)
    return Response(
        error_body(INTERNAL_MESSAGE, INTERNAL),
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
        media_type=MediaType.JSON,
    )


# Litestar's words when the client disconnects before the body is read (it has no class of its
# own for it: litestar/connection/request.py).
CLIENT_GONE = "client disconnected prematurely"


def _log_internal(request: Request[Any, Any, Any], exc: Exception) -> None:
    log.error(
        "http_internal_error",
        method=request.method,
        path=request.url.path,
        error=repr(exc)[:500],
        exc_info=exc,
    )


GRAPHQL_PATH = "/graphql"


def http_refused(request: Request[Any, Any, Any], exc: LitestarHTTPException) -> Response[Any]:
    """Litestar's own refusals, with a code and a Vietnamese message: in GraphQL's shape on
    the GraphQL path, in the upload routes' (``code``, ``message``) elsewhere. What it said goes
    in ``detail``, cut short. A server-side failure stays the masked internal error."""
    if exc.status_code >= HTTP_500_INTERNAL_SERVER_ERROR:
        return internal_error(request, exc)
    code, said = _REFUSALS.get(exc.status_code, (f"HTTP_{exc.status_code}", "Yêu cầu bị từ chối"))
    if exc.status_code == 413 and request.app.request_max_body_size:
        said += f" (tối đa {grouped(request.app.request_max_body_size)} byte)"
    message = f"{said}."
    detail = str(exc.detail)[:200]
    log.info("http_refused", status=exc.status_code, code=code, path=request.url.path[:200])
    if request.url.path == GRAPHQL_PATH:
        body: dict[str, Any] = error_body(message, code)
        body["errors"][0]["extensions"]["detail"] = detail
    else:
        body = {"code": code, "message": message, "detail": detail}
    return Response(
        body, status_code=exc.status_code, media_type=MediaType.JSON, headers=exc.headers
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error,
    LitestarHTTPException: http_refused,
}
