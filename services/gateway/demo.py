"""``thidua demo``: a union tree and the campaigns of two of the source plans, with registrations,
progress reports and a phase review, loaded through the services' own commands.

The tree is a province (LĐLĐ tỉnh Ninh Bình) with district, city, industrial-zone and education
unions and their grassroots unions, and a national sector union (Công đoàn Công Thương Việt Nam)
with corporation unions and grassroots unions directly under it, all under the national
confederation. Names follow real union bodies; member counts, registrations and every figure
reported are made up for the demo.

The campaigns are those of Kế hoạch 02/KH-LĐLĐ (Ninh Bình, 2021; seed 003) and Kế hoạch
64/KH-CĐCT (Công Thương, 2017; seed 004), as the plans write them: name, theme, objectives,
contents and measures verbatim, phases, deadlines and indicators. Three upper-level unions carry
out the province's campaign with one of their own. The commands run on a clock set to the day
each thing happened in 2017 or 2021, so deadlines, lateness and report dues come out as they
would have.

Loading is idempotent: each step skips what is already there (the tree by the importer's own
rule, campaigns by unit and name, registrations, reports and reviews by what the read model
holds), so a second run writes nothing, and a run cut short is finished by the next one.

Each step is a function of a :class:`DemoContext` returning how many things it wrote; ``STEPS``
lists them in order, for further steps (pledges, works, initiatives) to join.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

import asyncpg
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.campaign.bulk import PledgeRow, register_pledges
from services.campaign.commands import CampaignCommands
from services.campaign.domain import DRAFT
from services.campaign.projections import build_registry as campaign_registry
from services.gateway.runtime import Runtime
from services.registry.commands import RegistryCommands
from services.registry.importer import import_units
from services.registry.projections import build_registry as unit_registry
from shared import access
from shared.auth import Principal, TokenService
from shared.errors import DomainError
from shared.settings import Settings

SUBJECT = "thidua-demo"  # the actor named in the demo's events
TREE_SINCE = date(2017, 1, 1)  # the units count from this day: before both campaigns

# --------------------------------------------------------------------------------------- units

NATIONAL = "tld"
PROVINCE = "ldld-ninh-binh"
SECTOR = "cdct-vn"
GRASSROOTS = "nb-cs-trang-an"  # the grassroots unit `thidua demo` issues a token for


@dataclass(frozen=True, slots=True)
class DemoUnit:
    id: str
    parent: str | None
    name: str
    short_name: str | None
    level: str
    sector_type: str | None
    members: int


# In the importer's own format (README, "Import the tree"), parents before children; the
# national unit first. Its line is the README's example line.
TREE_CSV = """\
id,parent_id,name,short_name,level,sector_type,members
tld,,Tổng Liên đoàn Lao động Việt Nam,TLĐ,national,,0
ldld-ninh-binh,tld,Liên đoàn Lao động tỉnh Ninh Bình,LĐLĐ Ninh Bình,provincial,,0
nb-tp-ninh-binh,ldld-ninh-binh,Liên đoàn Lao động thành phố Ninh Bình,LĐLĐ TP Ninh Bình,upper,,0
nb-tp-tam-diep,ldld-ninh-binh,Liên đoàn Lao động thành phố Tam Điệp,LĐLĐ TP Tam Điệp,upper,,0
nb-hoa-lu,ldld-ninh-binh,Liên đoàn Lao động huyện Hoa Lư,LĐLĐ Hoa Lư,upper,,0
nb-gia-vien,ldld-ninh-binh,Liên đoàn Lao động huyện Gia Viễn,LĐLĐ Gia Viễn,upper,,0
nb-kim-son,ldld-ninh-binh,Liên đoàn Lao động huyện Kim Sơn,LĐLĐ Kim Sơn,upper,,0
nb-kcn,ldld-ninh-binh,Công đoàn các Khu công nghiệp tỉnh Ninh Bình,CĐ các KCN Ninh Bình,upper,,0
nb-giao-duc,ldld-ninh-binh,Công đoàn ngành Giáo dục tỉnh Ninh Bình,CĐ Giáo dục Ninh Bình,upper,,0
nb-cs-ubnd-tpnb,nb-tp-ninh-binh,Công đoàn cơ quan Ủy ban nhân dân thành phố Ninh Bình,,grassroots,hành chính,86
nb-cs-cap-nuoc,nb-tp-ninh-binh,Công đoàn Công ty Cổ phần Cấp thoát nước Ninh Bình,,grassroots,DN nhà nước,212
nb-cs-van-tai,nb-tp-ninh-binh,Công đoàn Công ty Cổ phần Vận tải Ninh Bình,,grassroots,DN tư nhân,95
nb-cs-xi-mang-td,nb-tp-tam-diep,Công đoàn Công ty Xi măng Vicem Tam Điệp,,grassroots,DN nhà nước,618
nb-cs-dong-giao,nb-tp-tam-diep,Công đoàn Công ty Cổ phần Thực phẩm xuất khẩu Đồng Giao,,grassroots,DN tư nhân,1150
nb-cs-ubnd-td,nb-tp-tam-diep,Công đoàn cơ quan Ủy ban nhân dân thành phố Tam Điệp,,grassroots,hành chính,71
nb-cs-trang-an,nb-hoa-lu,Công đoàn Công ty Cổ phần Du lịch Tràng An,,grassroots,DN tư nhân,540
nb-cs-bql-trang-an,nb-hoa-lu,Công đoàn Ban Quản lý Quần thể danh thắng Tràng An,,grassroots,sự nghiệp,62
nb-cs-thcs-truong-yen,nb-hoa-lu,Công đoàn Trường THCS Trường Yên,,grassroots,sự nghiệp,34
nb-cs-ubnd-hl,nb-hoa-lu,Công đoàn cơ quan Ủy ban nhân dân huyện Hoa Lư,,grassroots,hành chính,64
nb-cs-xi-mang-vissai,nb-gia-vien,Công đoàn Công ty Cổ phần Xi măng Vissai Ninh Bình,,grassroots,DN tư nhân,830
nb-cs-thpt-gia-vien-a,nb-gia-vien,Công đoàn Trường THPT Gia Viễn A,,grassroots,sự nghiệp,68
nb-cs-ubnd-gv,nb-gia-vien,Công đoàn cơ quan Ủy ban nhân dân huyện Gia Viễn,,grassroots,hành chính,58
nb-cs-bv-kim-son,nb-kim-son,Công đoàn Bệnh viện Đa khoa huyện Kim Sơn,,grassroots,sự nghiệp,191
nb-cs-may-kim-son,nb-kim-son,Công đoàn Công ty TNHH May Kim Sơn,,grassroots,DN tư nhân,724
nb-cs-ubnd-ks,nb-kim-son,Công đoàn cơ quan Ủy ban nhân dân huyện Kim Sơn,,grassroots,hành chính,61
nb-cs-giay-nb,nb-kcn,Công đoàn Công ty TNHH Giày Ninh Bình,,grassroots,DN FDI,1200
nb-cs-dam-nb,nb-kcn,Công đoàn Công ty TNHH MTV Đạm Ninh Bình,,grassroots,DN nhà nước,1046
nb-cs-dien-tu-khanh-phu,nb-kcn,Công đoàn Công ty TNHH Điện tử Khánh Phú,,grassroots,DN FDI,1830
nb-cs-may-gian-khau,nb-kcn,Công đoàn Công ty TNHH May mặc Gián Khẩu,,grassroots,DN FDI,2400
nb-cs-dh-hoa-lu,nb-giao-duc,Công đoàn Trường Đại học Hoa Lư,,grassroots,sự nghiệp,312
nb-cs-thpt-luong-van-tuy,nb-giao-duc,Công đoàn Trường THPT chuyên Lương Văn Tụy,,grassroots,sự nghiệp,105
nb-cs-so-gddt,nb-giao-duc,Công đoàn cơ quan Sở Giáo dục và Đào tạo Ninh Bình,,grassroots,hành chính,80
cdct-vn,tld,Công đoàn Công Thương Việt Nam,CĐCT Việt Nam,sector,,0
ct-vnsteel,cdct-vn,Công đoàn Tổng công ty Thép Việt Nam,CĐ VNSteel,upper,,0
ct-det-may,cdct-vn,Công đoàn Dệt May Việt Nam,CĐ Dệt May Việt Nam,upper,,0
ct-thuoc-la,cdct-vn,Công đoàn Tổng công ty Thuốc lá Việt Nam,CĐ Vinataba,upper,,0
ct-cs-gang-thep-tn,ct-vnsteel,Công đoàn Công ty Cổ phần Gang thép Thái Nguyên,,grassroots,DN nhà nước,3900
ct-cs-thep-mien-nam,ct-vnsteel,Công đoàn Công ty Thép Miền Nam,,grassroots,DN nhà nước,905
ct-cs-may-10,ct-det-may,Công đoàn Tổng công ty May 10,,grassroots,DN nhà nước,9050
ct-cs-det-nam-dinh,ct-det-may,Công đoàn Tổng công ty Cổ phần Dệt may Nam Định,,grassroots,DN nhà nước,2130
ct-cs-viet-tien,ct-det-may,Công đoàn Tổng công ty Việt Tiến,,grassroots,DN nhà nước,7020
ct-cs-thuoc-la-thang-long,ct-thuoc-la,Công đoàn Công ty TNHH MTV Thuốc lá Thăng Long,,grassroots,DN nhà nước,720
ct-cs-thuoc-la-sai-gon,ct-thuoc-la,Công đoàn Công ty TNHH MTV Thuốc lá Sài Gòn,,grassroots,DN nhà nước,1480
ct-cs-bo-cong-thuong,cdct-vn,Công đoàn Cơ quan Bộ Công Thương,,grassroots,hành chính,650
ct-cs-dhcn-ha-noi,cdct-vn,Công đoàn Trường Đại học Công nghiệp Hà Nội,,grassroots,sự nghiệp,1310
"""


def _units(text: str) -> tuple[DemoUnit, ...]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return tuple(
        DemoUnit(
            r["id"],
            r["parent_id"] or None,
            r["name"],
            r["short_name"] or None,
            r["level"],
            r["sector_type"] or None,
            int(r["members"]),
        )
        for r in rows
    )


UNITS = _units(TREE_CSV)

UNIT_NAMES = {u.id: u.name for u in UNITS}

# ----------------------------------------------------------------------------------- campaigns


@dataclass(frozen=True, slots=True)
class DemoIndicator:
    code: str
    name: str
    measure: str  # count, percent, vnd
    target: int
    category: str | None = None  # direct, coordinated
    scope: str = "subtree"  # own: measured by the launching unit alone


@dataclass(frozen=True, slots=True)
class DemoCampaign:
    key: str  # the demo's own handle, for registrations, reports and carried-out campaigns
    unit: str
    name: str
    kind: str
    period: tuple[date, date]
    phases: tuple[tuple[str, date, date], ...]
    contents: tuple[str, ...]
    launched_on: date
    theme: str = ""
    objectives: str = ""
    scope: str = ""
    participants: str = "workers"
    measures: tuple[str, ...] = ()
    registration_due: date | None = None
    report_days: int | None = None
    min_contents: int = 1
    indicators: tuple[DemoIndicator, ...] = ()
    carries_out: str | None = None  # key of the campaign above that this one carries out
    created_on: date | None = None  # default: the launch day


# Indicators whose actual is to be computed from events once the campaign service computes
# actuals (README, "Not yet built"). Until then they are created as source "reported"; switch
# ``COMPUTE_FROM_EVENTS`` on when computed indicators land. Progress reports never carry them.
COMPUTED_LATER: Mapping[str, tuple[str, ...]] = {"sang-kien": ("InitiativeRecognised",)}
COMPUTE_FROM_EVENTS = True

# Kế hoạch 02/KH-LĐLĐ, 20/01/2021 (seed 003).
NAME_003 = (
    "Phát động phong trào thi đua trong đoàn viên, công nhân, viên chức, lao động và các cấp "
    "công đoàn năm 2021"
)
THEME_003 = (
    "Tận dụng cơ hội, vượt mọi khó khăn, nỗ lực phấn đấu, đưa nghị quyết của Đảng vào cuộc sống"
)
# I. Mục đích, yêu cầu: its paragraphs (stored text keeps no line breaks).
OBJECTIVES_003 = " ".join(
    (
        (
            "Động viên sức mạnh to lớn của cán bộ, đoàn viên, CNVCLĐ cùng với chuyên môn và chính "
            "quyền các cấp dưới sự lãnh đạo của các cấp ủy Đảng khắc phục mọi khó khăn, đoàn kết, "
            "năng động, sáng tạo, hăng hái thi đua “Lao động giỏi, lao động sáng tạo” trong lao động "
            "sản xuất và công tác thiết thực lập thành tích chào mừng những sự kiện trọng đại của đất"
            " nước và của tỉnh."
        ),
        (
            "Tiếp tục đổi mới, sáng tạo, nâng cao chất lượng, hiệu quả phong trào thi đua yêu nước "
            "trong công nhân, viên chức, lao động và hoạt động Công đoàn. Kịp thời phát hiện, bồi "
            "dưỡng, tôn vinh, khen thưởng, tuyên truyền nêu gương các điển hình tiên tiến tiêu biểu, "
            "mô hình mới, cách làm hay nhằm nhân rộng, tạo sự lan tỏa trong các cơ quan, đơn vị, địa "
            "phương."
        ),
        (
            "Tổ chức phong trào thi đua phải thiết thực, hiệu quả, tránh hình thức, gán phong trào "
            "thi đua yêu nước trong công nhân, viên chức, lao động với nhiệm vụ đại diện, chăm lo, "
            "bảo vệ quyền và lợi ích hợp pháp, chính đáng của đoàn viên, người lao động, với việc đưa"
            " Nghị quyết của Đảng vào cuộc sống; đảm bảo thiết thực, hiệu quả, tiết kiệm; chú trọng "
            "phong trào thi đua tại các doanh nghiệp ngoài khu vực nhà nước."
        ),
        (
            "Từng đợt thi đua có sơ, tổng kết rút kinh nghiệm, khen thưởng và biểu dương kịp thời các"
            " điển hình tiên tiến để thi đua thực sự là động lực thúc đẩy xây dựng con người mới, xây"
            " dựng tổ chức công đoàn ngày càng vững mạnh."
        ),
    )
)
SCOPE_003 = "Đoàn viên, công nhân, viên chức, lao động và các cấp công đoàn tỉnh Ninh Bình"
# II.2. Nội dung thi đua, 2.1–2.5.
CONTENTS_003 = (
    (
        "Vận động đoàn viên, công chức, viên chức và người lao động ra sức thi đua phát huy sáng "
        "kiến, sáng tạo, cải tiến kỹ thuật, đổi mới quy trình làm việc, đẩy mạnh nghiên cứu, ứng "
        "dụng khoa học, công nghệ; thực hành tiết kiệm, chống lãng phí, cải cách hành chính; đồng"
        " hành cùng doanh nghiệp vượt khó, thúc đẩy tăng năng suất lao động và hiệu quả công tác,"
        " đảm bảo việc làm, thu nhập cho người lao động, góp phần thực hiện tốt các nhiệm vụ được"
        " giao và chỉ tiêu kinh tế - xã hội của ngành, địa phương và đất nước."
    ),
    (
        "Đẩy mạnh các phong trào thi đua, cuộc vận động do Tổng Liên đoàn Lao động Việt Nam phát "
        "động, cụ thể hóa các phong trào “Lao động giỏi, Lao động sáng tạo”; “Giỏi việc nước, đảm"
        " việc nhà”; “Xanh, Sạch, Đẹp, Bảo đảm an toàn vệ sinh lao động”; “Đổi mới, sáng tạo, "
        "hiệu quả trong hoạt động của tổ chức Công đoàn”; “Tham mưu giỏi, phục vụ tốt” và Cuộc "
        "vận động “Cán bộ, công chức, viên chức nói không với tiêu cực” gắn với chủ đề hoạt động "
        "năm 2021 “Nâng cao chất lượng đội ngũ cán bộ công đoàn cơ sở”."
    ),
    (
        "Tiếp tục đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh; tích "
        "cực tham gia có hiệu quả các phong trào thi đua do Thủ tướng Chính phủ phát động: “Cả "
        "nước chung sức xây dựng nông thôn mới”; “Cả nước chung tay vì người nghèo, không để ai "
        "bị bỏ lại phía sau”; “Doanh nghiệp Việt Nam hội nhập và phát triển”; “Cán bộ, công chức,"
        " viên chức thi đua thực hiện văn hoá công sở”; Cuộc vận động “Đẩy mạnh cải cách thủ tục "
        "hành chính và nâng cao chất lượng thực thi công vụ trong cán bộ, công chức, viên chức” "
        "do LĐLĐ tỉnh và Sở Nội vụ phát động."
    ),
    (
        "Tập trung tổ chức triển khai thực hiện có hiệu quả nghị quyết đại hội đảng các cấp, Nghị"
        " quyết Đại hội đại biểu toàn quốc lần thứ XIII của Đảng; phương hướng, nhiệm vụ trọng "
        "tâm của Đại hội Thi đua yêu nước toàn quốc lần thứ X và công tác thi đua, khen thưởng "
        "trong công nhân, viên chức, lao động toàn quốc giai đoạn 2020 – 2025."
    ),
    (
        "Nâng cao hiệu quả các hoạt động chăm lo lợi ích và phúc lợi cho đoàn viên, người lao "
        "động, quan tâm hỗ trợ kịp thời các trường hợp đoàn viên, người lao động có hoàn cảnh khó"
        " khăn, thiệt hại do thiên tai, dịch bệnh. Tập trung huy động các nguồn lực tổ chức hỗ "
        "trợ, chăm lo cho đoàn viên và người lao động nhân dịp Tết Nguyên đán Tân Sửu 2021 theo "
        "phương châm “tất cả mọi đoàn viên và người lao động đều có Tết” với tinh thần vui tươi, "
        "phấn khởi, lành mạnh, an toàn, tiết kiệm."
    ),
)
# V.1. Các giải pháp, 1.1–1.7.
MEASURES_003 = (
    (
        "Tiếp tục quán triệt sâu sắc tư tưởng của Chủ tịch Hồ Chí Minh về thi đua Ái Quốc, Chỉ "
        "thị số 34-CT/TW ngày 7/4/2014 của Bộ Chính trị (khóa XI), Luật thi đua khen thưởng, Nghị"
        " định 91/2017/NĐ-CP ngày 31/07/2017 của Chính phủ Quy định chi tiết thi hành một số điều"
        " của Luật thi đua, khen thưởng; Luật thi đua khen thưởng năm 2013; các Chỉ thị, Nghị "
        "quyết của Đảng, chính sách, pháp luật của Nhà nước, Nghị quyết của Công đoàn các cấp về "
        "công tác thi đua, khen thưởng và Quy chế khen thưởng của tổ chức công đoàn để thống nhất"
        " trong tổ chức thực hiện. Từng bước nâng cao chất lượng công tác khen thưởng, đẩy mạnh "
        "tuyên truyền, phát hiện, bồi dưỡng, nhân rộng các điển hình tiên tiến trong lao động sản"
        " xuất."
    ),
    (
        "Đẩy mạnh tuyên truyền nâng cao nhận thức của các cấp công đoàn và cán bộ, đoàn viên, "
        "CNVCLĐ về Nghị quyết Đại hội đại biểu toàn quốc lần thứ XIII của Đảng; nghị quyết đại "
        "hội đảng các cấp; ý nghĩa của phong trào thi đua làm cho phong trào thi đua thực sự trở "
        "thành ý thức tự giác, trách nhiệm và thường xuyên của từng cấp, từng ngành, từng đơn vị "
        "và cá nhân; tạo thành động lực góp phần tích cực vào việc thực hiện thắng lợi các nhiệm "
        "vụ kinh tế - xã hội của tỉnh đề ra, thiết thực lập thành tích cao nhất chào mừng các "
        "ngày lễ lớn, các sự kiện chính trị của tỉnh, của đất nước và tổ chức công đoàn trong năm"
        " 2021."
    ),
    (
        "Tổ chức phát động, đăng ký thi đua, xác định rõ nội dung, hình thức, tổ chức phong trào "
        "thi đua. Nâng cao chất lượng, hiệu quả công tác bình xét các danh hiệu thi đua và hình "
        "thức khen thưởng, đảm bảo tính kịp thời, chính xác. Đổi mới, nâng cao chất lượng hoạt "
        "động các Cụm thi đua, xây dựng tiêu chí, quy trình đánh giá, bình xét, suy tôn của Cụm "
        "thi đua, đảm bảo sát yêu cầu thực tiễn, đánh giá được đúng kết quả, thành tích của các "
        "đơn vị, phù hợp với điều kiện thực tế của tổ chức công đoàn và các quy định hiện hành "
        "của Nhà nước."
    ),
    (
        "Tổ chức phong trào thi đua theo hướng tập trung về cơ sở, cần xác định rõ chủ đề (dễ "
        "nhớ, dễ gọi), nội dung (thiết thực, cụ thể, phù hợp), biện pháp tổ chức thực hiện (rõ "
        "ràng, có tính khả thi). Tiêu chí đánh giá thi đua phải bám sát mục tiêu, nhiệm vụ và chỉ"
        " tiêu của từng ngành, địa phương gắn với phong trào thi đua với việc “Học tập và làm "
        "theo tư tưởng, đạo đức, phong cách Hồ Chí Minh”. Chỉ phát động, triển khai phong trào "
        "thi đua khi đã xác định rõ mục tiêu, chỉ tiêu, nội dung, biện pháp, đối tượng tham gia. "
        "Tập trung nâng cao chất lượng công tác khen thưởng thành tích chuyên đề, thành tích đột "
        "xuất, quan tâm khen thưởng tập thể nhỏ và người lao động trực tiếp, coi đây là khâu đột "
        "phá trong công tác thi đua khen thưởng của tổ chức công đoàn năm 2021. Đảm bảo khen "
        "thưởng phải bám sát vào kết quả thi đua thực hiện nhiệm vụ chính trị, sản xuất kinh "
        "doanh của mỗi cơ quan, đơn vị, doanh nghiệp."
    ),
    (
        "Tiếp tục đẩy mạnh phong trào thi đua “Lao động giỏi, lao động sáng tạo”, nghiên cứu khoa"
        " học, phát huy sáng kiến cải tiến kỹ thuật tiết kiệm trong sản xuất và công tác; tích "
        "cực tham gia Hội thi sáng tạo kỹ thuật tỉnh Ninh Bình lần thứ X (2020-2021); kịp thời "
        "động viên, khen thưởng các tập thể, cá nhân đăng ký và thực hiện các đề tài nghiên cứu "
        "khoa học, sáng kiến cải tiến kỹ thuật, công trình sản phẩm mới."
    ),
    (
        "Tiếp tục thực hiện hiệu quả nhiệm vụ phòng, chống dịch Covid – 19; chung tay khắc phục "
        "hậu quả thiên tai, dịch bệnh với tinh thần kiên trì, quyết liệt, sáng tạo với nỗ lực và "
        "quyết tâm cao nhất; thúc đẩy năng suất lao động, hiệu quả công tác gắn với mục tiêu hoàn"
        " thành nhiệm vụ sản xuất kinh doanh, công tác cải cách hành chính và nâng cao hiệu lực "
        "quản lý nhà nước."
    ),
    (
        "Tăng cường đôn đốc, kiểm tra, hướng dẫn các cơ sở trực thuộc tổ chức tốt các nội dung, "
        "mục tiêu, chỉ tiêu thi đua đã phát động."
    ),
)
DIRECT, COORDINATED = "direct", "coordinated"
# III. Một số chỉ tiêu chủ yếu: 1. thuộc trách nhiệm trực tiếp của tổ chức Công đoàn; 2. tổ chức
# Công đoàn phối hợp thực hiện. Shares the province measures of its units ("85% công đoàn cấp
# trên cơ sở xếp loại tốt", the province's own inspections) have scope "own".
INDICATORS_003 = (
    DemoIndicator(
        "cdcs-moi",
        "Thành lập CĐCS trong các doanh nghiệp có từ 25 CNLĐ trở lên",
        "count",
        20,
        DIRECT,
    ),
    DemoIndicator("doan-vien-moi", "Kết nạp mới đoàn viên", "count", 8000, DIRECT),
    DemoIndicator(
        "cttcs-tot", "Công đoàn cấp trên cơ sở xếp loại tốt", "percent", 85, DIRECT, "own"
    ),
    DemoIndicator(
        "cdcs-nha-nuoc-tot", "CĐCS khu vực nhà nước đạt loại tốt", "percent", 85, DIRECT, "own"
    ),
    DemoIndicator(
        "cdcs-ngoai-nha-nuoc-tot",
        "CĐCS khu vực ngoài nhà nước, DN có vốn đầu tư nước ngoài đạt loại tốt",
        "percent",
        55,
        DIRECT,
        "own",
    ),
    DemoIndicator("doi-the-doan-vien", "Hoàn thành đổi thẻ đoàn viên", "percent", 100, DIRECT),
    DemoIndicator(
        "tap-huan-can-bo-chuyen-trach",
        "Cán bộ công đoàn chuyên trách được bồi dưỡng, tập huấn về nghiệp vụ công đoàn",
        "percent",
        100,
        DIRECT,
    ),
    DemoIndicator(
        "tap-huan-can-bo-cdcs",
        "Cán bộ CĐCS được bồi dưỡng, tập huấn về nghiệp vụ công đoàn",
        "percent",
        85,
        DIRECT,
    ),
    DemoIndicator(
        "tap-huan-nu-cong",
        "Cán bộ nữ công được tập huấn về nghiệp vụ nữ công và bình đẳng giới",
        "percent",
        100,
        DIRECT,
    ),
    DemoIndicator(
        "gioi-viec-nuoc",
        "Nữ CNVCLĐ đạt danh hiệu thi đua “Giỏi việc nước, Đảm việc nhà” cấp cơ sở",
        "percent",
        85,
        DIRECT,
    ),
    DemoIndicator(
        "ban-nu-cong-moi",
        "Thành lập mới Ban Nữ công quần chúng trong các CĐCS doanh nghiệp ngoài khu vực nhà nước",
        "count",
        23,
        DIRECT,
    ),
    DemoIndicator(
        "tet-sum-vay-cttcs",
        "Công đoàn cấp trên cơ sở tổ chức các hoạt động “Tết sum vầy”; “Tháng công nhân và Tháng hành động về ATVSLĐ” năm 2021",
        "percent",
        100,
        DIRECT,
        "own",
    ),
    DemoIndicator(
        "tet-sum-vay-cdcs",
        "CĐCS doanh nghiệp tổ chức các hoạt động “Tết sum vầy”; “Tháng công nhân và Tháng hành động về ATVSLĐ” năm 2021",
        "count",
        190,
        DIRECT,
    ),
    DemoIndicator(
        "thu-tai-chinh-hcsn",
        "Thu tài chính công đoàn khối hành chính sự nghiệp",
        "percent",
        100,
        DIRECT,
        "own",
    ),
    DemoIndicator(
        "thu-tai-chinh-sxkd",
        "Thu tài chính công đoàn khối SXKD có tổ chức công đoàn",
        "percent",
        95,
        DIRECT,
        "own",
    ),
    DemoIndicator(
        "ubkt-kiem-tra-dong-cap",
        "UBKT công đoàn các cấp tiến hành kiểm tra đồng cấp về tài chính công đoàn",
        "percent",
        100,
        DIRECT,
    ),
    DemoIndicator(
        "ubkt-tinh-kiem-tra",
        "UBKT LĐLĐ tỉnh kiểm tra số công đoàn cấp dưới",
        "percent",
        25,
        DIRECT,
        "own",
    ),
    DemoIndicator(
        "ubkt-huyen-nganh-kiem-tra",
        "UBKT LĐLĐ các huyện, ngành kiểm tra số CĐCS về công tác tài chính và chấp hành Điều lệ Công đoàn Việt Nam",
        "percent",
        30,
        DIRECT,
    ),
    DemoIndicator(
        "quan-triet-nghi-quyet",
        "Cán bộ, công chức, CNLĐ trong các đơn vị có tổ chức Công đoàn được quán triệt, học tập các Nghị quyết, Chỉ thị của Đảng, chính sách pháp luật của Nhà nước, Nghị quyết của Công đoàn cấp trên",
        "percent",
        90,
        COORDINATED,
    ),
    DemoIndicator(
        "hoi-nghi-cbccvc",
        "Cơ quan Nhà nước, đơn vị sự nghiệp công lập tổ chức hội nghị CBCCVC",
        "percent",
        100,
        COORDINATED,
    ),
    DemoIndicator(
        "hoi-nghi-nguoi-lao-dong",
        "Doanh nghiệp ngoài khu vực nhà nước tổ chức hội nghị người lao động",
        "count",
        190,
        COORDINATED,
    ),
    DemoIndicator(
        "thoa-uoc-moi",
        "Ký mới thỏa ước lao động tập thể ở doanh nghiệp có tổ chức công đoàn",
        "count",
        20,
        COORDINATED,
    ),
    DemoIndicator(
        "bua-an-tren-15000",
        "Doanh nghiệp điều chỉnh bữa ăn cao hơn 15.000 đồng",
        "count",
        20,
        COORDINATED,
    ),
    DemoIndicator(
        "doi-thoai-dn-nha-nuoc",
        "Tổ chức đối thoại tại nơi làm việc ở doanh nghiệp nhà nước",
        "count",
        5,
        COORDINATED,
    ),
    DemoIndicator(
        "doi-thoai-dn-ngoai-nha-nuoc",
        "Tổ chức đối thoại tại nơi làm việc ở doanh nghiệp ngoài khu vực nhà nước",
        "count",
        190,
        COORDINATED,
    ),
    DemoIndicator(
        "gioi-thieu-dang-vien",
        "Đoàn viên công đoàn ưu tú được bồi dưỡng, giới thiệu để Đảng xem xét, kết nạp",
        "count",
        1070,
        COORDINATED,
    ),
    DemoIndicator("sang-kien", "Sáng kiến được các cấp công nhận", "count", 1200, COORDINATED),
    DemoIndicator(
        "bang-lao-dong-sang-tao",
        "Tác giả có đề tài, sáng kiến được Tổng Liên đoàn tặng Bằng Lao động sáng tạo",
        "count",
        18,
        COORDINATED,
    ),
)
PHASES_2021 = (
    ("Đợt 1", date(2021, 1, 1), date(2021, 6, 30)),
    ("Đợt 2", date(2021, 7, 1), date(2021, 12, 31)),
)
YEAR_2021 = (date(2021, 1, 1), date(2021, 12, 31))

# Kế hoạch 64/KH-CĐCT, 02/3/2017 (seed 004). It names no chủ đề and sets no quantitative
# indicators, no registration deadline and no report days; each unit picks at least two contents.
NAME_004 = (
    "Phát động phong trào thi đua yêu nước trong CNVCLĐ chào mừng các ngày lễ lớn của đất "
    "nước năm 2017, chào mừng Đại hội Công đoàn các cấp tiến tới Đại hội Công đoàn Công "
    "Thương lần thứ III và Đại hội lần thứ XII Công đoàn Việt Nam"
)
OBJECTIVES_004 = " ".join(
    (
        (
            "Động viên sức mạnh to lớn của cán bộ đoàn viên, CNVCLĐ trong ngành cùng với chuyên môn "
            "và chính quyền các cấp dưới sự lãnh đạo của các cấp ủy Đảng khắc phục mọi khó khăn ra "
            "sức thi đua “ Lao động giỏi, lao động sáng tạo” phấn đấu hoàn thành các mục tiêu, chỉ "
            "tiêu phát triển kinh tế - xã hội năm 2017, tạo đột phá cho bước phát triển trong giai "
            "đoạn mới làm tiền đề để hoàn thành kế hoạch 5 năm 2016 – 2020 và thực hiện Nghị quyết "
            "Đại hội XII của Đảng."
        ),
        (
            "Tổ chức phong trào thi đua phải thiết thực, hiệu quả, gắn phong trào thi đua yêu nước "
            "trong CNVCLĐ với việc chăm lo bảo vệ lợi ích hợp pháp chính đáng cho đoàn viên và người "
            "lao động, nâng cao năng suất lao động, chất lượng sản phẩm, chú trọng phong trào thi đua"
            " ở khu vực doanh nghiệp ngoài nhà nước."
        ),
        (
            "Khen thưởng phải kịp thời, đúng người, đúng thành tích, quan tâm đối tượng công nhân "
            "trực tiếp lao động sản xuất, công tác. Kịp thời phát hiện những tấm gương tiêu biểu, "
            "những điển hình xuất sắc để học tập và nhân rộng trong phạm vi ngành, địa phương và toàn"
            " quốc."
        ),
    )
)
SCOPE_004 = (
    "Cán bộ đoàn viên, công nhân, viên chức, lao động và các cấp Công đoàn trong ngành Công Thương"
)
# II. Nội dung thi đua, 1–5.
CONTENTS_004 = (
    (
        "Tiếp tục đẩy mạnh phong trào thi đua Lao động giỏi, Lao động sáng tạo trên tất cả các "
        "lĩnh vực, với mục tiêu “Năng suất cao hơn, chất lượng tốt hơn”, để công tác thi đua thực"
        " sự là động lực góp phần quan trọng hoàn thành nhiệm vụ phát triển kinh tế xã hội năm "
        "2017 của từng ngành, địa phương, cơ quan, đơn vị."
    ),
    (
        "Vận động CNVCLĐ “Thi đua học tập nâng cao trình độ mọi mặt đáp ứng yêu cầu thời kỳ hội "
        "nhập và phát triển”; tiếp tục đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong cách"
        " Hồ Chí Minh”; gắn với cuộc vận động xây dựng người cán bộ, công chức, viên chức “Trung "
        "thành, sáng tạo, tận tụy, liêm chính”; Động viên cán bộ, đoàn viên, CNVCLĐ phát huy dân "
        "chủ, nâng cao chất lượng và hiệu quả công tác, xây dựng văn minh công sở, văn hoá doanh "
        "nghiệp, văn hoá giao thông, thực hiện tốt cuộc vận động “Thực hành tiết kiệm, chống lãng"
        " phí, tham nhũng, chống các tệ nạn xã hội”."
    ),
    (
        "Đẩy mạnh phong trào thi đua liên kết phục vụ sự nghiệp CNH, HĐH nông nghiệp và phát "
        "triển nông thôn gắn với phong trào “Toàn dân chung sức xây dựng nông thôn mới, đô thị "
        "văn minh”; vận động công nhân, viên chức, lao động, các nhà khoa học, các nhà quản lý "
        "thi đua liên kết trong nghiên cứu, sáng tạo nhằm tạo ra cây trồng vật nuôi có năng suất "
        "cao, chất lượng tốt, từng bước chiếm lĩnh thị trường trong nước, khu vực và quốc tế."
    ),
    (
        "Nỗ lực phấn đấu thực hiện thắng lợi 04 Chương trình hành động và các chỉ tiêu do Đại hội"
        " XI Công đoàn Việt Nam đề ra; và 05 chương trình trọng tâm của Công đoàn Công Thương "
        "Việt Nam đề ra (2013 – 2018), Công đoàn các ngành, địa phương, cơ quan, doanh nghiệp "
        "phát động các đợt thi đua đột xuất, trước tiên là thực hiện hiệu quả các nhiệm vụ trong "
        "tâm, những công việc khó, hướng tới chỉ đạo, tổ chức thành công Đại hội Công đoàn các "
        "cấp, tiến tới Đại hội XII Công đoàn Việt Nam và Đại hội III Công đoàn Công Thương Việt "
        "Nam. Hưởng ứng phong trào thi đua “Doanh nghiệp Việt Nam hội nhập và phát triển”, Công "
        "đoàn đồng hành vì sự phát triển bền vững của doanh nghiệp, vì việc làm, đời sống của "
        "đoàn viên, công nhân, lao động."
    ),
    (
        "Năm 2017, “Năm vì lợi ích của đoàn viên” các cấp Công đoàn đẩy mạnh các hoạt động chăm "
        "lo lợi ích thiết thực cho đoàn viên; Tham gia xây dựng các chính sách có liên quan đến "
        "đoàn viên và người lao động ở ngành, địa phương đảm bảo để đoàn viên công đoàn thuộc "
        "ngành, địa phương có lợi ích cao hơn so với đối tượng khác; Chủ động ký kết các thỏa "
        "thuận với các đối tác nhằm mang lại cho đoàn viên công đoàn nhiều sản phẩm, dịch vụ với "
        "giá ưu đãi; tổ chức triển khai thực hiện tốt các thỏa thuận do Tổng Liên đoàn đã ký kết "
        "với các Tập đoàn, Tổng công ty, doanh nghiệp nhằm mang lại lợi ích tốt hơn cho đoàn viên"
        " công đoàn."
    ),
)
# III. Tổ chức thực hiện, after the phases: review after each phase, 2–4, and reporting.
MEASURES_004 = (
    (
        "Sau mỗi đợt thi đua, các cấp Công đoàn trong ngành cần tổ chức sơ kết, biểu dương, khen "
        "thưởng các tập thể, cá nhân có thành tích xuất sắc trong phong trào thi đua."
    ),
    (
        "Căn cứ vào chương trình, kế hoạch phát triển kinh tế - xã hội của từng ngành, địa phương"
        " và cơ sở, các cấp Công đoàn cần tranh thủ sự chỉ đạo của cấp uỷ Đảng, chủ động phối hợp"
        " với chuyên môn đồng cấp, xây dựng kế hoạch tổ chức, thực hiện, mỗi đơn vị xây dựng và "
        "lựa chọn ít nhất hai nội dung phong trào thi đua có ý nghĩa đặc thù, đặc trưng xuyên "
        "suốt các nhiệm vụ trọng tâm hoặc các công trình trọng điểm; xây dựng kế hoạch triển khai"
        " phong trào thi đua cụ thể ở cấp mình để đăng ký với Công đoàn cấp trên và Tổng Liên "
        "đoàn, lấy đó làm động lực thúc đẩy việc thực hiện thắng lợi nhiệm vụ của đơn vị năm 2017"
        " và các năm tiếp theo. Đồng thời phân công trách nhiệm cụ thể, đôn đốc kiểm tra thực "
        "hiện phong trào. Lựa chọn các hình thức, biện pháp thích hợp với từng ngành nghề, loại "
        "hình đơn vị, doanh nghiệp...với các mục tiêu cụ thể, thiết thực. Thường xuyên bám sát cơ"
        " sở để phát hiện, xây dựng, nhân rộng các điển hình tiên tiến; tuyên truyền, tạo sự lan "
        "tỏa của các điển hình tiên tiến, gương người tốt, việc tốt, làm nòng cốt cho phong trào "
        "thi đua. Xem xét khen thưởng cho những tập thể, cá nhân tiêu biểu, điển hình có thành "
        "tích xuất sắc trong phong trào thi đua do Công đoàn phát động."
    ),
    (
        "Công đoàn Công Thương Việt Nam xem xét và đề nghị Tổng Liên đoàn Lao động Việt Nam gắn "
        "biển một số công trình, sản phẩm tiêu biểu theo đăng ký của các Công đoàn cấp trên cơ sở"
        " và cơ sở trực thuộc. Đối với Công đoàn cấp trên cơ sở thì Công đoàn cấp dưới đăng ký để"
        " công đoàn cấp trên xem xét gắn biển công trình chào mừng Đại hội ở cấp mình."
    ),
    (
        "Các phương tiện thông tin, truyền thông của tổ chức Công đoàn trong ngành đẩy mạnh tuyên"
        " truyền sâu rộng về những kết quả của các phong trào thi đua trong CNVCLĐ và hoạt động "
        "Công đoàn; giới thiệu về gương điển hình, người tốt, việc tốt, các tập thể, cá nhân anh "
        "hùng, chiến sĩ thi đua, chú trọng đến các điển hình tiên tiến đang trực tiếp lao động "
        "sản xuất, công tác. Các cấp công đoàn cần chú trọng công tác truyền thông trên các "
        "phương tiện thông tin đại chúng để tăng cường công tác thông tin tuyên truyền làm cho "
        "đoàn viên, CNLĐ và nhân dân thấy được các hoạt động hiệu quả, thiết thực của tổ chức "
        "công đoàn."
    ),
    (
        "Trong quá trình tổ chức thực hiện, các cấp Công đoàn thường xuyên thông tin, báo cáo kết"
        " quả các phong trào thi đua về Công đoàn Công Thương Việt Nam (qua Ban Chính sách pháp "
        "luật) để kịp thời tuyên truyền, biểu dương, làm cơ sở cho công tác khen thưởng tổng kết "
        "phong trào thi đua năm 2017./."
    ),
)


def _carrying_out(
    key: str, unit: str, own_content: str, targets: Mapping[str, int]
) -> DemoCampaign:
    """An upper-level union's 2021 campaign carrying out the province's (cụ thể hóa)."""
    short = next(u.short_name for u in UNITS if u.id == unit)
    return DemoCampaign(
        key=key,
        unit=unit,
        name=f"Phong trào thi đua trong CNVCLĐ năm 2021 của {short}",
        kind="yearly",
        period=YEAR_2021,
        phases=PHASES_2021,
        contents=(CONTENTS_003[0], CONTENTS_003[1], own_content),
        theme=THEME_003,
        scope=f"Đoàn viên, công nhân, viên chức, lao động và các công đoàn cơ sở trực thuộc {short}",
        registration_due=date(2021, 3, 10),
        report_days=5,
        min_contents=1,
        indicators=tuple(
            DemoIndicator(i.code, i.name, i.measure, targets[i.code], i.category)
            for i in INDICATORS_003
            if i.code in targets
        ),
        carries_out="nb-2021",
        created_on=date(2021, 2, 1),
        launched_on=date(2021, 2, 3),
    )


CAMPAIGNS: tuple[DemoCampaign, ...] = (
    DemoCampaign(
        key="nb-2021",
        unit=PROVINCE,
        name=NAME_003,
        kind="yearly",
        period=YEAR_2021,
        phases=PHASES_2021,
        contents=CONTENTS_003,
        theme=THEME_003,
        objectives=OBJECTIVES_003,
        scope=SCOPE_003,
        measures=MEASURES_003,
        registration_due=date(2021, 2, 20),  # "Gửi kế hoạch phát động trước 20/2/2021"
        report_days=5,  # "gửi báo cáo sơ kết, tổng kết trong vòng 5 ngày"
        min_contents=1,  # "ít nhất một nội dung phong trào thi đua"
        indicators=INDICATORS_003,
        launched_on=date(2021, 1, 20),
    ),
    DemoCampaign(
        key="ct-2017",
        unit=SECTOR,
        name=NAME_004,
        kind="occasion",
        period=(date(2017, 1, 1), date(2017, 12, 31)),
        phases=(
            ("Đợt 1", date(2017, 1, 1), date(2017, 8, 31)),  # "Từ đầu năm đến 31/8/2017"
            ("Đợt 2", date(2017, 9, 1), date(2017, 12, 31)),
        ),
        contents=CONTENTS_004,
        objectives=OBJECTIVES_004,
        scope=SCOPE_004,
        measures=MEASURES_004,
        min_contents=2,  # "ít nhất hai nội dung phong trào thi đua"
        launched_on=date(2017, 3, 2),
    ),
    _carrying_out(
        "hl-2021",
        "nb-hoa-lu",
        "Thi đua phục vụ Năm Du lịch quốc gia Hoa Lư – Ninh Bình 2021",
        {"cdcs-moi": 3, "doan-vien-moi": 900, "sang-kien": 150},
    ),
    _carrying_out(
        "td-2021",
        "nb-tp-tam-diep",
        "Thi đua thực hành tiết kiệm, giảm tiêu hao nguyên liệu, năng lượng trong sản xuất",
        {"cdcs-moi": 2, "doan-vien-moi": 1000, "sang-kien": 180},
    ),
    _carrying_out(
        "kcn-2021",
        "nb-kcn",
        "Thi đua tăng năng suất lao động, bảo đảm an toàn, vệ sinh lao động trong các doanh "
        "nghiệp khu công nghiệp",
        {"cdcs-moi": 6, "doan-vien-moi": 2500, "sang-kien": 260},
    ),
)

# ------------------------------------------------------------------ registrations and progress


@dataclass(frozen=True, slots=True)
class DemoRegistration:
    campaign: str  # a DemoCampaign key
    unit: str
    on: date  # after the campaign's due date it is a late registration
    contents: tuple[int, ...]  # positions in the campaign's contents
    targets: Mapping[str, int] = field(default_factory=dict)


R = DemoRegistration
# Each launching unit's direct children: most on time, some late, the rest not yet.
REGISTRATIONS: tuple[DemoRegistration, ...] = (
    R("nb-2021", "nb-hoa-lu", date(2021, 2, 5), (0, 1), {"cdcs-moi": 3, "doan-vien-moi": 900}),
    R(
        "nb-2021",
        "nb-tp-tam-diep",
        date(2021, 2, 8),
        (0, 4),
        {"cdcs-moi": 2, "doan-vien-moi": 1000},
    ),
    R("nb-2021", "nb-kcn", date(2021, 2, 10), (0, 1, 4), {"cdcs-moi": 6, "doan-vien-moi": 2500}),
    R("nb-2021", "nb-tp-ninh-binh", date(2021, 2, 18), (1, 2), {"doan-vien-moi": 800}),
    R("nb-2021", "nb-gia-vien", date(2021, 2, 25), (0,), {"doan-vien-moi": 600}),  # late
    R("nb-2021", "nb-kim-son", date(2021, 3, 2), (0, 4)),  # late
    # nb-giao-duc: not yet
    R("hl-2021", GRASSROOTS, date(2021, 2, 26), (0, 2), {"doan-vien-moi": 120}),
    R("hl-2021", "nb-cs-bql-trang-an", date(2021, 3, 1), (2,)),
    R("hl-2021", "nb-cs-thcs-truong-yen", date(2021, 3, 15), (1,)),  # late
    # nb-cs-ubnd-hl: not yet
    R("td-2021", "nb-cs-xi-mang-td", date(2021, 2, 22), (0, 2), {"sang-kien": 40}),
    R("td-2021", "nb-cs-dong-giao", date(2021, 3, 5), (0, 1)),
    R("td-2021", "nb-cs-ubnd-td", date(2021, 3, 20), (1,)),  # late
    R("kcn-2021", "nb-cs-giay-nb", date(2021, 2, 24), (0, 2), {"doan-vien-moi": 400}),
    R("kcn-2021", "nb-cs-dam-nb", date(2021, 2, 26), (0, 1, 2), {"sang-kien": 60}),
    R("kcn-2021", "nb-cs-dien-tu-khanh-phu", date(2021, 3, 8), (2,)),
    # nb-cs-may-gian-khau: not yet
    R("ct-2017", "ct-vnsteel", date(2017, 3, 20), (0, 3)),
    R("ct-2017", "ct-det-may", date(2017, 3, 22), (0, 1, 4)),
    R("ct-2017", "ct-thuoc-la", date(2017, 3, 28), (0, 4)),
    R("ct-2017", "ct-cs-bo-cong-thuong", date(2017, 4, 5), (1, 4)),
    # ct-cs-dhcn-ha-noi: not yet
)


@dataclass(frozen=True, slots=True)
class DemoReport:
    campaign: str
    unit: str
    phase: int
    on: date  # more than the campaign's report days after the phase: a late report
    actuals: Mapping[str, int]
    note: str = ""


P = DemoReport
# Phase 1 of 2021 ended 30/6, reports due by 5/7.
PROGRESS: tuple[DemoReport, ...] = (
    P(
        "nb-2021",
        "nb-hoa-lu",
        1,
        date(2021, 7, 2),
        {"cdcs-moi": 2, "doan-vien-moi": 480, "bang-lao-dong-sang-tao": 1},
    ),
    P("nb-2021", "nb-tp-tam-diep", 1, date(2021, 7, 3), {"cdcs-moi": 1, "doan-vien-moi": 520}),
    P(
        "nb-2021",
        "nb-kcn",
        1,
        date(2021, 7, 5),
        {
            "cdcs-moi": 4,
            "doan-vien-moi": 1650,
            "bang-lao-dong-sang-tao": 2,
            "hoi-nghi-nguoi-lao-dong": 38,
        },
    ),
    P("nb-2021", "nb-tp-ninh-binh", 1, date(2021, 7, 5), {"cdcs-moi": 1, "doan-vien-moi": 390}),
    P(
        "nb-2021",
        "nb-gia-vien",
        1,
        date(2021, 7, 9),
        {"cdcs-moi": 1, "doan-vien-moi": 310},
        "Báo cáo muộn do dịch Covid-19.",
    ),
    P("nb-2021", PROVINCE, 1, date(2021, 7, 5), {"cttcs-tot": 86, "ubkt-tinh-kiem-tra": 14}),
    P("hl-2021", GRASSROOTS, 1, date(2021, 7, 3), {"doan-vien-moi": 45}),
    P("kcn-2021", "nb-cs-giay-nb", 1, date(2021, 7, 4), {"doan-vien-moi": 320, "cdcs-moi": 0}),
    P("kcn-2021", "nb-cs-dam-nb", 1, date(2021, 7, 12), {"doan-vien-moi": 85}),
)


@dataclass(frozen=True, slots=True)
class DemoReview:
    campaign: str
    phase: int
    on: date
    report: str


REVIEWS: tuple[DemoReview, ...] = (
    DemoReview(
        "nb-2021",
        1,
        date(2021, 7, 5),
        "Sơ kết đợt 1 (01/01–30/6/2021): các cấp công đoàn trong tỉnh đã tổ chức phát động "
        "phong trào thi đua năm 2021 ngay từ đầu năm; phần lớn công đoàn cấp trên cơ sở đã gửi "
        "kế hoạch và đăng ký thi đua, một số đơn vị gửi muộn so với hạn 20/2/2021. Công tác phát "
        "triển đoàn viên, thành lập CĐCS trong doanh nghiệp đạt khá; phong trào “Lao động giỏi, "
        "lao động sáng tạo” được duy trì dù dịch Covid-19 ảnh hưởng đến sản xuất. Đợt 2 tập trung "
        "thi đua chào mừng kỷ niệm 75 năm ngày thành lập Công đoàn Ninh Bình.",
    ),
)

# ----------------------------------------------------------------------------------- loading


@dataclass
class DemoClock:
    """The day the demo's commands take as today."""

    on: date = TREE_SINCE

    def __call__(self) -> date:
        return self.on


@dataclass
class DemoContext:
    runtime: Runtime
    prefix: str
    registry: RegistryCommands
    campaigns: CampaignCommands
    clock: DemoClock
    campaign_ids: dict[str, UUID] = field(default_factory=dict)  # DemoCampaign key → id

    def unit(self, unit_id: str) -> str:
        return self.prefix + unit_id

    def officer(self, unit_id: str) -> Principal:
        return Principal(subject=SUBJECT, tenant=self.unit(unit_id), roles=frozenset({"officer"}))

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[asyncpg.Connection]:
        """A read transaction with the national unit's reach: the whole demo."""
        async with access.scope(self.runtime.pool, self.officer(NATIONAL)) as conn:
            yield conn

    async def has(self, sql: str, *args: object) -> bool:
        """Whether the demo already holds what ``sql`` asks for (a step skips what it finds)."""
        async with self.reading() as conn:
            return bool(await conn.fetchval(sql, *args))

    def campaign_id(self, key: str) -> UUID:
        return self.campaign_ids[key]


Step = Callable[[DemoContext], Awaitable[int]]


async def _tree(ctx: DemoContext) -> int:
    """The units, through the registry's importer: those already registered with the same data
    are skipped; one registered with other data stops the demo (IMPORT_INVALID). A national unit
    already registered under the demo's id is taken as it is, and the demo's units count from
    the day it does if that is later than ``TREE_SINCE`` (e.g. the README's example import)."""
    async with ctx.reading() as conn:
        root = await conn.fetchval(
            "SELECT since FROM units WHERE tenant_id = $1", ctx.unit(NATIONAL)
        )
    data = units_csv(ctx.prefix, with_national=root is None)
    since = max(TREE_SINCE, root) if root is not None else TREE_SINCE
    return (await import_units(ctx.registry, data, effective_on=since)).registered


def units_csv(prefix: str = "", *, with_national: bool = True) -> bytes:
    """The tree in the importer's format, ``prefix`` before every id."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("id", "parent_id", "name", "short_name", "level", "sector_type", "members"))
    for u in UNITS if with_national else UNITS[1:]:
        parent = prefix + u.parent if u.parent else ""
        writer.writerow(
            (
                prefix + u.id,
                parent,
                u.name,
                u.short_name or "",
                u.level,
                u.sector_type or "",
                u.members,
            )
        )
    return out.getvalue().encode()


async def _campaigns(ctx: DemoContext) -> int:
    """Each campaign planned and launched, unless its unit has one of that name already; a draft
    left by an interrupted run gets its missing phases and indicators, then is launched."""
    created = 0
    for plan in CAMPAIGNS:
        created += await _campaign(ctx, plan)
    return created


async def _campaign(ctx: DemoContext, plan: DemoCampaign) -> int:
    actor = ctx.officer(plan.unit)
    async with ctx.reading() as conn:
        row = await conn.fetchrow(
            "SELECT campaign_id, status FROM campaigns WHERE tenant_id = $1 AND name = $2 "
            "ORDER BY version DESC LIMIT 1",
            actor.tenant,
            plan.name,
        )
    created = row is None
    if created:
        ctx.clock.on = plan.created_on or plan.launched_on
        campaign_id = await ctx.campaigns.create(
            actor,
            name=plan.name,
            kind=plan.kind,
            period_start=plan.period[0],
            period_end=plan.period[1],
            theme=plan.theme,
            objectives=plan.objectives,
            scope=plan.scope,
            participants=plan.participants,
            contents=list(plan.contents),
            measures=list(plan.measures),
            registration_due=plan.registration_due,
            report_days=plan.report_days,
            min_contents=plan.min_contents,
            parent_campaign=ctx.campaign_id(plan.carries_out) if plan.carries_out else None,
        )
        status = DRAFT
    else:
        # asyncpg's own UUID type: the event codec takes only uuid.UUID itself.
        campaign_id, status = UUID(str(row["campaign_id"])), row["status"]
    ctx.campaign_ids[plan.key] = campaign_id
    if status == DRAFT:
        await _plan(ctx, plan, actor, campaign_id)
        ctx.clock.on = plan.launched_on
        await ctx.campaigns.launch(actor, campaign_id)
    return int(created)


async def _plan(ctx: DemoContext, plan: DemoCampaign, actor: Principal, campaign_id: UUID) -> None:
    """The phases and indicators a draft does not have yet."""
    async with ctx.reading() as conn:
        phases = await conn.fetchval(
            "SELECT count(*) FROM campaign_phases WHERE campaign_id = $1", campaign_id
        )
        codes = {
            r["code"]
            for r in await conn.fetch(
                "SELECT code FROM campaign_indicators WHERE campaign_id = $1", campaign_id
            )
        }
    for name, starts, ends in plan.phases[phases:]:
        await ctx.campaigns.add_phase(actor, campaign_id, name=name, starts=starts, ends=ends)
    for indicator in plan.indicators:
        if indicator.code in codes:
            continue
        computed = COMPUTED_LATER.get(indicator.code, ()) if COMPUTE_FROM_EVENTS else ()
        await ctx.campaigns.add_indicator(
            actor,
            campaign_id,
            code=indicator.code,
            name=indicator.name,
            measure=indicator.measure,
            target=indicator.target,
            source="computed" if computed else "reported",
            computed_from=list(computed),
            scope=indicator.scope,
            category=indicator.category,
        )


def _campaign_plan(key: str) -> DemoCampaign:
    return next(c for c in CAMPAIGNS if c.key == key)


async def _registrations(ctx: DemoContext) -> int:
    made = 0
    for r in REGISTRATIONS:
        plan = _campaign_plan(r.campaign)
        campaign_id = ctx.campaign_id(r.campaign)
        if await ctx.has(
            "SELECT 1 FROM campaign_registrations WHERE tenant_id = $1 AND campaign_id = $2",
            ctx.unit(r.unit),
            campaign_id,
        ):
            continue
        ctx.clock.on = r.on
        await ctx.campaigns.register(
            ctx.officer(r.unit),
            campaign_id,
            plan=f"Kế hoạch thi đua của {UNIT_NAMES[r.unit]} hưởng ứng phong trào của cấp trên.",
            contents=[plan.contents[i] for i in r.contents],
            targets=dict(r.targets),
            late=plan.registration_due is not None and r.on > plan.registration_due,
        )
        made += 1
    return made


async def _progress(ctx: DemoContext) -> int:
    made = 0
    for p in PROGRESS:
        campaign_id = ctx.campaign_id(p.campaign)
        if await ctx.has(
            "SELECT 1 FROM campaign_progress WHERE tenant_id = $1 AND campaign_id = $2 "
            "AND phase = $3 LIMIT 1",
            ctx.unit(p.unit),
            campaign_id,
            p.phase,
        ):
            continue
        ctx.clock.on = p.on
        await ctx.campaigns.report_progress(
            ctx.officer(p.unit), campaign_id, p.phase, dict(p.actuals), p.note
        )
        made += 1
    return made


def review_figures(review: DemoReview) -> dict[str, int]:
    """What the reports in by the review's day add up to: each count indicator's sum, and how
    many units reported."""
    plan = _campaign_plan(review.campaign)
    counts = {i.code for i in plan.indicators if i.measure == "count"}
    reports = [
        p
        for p in PROGRESS
        if p.campaign == review.campaign and p.phase == review.phase and p.on <= review.on
    ]
    figures = {"don-vi-bao-cao": len(reports)}
    for p in reports:
        for code, value in p.actuals.items():
            if code in counts:
                figures[code] = figures.get(code, 0) + value
    return figures


async def _reviews(ctx: DemoContext) -> int:
    made = 0
    for review in REVIEWS:
        plan = _campaign_plan(review.campaign)
        campaign_id = ctx.campaign_id(review.campaign)
        if await ctx.has(
            "SELECT review IS NOT NULL FROM campaign_phases WHERE campaign_id = $1 AND number = $2",
            campaign_id,
            review.phase,
        ):
            continue
        ctx.clock.on = review.on
        await ctx.campaigns.review_phase(
            ctx.officer(plan.unit), campaign_id, review.phase, review.report, review_figures(review)
        )
        made += 1
    return made


# --- people's pledges, works and initiatives (synthetic, deterministic) ----------------------

FAMILY = (
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Vũ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Ngô",
    "Đinh",
    "Lương",
)
MIDDLE = ("Văn", "Thị", "Đức", "Thị Thu", "Minh", "Thị Hồng", "Quang", "Thị Lan", "Xuân", "Hữu")
GIVEN = (
    "An",
    "Bình",
    "Cường",
    "Dung",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hương",
    "Khánh",
    "Lan",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Phúc",
    "Quân",
    "Thảo",
    "Trang",
    "Tuấn",
    "Vân",
    "Yến",
)
PLEDGING_UNITS = (  # grassroots unions under the province: (unit, people pledging)
    ("nb-cs-trang-an", 120),
    ("nb-cs-xi-mang-td", 200),
    ("nb-cs-giay-nb", 300),
    ("nb-cs-dam-nb", 150),
    ("nb-cs-may-kim-son", 180),
    ("nb-cs-dh-hoa-lu", 60),
    ("nb-cs-bv-kim-son", 50),
)
PLEDGED_ON = date(2021, 2, 15)


def person_name(n: int) -> str:
    return f"{FAMILY[n % len(FAMILY)]} {MIDDLE[n // 7 % len(MIDDLE)]} {GIVEN[n // 3 % len(GIVEN)]}"


def pledge_rows(people: int) -> list[PledgeRow]:
    """A unit's pledges: everyone for Lao động tiên tiến, one in eight also for Chiến sĩ thi đua
    cơ sở; two workshops for Tập thể lao động xuất sắc; the union for Công đoàn cơ sở vững mạnh."""
    rows = []
    for n in range(people):
        ref = f"NV{n + 1:04d}"
        rows.append(PledgeRow(len(rows) + 1, "", person_name(n), "Lao động tiên tiến", ref))
        if n % 8 == 0:
            rows.append(PledgeRow(len(rows) + 1, "", person_name(n), "Chiến sĩ thi đua cơ sở", ref))
    for collective, title in (
        ("Phân xưởng Sản xuất số 1", "Tập thể lao động xuất sắc"),
        ("Phòng Kỹ thuật", "Tập thể lao động xuất sắc"),
        ("Ban Chấp hành Công đoàn cơ sở", "Công đoàn cơ sở vững mạnh"),
    ):
        rows.append(PledgeRow(len(rows) + 1, "", collective, title))
    return rows


async def _pledges(ctx: DemoContext) -> int:
    """The province's grassroots unions record their people's pledges under its 2021 campaign;
    a pledge already recorded is left as it is, so a second run writes none."""
    ctx.clock.on = PLEDGED_ON
    written = 0
    for unit, people in PLEDGING_UNITS:
        result = await register_pledges(
            ctx.campaigns,
            ctx.officer(unit),
            ctx.campaign_id("nb-2021"),
            pledge_rows(people),
            max_rows=ctx.runtime.settings.max_bulk_rows,
        )
        written += result.written
    return written


@dataclass(frozen=True, slots=True)
class DemoWork:
    unit: str
    name: str
    kind: str
    location: str
    value_vnd: int
    completion_due: date


WORKS = (  # seed 004: works and products greeting the union congresses, registered for plaques
    DemoWork(
        "ct-cs-gang-thep-tn",
        "Lò cao số 3 cải tạo, nâng công suất",
        "work",
        "Thái Nguyên",
        1_200_000_000_000,
        date(2017, 9, 30),
    ),
    DemoWork(
        "ct-cs-may-10",
        "Dây chuyền may sơ mi tự động",
        "work",
        "Gia Lâm, Hà Nội",
        85_000_000_000,
        date(2017, 8, 15),
    ),
    DemoWork(
        "ct-cs-viet-tien",
        "Bộ sưu tập sơ mi chào mừng Đại hội Công đoàn",
        "product",
        "Thành phố Hồ Chí Minh",
        4_500_000_000,
        date(2017, 7, 28),
    ),
    DemoWork(
        "ct-cs-thuoc-la-thang-long",
        "Nhà xưởng sản xuất mới tại Khu công nghiệp Thạch Thất",
        "work",
        "Thạch Thất, Hà Nội",
        1_900_000_000_000,
        date(2017, 12, 15),
    ),
)
WORKS_ON = date(2017, 4, 10)


async def _works(ctx: DemoContext) -> int:
    made = 0
    ctx.clock.on = WORKS_ON
    for w in WORKS:
        if await ctx.has(
            "SELECT 1 FROM campaign_works WHERE tenant_id = $1 AND name = $2",
            ctx.unit(w.unit),
            w.name,
        ):
            continue
        await ctx.campaigns.register_work(
            ctx.officer(w.unit),
            ctx.campaign_id("ct-2017"),
            name=w.name,
            kind=w.kind,
            location=w.location,
            value_vnd=w.value_vnd,
            completion_due=w.completion_due,
        )
        made += 1
    return made


@dataclass(frozen=True, slots=True)
class DemoInitiative:
    unit: str
    title: str
    authors: tuple[int, ...]  # people of the unit, by number (person_name)
    field: str
    benefit_vnd: int | None  # None: registered, not yet recognised
    applied_at: tuple[str, ...] = ()


INITIATIVES = (
    DemoInitiative(
        "nb-cs-xi-mang-td",
        "Cải tiến hệ thống làm mát lò nung clinker",
        (3, 17),
        "Cơ khí",
        1_350_000_000,
        ("Nhà máy Xi măng Tam Điệp",),
    ),
    DemoInitiative(
        "nb-cs-xi-mang-td",
        "Tận dụng nhiệt khí thải sấy nguyên liệu",
        (25,),
        "Năng lượng",
        860_000_000,
        ("Nhà máy Xi măng Tam Điệp",),
    ),
    DemoInitiative(
        "nb-cs-giay-nb",
        "Đồ gá tự động cho công đoạn may mũ giày",
        (8, 40, 41),
        "May, da giày",
        240_000_000,
        ("Xưởng may 1", "Xưởng may 3"),
    ),
    DemoInitiative(
        "nb-cs-giay-nb",
        "Sắp xếp lại chuyền gò để giảm thao tác thừa",
        (66,),
        "Tổ chức sản xuất",
        95_000_000,
        ("Xưởng gò",),
    ),
    DemoInitiative(
        "nb-cs-dam-nb",
        "Thu hồi khí CO2 từ công đoạn tổng hợp amoniac",
        (12, 13),
        "Hóa chất",
        3_100_000_000,
        ("Phân xưởng Tổng hợp",),
    ),
    DemoInitiative(
        "nb-cs-trang-an",
        "Ứng dụng bán vé điện tử tại bến thuyền",
        (5,),
        "Công nghệ thông tin",
        410_000_000,
        ("Bến thuyền Tràng An", "Bến Tam Cốc"),
    ),
    DemoInitiative("nb-cs-may-kim-son", "Cữ gấp nẹp áo sơ mi", (19, 57), "May", None),
    DemoInitiative(
        "nb-cs-dh-hoa-lu",
        "Phần mềm xếp thời khóa biểu",
        (2,),
        "Giáo dục",
        0,
        ("Trường Đại học Hoa Lư",),
    ),
)
INITIATIVES_ON = date(2021, 4, 12)
RECOGNISED_ON = date(2021, 6, 18)


async def _initiatives(ctx: DemoContext) -> int:
    """Initiatives of the province's grassroots unions, registered under its 2021 campaign and
    most of them recognised with their benefit: the campaign's computed indicator counts them."""
    made = 0
    for i in INITIATIVES:
        if await ctx.has(
            "SELECT 1 FROM campaign_initiatives WHERE tenant_id = $1 AND title = $2",
            ctx.unit(i.unit),
            i.title,
        ):
            continue
        actor = ctx.officer(i.unit)
        ctx.clock.on = INITIATIVES_ON
        initiative_id = await ctx.campaigns.register_initiative(
            actor,
            title=i.title,
            authors=[person_name(n) for n in i.authors],
            field=i.field,
            campaign_id=ctx.campaign_id("nb-2021"),
        )
        if i.benefit_vnd is not None:
            ctx.clock.on = RECOGNISED_ON
            await ctx.campaigns.recognise_initiative(
                actor,
                initiative_id,
                benefit_vnd=i.benefit_vnd,
                applied_at=list(i.applied_at),
                decision=f"Quyết định công nhận sáng kiến của {UNIT_NAMES[i.unit]}",
            )
        made += 1
    return made


STEPS: list[tuple[str, Step]] = [
    ("units", _tree),
    ("campaigns", _campaigns),
    ("registrations", _registrations),
    ("progress", _progress),
    ("reviews", _reviews),
    ("pledges", _pledges),
    ("works", _works),
    ("initiatives", _initiatives),
]

# ----------------------------------------------------------------------------------- summary


@dataclass(frozen=True, slots=True)
class CampaignLine:
    name: str
    unit_id: str
    unit_name: str
    kind: str
    status: str
    launched_on: date | None
    carries_out: str | None  # the name of the unit whose campaign this one carries out
    phases: tuple[tuple[str, date, date], ...]
    indicators: int
    registrations: Mapping[str, int]  # of the unit's direct children: on_time, late, not_yet, …


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the demo holds after loading, and what this run wrote (step name → count)."""

    written: Mapping[str, int]
    units: Mapping[str, int]  # level → count
    campaigns: tuple[CampaignLine, ...]
    registrations: Mapping[str, int]  # on_time, late, not_yet, withdrawn: over all campaigns
    progress_reports: int  # (unit, campaign, phase) with reported actuals
    progress_late: int
    reviews: int  # phases reviewed (sơ kết)
    pledges: int  # standing pledges in the demo's units
    works: int
    initiatives: tuple[int, int, int]  # registered, recognised, benefit (VND)
    province: str
    grassroots: str

    @property
    def unit_count(self) -> int:
        return sum(self.units.values())

    @property
    def fresh(self) -> bool:
        """Whether this run wrote anything."""
        return any(self.written.values())


def demo_context(runtime: Runtime, prefix: str = "") -> DemoContext:
    """The commands the steps run, on the runtime's database, with the demo's clock."""
    clock = DemoClock()
    return DemoContext(
        runtime=runtime,
        prefix=prefix,
        registry=RegistryCommands(runtime.pool, runtime.repository(unit_registry())),
        campaigns=CampaignCommands(runtime.pool, runtime.repository(campaign_registry()), clock),
        clock=clock,
    )


async def load_demo(runtime: Runtime, *, prefix: str = "") -> DemoSummary:
    """Load the demo into the runtime's database (``prefix`` before every unit id: tests load it
    beside other data) and say what it holds."""
    ctx = demo_context(runtime, prefix)
    written = {name: await step(ctx) for name, step in STEPS}
    return await summarize(ctx, written)


REGISTRATION_STATUSES = ("on_time", "late", "not_yet", "withdrawn")


async def summarize(ctx: DemoContext, written: Mapping[str, int]) -> DemoSummary:
    ids = [ctx.unit(u.id) for u in UNITS]
    async with ctx.reading() as conn:
        levels = await conn.fetch(
            "SELECT level, count(*) AS n FROM units WHERE tenant_id = ANY($1::text[]) GROUP BY level",
            ids,
        )
        campaigns = await conn.fetch(
            "SELECT c.campaign_id, c.name, c.tenant_id, u.name AS unit_name, c.kind, c.status, "
            "c.launched_on, p.name AS parent_unit, c.period_start, "
            "(SELECT count(*) FROM campaign_indicators i WHERE i.campaign_id = c.campaign_id) "
            "AS indicators FROM campaigns c JOIN units u ON u.tenant_id = c.tenant_id "
            "LEFT JOIN units p ON p.tenant_id = c.parent_unit "
            "WHERE c.campaign_id = ANY($1::uuid[]) ORDER BY c.period_start DESC, c.tenant_id",
            list(ctx.campaign_ids.values()),
        )
        lines = [await _line(conn, ctx, row) for row in campaigns]
        progress = await conn.fetchrow(
            "SELECT count(*) AS n, count(*) FILTER (WHERE late) AS late FROM ("
            "SELECT tenant_id, campaign_id, phase, bool_or(late) AS late FROM campaign_progress "
            "WHERE campaign_id = ANY($1::uuid[]) GROUP BY 1, 2, 3) p",
            list(ctx.campaign_ids.values()),
        )
        reviews = await conn.fetchval(
            "SELECT count(*) FROM campaign_phases WHERE campaign_id = ANY($1::uuid[]) "
            "AND review IS NOT NULL",
            list(ctx.campaign_ids.values()),
        )
        records = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM campaign_pledges WHERE tenant_id = ANY($1::text[]) "
            "AND status = 'registered') AS pledges, "
            "(SELECT count(*) FROM campaign_works WHERE tenant_id = ANY($1::text[])) AS works, "
            "(SELECT count(*) FROM campaign_initiatives WHERE tenant_id = ANY($1::text[])) "
            "AS initiatives, (SELECT count(recognised_on) FROM campaign_initiatives "
            "WHERE tenant_id = ANY($1::text[])) AS recognised, (SELECT coalesce(sum(benefit_vnd), "
            "0)::bigint FROM campaign_initiatives WHERE tenant_id = ANY($1::text[])) AS benefit",
            ids,
        )
    totals = {s: sum(line.registrations.get(s, 0) for line in lines) for s in REGISTRATION_STATUSES}
    return DemoSummary(
        written=dict(written),
        units={r["level"]: r["n"] for r in levels},
        campaigns=tuple(lines),
        registrations=totals,
        progress_reports=progress["n"],
        progress_late=progress["late"],
        reviews=reviews,
        pledges=records["pledges"],
        works=records["works"],
        initiatives=(records["initiatives"], records["recognised"], records["benefit"]),
        province=ctx.unit(PROVINCE),
        grassroots=ctx.unit(GRASSROOTS),
    )


async def _line(conn: asyncpg.Connection, ctx: DemoContext, row: asyncpg.Record) -> CampaignLine:
    phases = await conn.fetch(
        "SELECT name, starts, ends FROM campaign_phases WHERE campaign_id = $1 ORDER BY number",
        row["campaign_id"],
    )
    children = await conn.fetch(
        "SELECT r.status, r.late FROM units u LEFT JOIN campaign_registrations r "
        "ON r.campaign_id = $1 AND r.tenant_id = u.tenant_id "
        "WHERE u.parent_id = $2 AND u.status = 'active'",
        row["campaign_id"],
        row["tenant_id"],
    )
    registrations = dict.fromkeys(REGISTRATION_STATUSES, 0)
    for child in children:
        registrations[_registration_status(child)] += 1
    return CampaignLine(
        name=row["name"],
        unit_id=row["tenant_id"],
        unit_name=row["unit_name"],
        kind=row["kind"],
        status=row["status"],
        launched_on=row["launched_on"],
        carries_out=row["parent_unit"],
        phases=tuple((p["name"], p["starts"], p["ends"]) for p in phases),
        indicators=row["indicators"],
        registrations=registrations,
    )


def _registration_status(row: asyncpg.Record) -> str:
    if row["status"] is None:
        return "not_yet"
    if row["status"] == "withdrawn":
        return "withdrawn"
    return "late" if row["late"] else "on_time"


# ------------------------------------------------------------------------------------ showing

LEVEL_NAMES = {
    "national": "Tổng Liên đoàn",
    "provincial": "LĐLĐ tỉnh, thành phố",
    "sector": "Công đoàn ngành trung ương",
    "upper": "Công đoàn cấp trên trực tiếp cơ sở",
    "grassroots": "Công đoàn cơ sở",
}
EXAMPLE_QUERY = (
    "{ campaigns { name unitId status phases { name starts ends reportDue } "
    "indicators { code name target actual achievement } "
    "childRegistrations { unitName status registeredOn } } }"
)
GRASSROOTS_QUERY = (
    "{ me { unit { name } } myRegistrations { campaignId contents late status } "
    "campaigns { name unitId status } }"
)
TOKEN_TTL = timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class DemoToken:
    who: str
    tenant: str
    roles: tuple[str, ...]
    token: str


def demo_tokens(settings: Settings, summary: DemoSummary) -> list[DemoToken]:
    """Tokens for the province's officer and a grassroots unit's officer, as ``thidua token
    issue`` makes them (DomainError where the settings cannot issue tokens)."""
    service = TokenService.from_settings(settings)
    wanted = [
        ("Cán bộ thi đua LĐLĐ tỉnh Ninh Bình", summary.province, "can-bo.ldld-ninh-binh"),
        ("Cán bộ CĐCS Công ty CP Du lịch Tràng An", summary.grassroots, "can-bo.trang-an"),
    ]
    return [
        DemoToken(
            who,
            tenant,
            ("officer",),
            service.issue(tenant=tenant, roles=["officer"], subject=subject, ttl=TOKEN_TTL),
        )
        for who, tenant, subject in wanted
    ]


def show(console: Console, summary: DemoSummary, settings: Settings) -> None:
    """Print what the demo holds and how to try it."""
    _show_outcome(console, summary)
    _show_units(console, summary)
    _show_campaigns(console, summary)
    _show_tokens(console, summary, settings)


def _show_outcome(console: Console, summary: DemoSummary) -> None:
    if summary.fresh:
        wrote = ", ".join(f"{name} {count}" for name, count in summary.written.items())
        console.print(f"[bold green]Demo loaded.[/] Written now: {wrote}.")
    else:
        console.print("[bold]The demo was already loaded:[/] nothing new was written.")


def _show_units(console: Console, summary: DemoSummary) -> None:
    table = Table(title=f"Units ({summary.unit_count})", title_justify="left")
    table.add_column("level")
    table.add_column("cấp")
    table.add_column("units", justify="right")
    for level, name in LEVEL_NAMES.items():
        if summary.units.get(level):
            table.add_row(level, name, str(summary.units[level]))
    console.print(table)


def _show_campaigns(console: Console, summary: DemoSummary) -> None:
    console.print(f"\n[bold]Campaigns ({len(summary.campaigns)})[/]")
    for line in summary.campaigns:
        regs = line.registrations
        status = f"launched {line.launched_on:%d/%m/%Y}" if line.launched_on else line.status
        phases = "; ".join(f"{n} {s:%d/%m/%Y}–{e:%d/%m/%Y}" for n, s, e in line.phases)
        console.print(f"• [bold]{escape(line.name)}[/]")
        console.print(f"  {escape(line.unit_name)} ({line.unit_id}), {line.kind}, {status}")
        if line.carries_out:
            console.print(f"  carries out the campaign of {escape(line.carries_out)}")
        console.print(f"  phases: {phases}")
        console.print(
            f"  {line.indicators} indicators; units directly below: {regs['on_time']} registered "
            f"on time, {regs['late']} late, {regs['not_yet']} not yet"
        )
    r = summary.registrations
    console.print(
        f"\nRegistrations with the launching units: {r['on_time']} on time, {r['late']} late, "
        f"{r['not_yet']} not yet. "
        f"Progress reports: {summary.progress_reports} ({summary.progress_late} late). "
        f"Phases reviewed (sơ kết): {summary.reviews}."
    )
    registered, recognised, benefit = summary.initiatives
    console.print(
        f"Pledges (giao ước thi đua): {summary.pledges:,}. Works for plaques: {summary.works}. "
        f"Initiatives: {registered} registered, {recognised} recognised, "
        f"benefit {benefit:,} đồng."
    )


def _show_tokens(console: Console, summary: DemoSummary, settings: Settings) -> None:
    base = f"http://{settings.host}:{settings.port}/graphql"
    try:
        tokens = demo_tokens(settings, summary)
    except DomainError as exc:
        console.print(f"[yellow]No token issued[/] ({exc.code}: {escape(exc.message)})")
        return
    console.print()
    console.print(f"[bold]Try it[/]: run [cyan]thidua serve[/] (in another terminal), open {base}")
    console.print(
        "and set the header [cyan]Authorization: Bearer <token>[/] (GraphiQL: the Headers tab) "
        "with one of these tokens (valid 8 hours; `thidua demo` again gives new ones):"
    )
    for token in tokens:
        console.print(f"\n[bold]{escape(token.who)}[/] ({token.tenant}, {', '.join(token.roles)}):")
        console.print(token.token, soft_wrap=True, markup=False, highlight=False, emoji=False)
    console.print("\nThe province's officer could ask:")
    console.print(EXAMPLE_QUERY, soft_wrap=True, markup=False, highlight=False, emoji=False)
    console.print("A grassroots unit's officer could ask:")
    console.print(GRASSROOTS_QUERY, soft_wrap=True, markup=False, highlight=False, emoji=False)
    console.print("\nOr with curl:")
    curl = (
        f'curl -s {base} -H "Authorization: Bearer {tokens[0].token}" '
        "-H 'Content-Type: application/json' "
        f'-d \'{{"query": "{EXAMPLE_QUERY}"}}\''
    )
    console.print(curl, soft_wrap=True, markup=False, highlight=False, emoji=False)
