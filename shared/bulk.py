"""What a bulk command answers, in every service (pledges, people): how many rows came, were
written, were already there, and each refused row by its number with its error's code and
message; the same answer through GraphQL and through a file's upload."""

from __future__ import annotations

from dataclasses import dataclass, field

import strawberry

from shared.errors import DomainError

MAX_ERRORS_SHOWN = 1_000


class BulkTooLarge(DomainError):
    code = "BULK_TOO_LARGE"
    message_vi = "Quá nhiều dòng trong một lần gửi."


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    code: str
    message: str
    field: str | None = None

    @classmethod
    def of(cls, row: int, error: DomainError) -> RowError:
        return cls(row, error.code, error.message, error.context.get("field"))


@dataclass(frozen=True, slots=True)
class BulkResult:
    received: int
    written: int
    unchanged: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_ERRORS_SHOWN


@strawberry.type(name="RowError", description="Một dòng bị từ chối, với mã lỗi và lời giải thích.")
class RowErrorType:
    row: int = strawberry.field(
        description="Số dòng: dòng trong tệp (dòng tiêu đề là 1), hay vị trí trong danh sách (từ 1)."
    )
    code: str
    message: str
    field: str | None


def row_error_types(result: BulkResult) -> list[RowErrorType]:
    return [
        RowErrorType(row=e.row, code=e.code, message=e.message, field=e.field)
        for e in result.errors
    ]


def result_body(result: BulkResult) -> dict[str, object]:
    """A bulk result as a REST upload answers it."""
    return {
        "received": result.received,
        "written": result.written,
        "unchanged": result.unchanged,
        "errorCount": result.error_count,
        "errors": [
            {"row": e.row, "code": e.code, "message": e.message, "field": e.field}
            for e in result.errors
        ],
    }


@strawberry.type(name="BulkResult", description="Kết quả một lần gửi hàng loạt.")
class BulkResultType:
    received: int = strawberry.field(description="Số dòng nhận được.")
    written: int = strawberry.field(description="Số dòng được ghi.")
    unchanged: int = strawberry.field(description="Số dòng đã có từ trước: không ghi lại.")
    error_count: int
    errors: list[RowErrorType] = strawberry.field(
        description=f"Các dòng bị từ chối (tối đa {MAX_ERRORS_SHOWN} dòng đầu)."
    )

    @classmethod
    def of(cls, result: BulkResult) -> BulkResultType:
        return cls(
            received=result.received,
            written=result.written,
            unchanged=result.unchanged,
            error_count=result.error_count,
            errors=row_error_types(result),
        )
