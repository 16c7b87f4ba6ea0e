"""Typed errors: each has a stable code (for clients and tests) and a Vietnamese message (for people).

A command that raises one of these has written nothing.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

# Control characters no text of ours holds: C0 but tab and line breaks, DEL, C1 (shared/text.py
# refuses them in what is kept; a message never quotes them).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class DomainError(Exception):
    code: ClassVar[str] = "DOMAIN_ERROR"
    message_vi: ClassVar[str] = "Yêu cầu không hợp lệ."
    # Context a client is shown beside the code (GraphQL's extensions): only what it may know.
    public_context: ClassVar[tuple[str, ...]] = ()

    def __init__(self, detail: str = "", **context: Any) -> None:
        self.detail = detail
        self.context = context
        super().__init__(f"{self.code}: {self.message}")

    @property
    def message(self) -> str:
        # A detail may quote what the client sent (an id not found): never its control
        # characters, which a client printing the message would pass to a terminal.
        return f"{self.message_vi} {CONTROL_CHARACTERS.sub('', self.detail)}".strip()

    def shown(self) -> dict[str, Any]:
        """The context a client is shown (``public_context``)."""
        return {k: self.context[k] for k in self.public_context if k in self.context}


class NotFound(DomainError):
    code = "NOT_FOUND"
    message_vi = "Không tìm thấy."


class ConcurrencyConflict(DomainError):
    code = "CONCURRENCY_CONFLICT"
    message_vi = "Dữ liệu vừa được người khác thay đổi; hãy tải lại rồi thử lại."


class EventTooLarge(DomainError):
    code = "EVENT_TOO_LARGE"
    message_vi = "Sự kiện vượt quá kích thước cho phép."


class InvalidEventData(DomainError):
    code = "EVENT_DATA_INVALID"
    message_vi = "Dữ liệu sự kiện không hợp lệ (không chuyển được sang JSON chuẩn)."


class UnknownEventType(DomainError):
    code = "EVENT_TYPE_UNKNOWN"
    message_vi = "Loại sự kiện chưa được đăng ký."


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"
    message_vi = "Khóa chống lặp đã được dùng cho một yêu cầu khác."


class InvalidTenant(DomainError):
    code = "TENANT_INVALID"
    message_vi = "Mã đơn vị không hợp lệ."


class TooManyEvents(DomainError):
    code = "TOO_MANY_EVENTS"
    message_vi = "Một lệnh ghi quá nhiều sự kiện."


class MigrationError(DomainError):
    code = "MIGRATION_FAILED"
    message_vi = "Không áp dụng được bản cập nhật cơ sở dữ liệu."


class InvalidInput(DomainError):
    code = "INVALID_INPUT"
    message_vi = "Dữ liệu nhập không hợp lệ."


class UnitInactive(DomainError):
    code = "UNIT_INACTIVE"
    message_vi = "Đơn vị đã sáp nhập hoặc giải thể, không nhận thao tác mới."
