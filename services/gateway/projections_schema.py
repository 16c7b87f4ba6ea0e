"""GraphQL for the projections' lag (shared/projections.py): how far each read model is behind
the logs, for an admin or an auditor."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from services.gateway.projections import statuses
from shared import access
from shared.access import principal_of

READERS = frozenset({"admin", "auditor"})


@strawberry.type(description="Một phiên bản của một phép chiếu (bảng đọc) và độ trễ của nó.")
class ProjectionLag:
    name: str
    version: int
    state: str = strawberry.field(description="building, live")
    inline: bool = strawberry.field(description="Ghi cùng giao dịch với lệnh: không bao giờ trễ.")
    units: int = strawberry.field(description="Số đơn vị (nhật ký) được theo dõi.")
    units_behind: int = strawberry.field(description="Số đơn vị chưa được chiếu hết.")
    lag_events: int = strawberry.field(description="Số sự kiện trễ nhiều nhất của một đơn vị.")
    lag_seconds: float = strawberry.field(
        description="Tuổi của sự kiện cũ nhất chưa được chiếu (giây)."
    )
    p99_lag_seconds: float | None = strawberry.field(
        description="Độ trễ p99 của phép chiếu này, đo được bởi bộ chiếu của máy chủ này (giây), nếu có."
    )


@strawberry.type
class ProjectionsQuery:
    @strawberry.field(description="Độ trễ của các phép chiếu (vai trò admin hoặc auditor).")
    async def projections(self, info: Info) -> list[ProjectionLag]:
        if not principal_of(info).roles & READERS:
            raise access.Forbidden("Cần vai trò quản trị (admin) hoặc kiểm tra (auditor).")
        return [
            ProjectionLag(
                name=s.name,
                version=s.version,
                state=s.state,
                inline=s.inline,
                units=s.tenants,
                units_behind=s.tenants_behind,
                lag_events=s.lag_events,
                lag_seconds=s.lag_seconds,
                p99_lag_seconds=s.p99_lag_seconds,
            )
            for s in await statuses(info.context["runtime"])
        ]
