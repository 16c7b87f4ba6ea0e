"""The plans' annual targets (seed 000: Kế hoạch 87/KH-CĐCT of 27/02/2020, carrying out Nghị
quyết 07/NQ-TLĐ) and how each is measured from the figures. Pure: no I/O.

A target is a share in percent. Some count the subtree's figures (of the launched campaigns, how
many were reviewed); the others count units (of the grassroots unions below, how many launched a
campaign carrying out an upper one): those read each unit's own figures of the year, for the
units below the asker on the year's last day (and the asker itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.reporting import figures as f

SOURCE = "Kế hoạch 87/KH-CĐCT ngày 27/02/2020 (thực hiện Nghị quyết 07/NQ-TLĐ)"


@dataclass(frozen=True, slots=True)
class Target:
    code: str
    name: str
    target: float  # percent, at least
    # a share of the subtree's figures: (part, whole); or of units: (level, their own metrics,
    # all of which must be above zero)
    figures: tuple[str, str] | None = None
    units: tuple[str, tuple[str, ...]] | None = None


TARGETS = (
    Target(
        "units_launched_upper",
        "Công đoàn cấp trên cơ sở xây dựng kế hoạch, phát động phong trào do cấp trên chỉ đạo",
        100,
        units=("upper", (f.CAMPAIGNS_CARRIED_OUT,)),
    ),
    Target(
        "units_launched_grassroots",
        "Công đoàn cơ sở xây dựng kế hoạch, phát động phong trào do cấp trên chỉ đạo",
        85,
        units=("grassroots", (f.CAMPAIGNS_CARRIED_OUT,)),
    ),
    Target(
        "campaigns_reviewed",
        "Phong trào đã phát động được sơ kết, tổng kết",
        100,
        figures=(f.CAMPAIGNS_REVIEWED, f.CAMPAIGNS_LAUNCHED),
    ),
    Target(
        "direct_workers_awarded",
        "Cá nhân được khen thưởng là lao động trực tiếp, không giữ chức vụ lãnh đạo, quản lý",
        15,
        figures=(f.AWARDED_DIRECT_WORKERS, f.AWARDED_PERSONS),
    ),
    Target(
        "cadres_trained",
        "Cán bộ làm công tác thi đua, khen thưởng được tập huấn",
        100,
        figures=(f.CADRES_TRAINED, f.EMULATION_CADRES),
    ),
    Target(
        "practices_upper",
        "Công đoàn cấp trên cơ sở có mô hình mới, cách làm hay và ít nhất một tọa đàm",
        100,
        units=("upper", (f.GOOD_PRACTICES, f.SEMINARS)),
    ),
    Target(
        "practices_grassroots",
        "Công đoàn cơ sở có mô hình mới, cách làm hay và ít nhất một tọa đàm",
        80,
        units=("grassroots", (f.GOOD_PRACTICES, f.SEMINARS)),
    ),
)
UNIT_METRICS = sorted({m for t in TARGETS if t.units for m in t.units[1]})


@dataclass(frozen=True, slots=True)
class Achievement:
    target: Target
    part: int
    whole: int

    @property
    def actual(self) -> float | None:
        """Percent, one decimal; None when there is nothing to count (no unit of that level,
        no campaign launched)."""
        return round(100 * self.part / self.whole, 1) if self.whole else None

    @property
    def met(self) -> bool | None:
        actual = self.actual
        return None if actual is None else actual >= self.target.target


def achievements(
    totals: Mapping[str, int], units: Iterable[tuple[str, str, Mapping[str, int]]]
) -> list[Achievement]:
    """Each target's part and whole: ``totals`` the subtree's figures by metric (all dims);
    ``units`` each unit's (id, level, own figures by metric)."""
    units = list(units)
    found = []
    for t in TARGETS:
        if t.figures is not None:
            part, whole = t.figures
            found.append(Achievement(t, totals.get(part, 0), totals.get(whole, 0)))
            continue
        assert t.units is not None
        level, needed = t.units
        mine = [own for _, lv, own in units if lv == level]
        done = sum(all(own.get(m, 0) > 0 for m in needed) for own in mine)
        found.append(Achievement(t, done, len(mine)))
    return found
