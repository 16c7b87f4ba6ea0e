"""The one guarded reader of uploaded tables (CSV, XLSX): every upload route uses it, pledges now,
awards dossiers and proposal files later.

A route first decides whether the caller may act at all, then receives the file
(:func:`receive_file`: litestar's multipart parser spools it to a temporary file above 1 MiB, the
body capped at the route's size), then reads it with :func:`read_table` in a worker thread
(:class:`Parsers`), never on the event loop. The reader streams: it never holds the whole file,
its unzipped parts or a dense grid of cells, and it stops at the first thing over a limit.
tests/perf/bench_uploads.py measures it: each hostile file of issue 12 costs the server a few MB.

Limits (:class:`TableLimits`), each refused with a code, nothing read past it:

- rows: nothing beyond row ``max_rows + 1`` (a header and ``max_rows`` rows; CSV: records,
  blank ones included; XLSX: the sheet's row numbers, empty formatted rows included, which must
  ascend), else ``FILE_TOO_LARGE`` (413), at the first row past it;
- columns: a value beyond column ``max_columns`` (CSV field or XLSX cell) is ``FILE_TOO_LARGE``;
  empty cells there are ignored;
- CSV: UTF-8 (a BOM is allowed), comma or semicolon; a physical line of more than
  ``max_line_chars`` characters, or a field over ``csv.field_size_limit()``, is ``FILE_INVALID``
  (422);
- XLSX: only the first sheet is read, with its own streaming XML parser (the sheet's declared
  ``<dimension>`` is not trusted, nor allocated: a cell at XFD1048576 costs nothing but its
  refusal). Refused as ``FILE_TOO_LARGE``: more than ``max_unzipped_bytes`` unzipped in all, a
  part unzipping more than ``max_ratio`` times its zipped size (a zip bomb), a central directory
  of more than ``max_zip_entries`` entries, more than ``max_shared_strings`` shared strings or
  ``max_shared_bytes`` of their text, a sheet of more than ``max_elements`` XML elements (the
  reading time: empty, formatted cells cost no memory but are parsed all the same); as
  ``FILE_INVALID``: a cell over ``max_cell_chars`` (Excel's own limit), more than 1 MiB of XML
  without a ``>`` (a tag expat would hold whole), any DTD or entity declaration, anything that is
  not a readable workbook. The slowest sheet within the default limits takes a worker thread a
  few seconds.

Cells come back as text: an XLSX number is written as typed (``1024``, not ``1024.0``), a boolean
as TRUE/FALSE, a date as its serial number (the reader does not read styles).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import math
import posixpath
import re
import struct
import zipfile
import zlib
from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import IO, Any, ClassVar, TypeVar
from xml.parsers import expat

import anyio
import anyio.to_thread
from litestar import Request
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException
from litestar.response import Response

from shared.errors import DomainError
from shared.text import grouped, search_key

Row = tuple[int, list[str]]  # a row's number as its sender sees it (the first is 1), its cells
T = TypeVar("T")

MULTIPART_SLACK = 64 * 1024  # the form's own bytes around the file, within the body limit
_CHUNK = 64 * 1024
_XLSX_MAGIC = b"PK\x03\x04"


class FileInvalid(DomainError):
    code = "FILE_INVALID"
    message_vi = "Không đọc được tệp; chưa ghi gì."
    http_status: ClassVar[int] = 422


class FileTooLarge(DomainError):
    code = "FILE_TOO_LARGE"
    message_vi = "Tệp quá lớn; chưa ghi gì."
    http_status: ClassVar[int] = 413


@dataclass(frozen=True, slots=True)
class TableLimits:
    max_rows: int
    max_columns: int = 64
    max_line_chars: int = 65_536
    max_cell_chars: int = 32_767
    max_unzipped_bytes: int = 64 * 1024 * 1024
    max_ratio: int = 50  # Excel's sheets zip 10 to 15 times, however repetitive
    max_zip_entries: int = 1_000
    max_shared_bytes: int = 32 * 1024 * 1024
    shared_strings_per_row: int = 8
    elements_per_row: int = 24  # a row of 10 values: 21 (row, c and v each)
    # Characters of cell values handed out by an XLSX sheet, in all: a shared string may be
    # referenced from every cell, so what a file of a few hundred KB hands out is otherwise
    # unbounded. About twice an honest sheet of 100,000 pledges.
    max_total_chars: int = 12 * 1024 * 1024

    @property
    def max_shared_strings(self) -> int:
        return (self.max_rows + 1) * self.shared_strings_per_row

    @property
    def max_elements(self) -> int:
        """XML elements in a sheet: what its reading time grows with."""
        return (self.max_rows + 1) * self.elements_per_row


# --- receiving -----------------------------------------------------------------------------


# An upload route's refusals, by code, as HTTP statuses (any other domain error: its own, or 422).
_STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "BULK_TOO_LARGE": 413,
    "SERVICE_BUSY": 503,  # a read a route makes through GraphQL: try again
}


def error_response(exc: DomainError) -> Response[dict[str, Any]]:
    """A REST route's refusal (an upload's, a download's): the error's code and message, with
    the status its code has, else its own, else 422."""
    status = _STATUS.get(exc.code, getattr(exc, "http_status", 422))
    return refusal(exc.code, exc.message, status, exc.shown())


def refusal(
    code: str, message: str, status: int, shown: dict[str, Any] | None = None
) -> Response[dict[str, Any]]:
    """A REST refusal: its code and message with its HTTP status; a 401 says how to
    authenticate (RFC 9110)."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(
        {"code": code, "message": message, **(shown or {})}, status_code=status, headers=headers
    )


async def receive_file(request: Request[Any, Any, Any], max_bytes: int, name: str = "file"):
    """The uploaded file of the form field ``name``, spooled by litestar (memory up to 1 MiB,
    then a temporary file; litestar closes it after the response). The route's body limit must
    be ``max_bytes`` plus :data:`MULTIPART_SLACK`; a form's text fields are held in memory, so
    the body limit is theirs too. Anything but multipart is refused before its body is read."""
    invalid = FileInvalid(f"Gửi tệp trong trường '{name}' của multipart/form-data.")
    if request.content_type[0] != "multipart/form-data":
        raise invalid
    try:
        form = await request.form()
    except ClientException as exc:  # a body over the limit, or not a form
        if exc.status_code == 413 or "Too Large" in str(exc.detail):
            # The body over the route's limit, or the form over the parser's own (too many
            # parts, a file name too long): which, the parser does not say.
            raise FileTooLarge(
                f"Tệp hay biểu mẫu quá lớn: tệp tối đa {grouped(max_bytes)} byte, biểu mẫu gồm "
                f"trường '{name}' và vài trường ngắn, tên tệp ngắn.",
                limit=max_bytes,
            ) from None
        raise invalid from None
    upload = form.get(name)
    if not isinstance(upload, UploadFile):
        raise invalid
    if await anyio.to_thread.run_sync(_size, upload.file) > max_bytes:
        raise FileTooLarge(f"Tệp tối đa {grouped(max_bytes)} byte.", limit=max_bytes)
    return upload


def _size(file: IO[bytes]) -> int:
    file.seek(0, io.SEEK_END)
    size = file.tell()
    file.seek(0)
    return size


class Parsers:
    """At most ``concurrency`` files parsed at once in worker threads: memory for reading
    uploads is that many times one file's, however many arrive together. One per process, for
    all of its upload routes (``Runtime.parsers``): a route that made its own would add its cap
    to the others'."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._limiter is None:  # made in the running loop that uses it
            self._limiter = anyio.CapacityLimiter(self.concurrency)
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=self._limiter)


# --- documents -------------------------------------------------------------------------------

# What a dossier's document may be, told by its first bytes (never by the name or the type the
# client declares): PDF, PNG, JPEG, an Office Open XML or OpenDocument file (a zip), an old
# Word or Excel file (OLE).
_DOCUMENT_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"PK\x03\x04", "application/zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
)


def _office_zip(content: bytes) -> bool:
    """A zip that is an Office Open XML ([Content_Types].xml) or OpenDocument (mimetype) file,
    by its directory alone (nothing is unzipped)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            names = book.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False
    return len(names) <= 10_000 and ("[Content_Types].xml" in names or "mimetype" in names)


@dataclass(frozen=True, slots=True)
class Document:
    sha256: str
    size: int
    media_type: str
    content: bytes


def read_document(file: IO[bytes], max_bytes: int) -> Document:
    """A dossier's document, whole (at most ``max_bytes``, which the route has already
    checked), with its SHA-256 and its type told by its first bytes; any other kind of file is
    FILE_INVALID. Call it in a worker thread (:class:`Parsers`)."""
    file.seek(0)
    content = file.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise FileTooLarge(f"Tệp tối đa {grouped(max_bytes)} byte.", limit=max_bytes)
    if not content:
        raise FileInvalid("Tệp trống.")
    media_type = next((t for magic, t in _DOCUMENT_MAGIC if content.startswith(magic)), None)
    if media_type == "application/zip" and not _office_zip(content):
        media_type = None
    if media_type is None:
        raise FileInvalid("Tài liệu phải là PDF, ảnh PNG/JPEG, hay tệp Word, Excel.")
    return Document(hashlib.sha256(content).hexdigest(), len(content), media_type, content)


# --- reading -------------------------------------------------------------------------------


def read_table(file: IO[bytes], limits: TableLimits) -> Iterator[Row]:
    """The rows holding a value of a CSV or an XLSX file (told apart by their first bytes), in
    order; see the module's docstring for the limits. Call it in a worker thread."""
    head = file.read(len(_XLSX_MAGIC))
    file.seek(0)
    if head == _XLSX_MAGIC:
        return _xlsx_rows(file, limits)
    return _csv_rows(file, limits)


def read_records(
    file: IO[bytes],
    limits: TableLimits,
    headers: Mapping[str, str],
    required: Mapping[str, str],
) -> Iterator[tuple[int, dict[str, str]]]:
    """A table whose first row holding a value names its columns: each later row as its number
    in the file and ``{column: text}`` for the columns known. ``headers`` maps a header, as a
    user may write it, compared without diacritics or case (``search_key``), to its column;
    ``required`` names the columns that must be there, each with the words a user knows it by
    (the refusal names them). A row with values in unknown columns only is left out. Call it in
    a worker thread, as :func:`read_table`."""
    table = read_table(file, limits)
    header = next(table, None)
    if header is None:
        raise FileInvalid("Tệp trống.")
    columns: dict[str, int] = {}
    for index, cell in enumerate(header[1]):
        key = headers.get(search_key(cell))
        if key is not None and key not in columns:
            columns[key] = index
    missing = [key for key in required if key not in columns]
    if missing:
        words = ", ".join(required[key] for key in missing)
        raise FileInvalid(f"Dòng đầu phải có cột {', '.join(missing)} ({words}).", missing=missing)
    for number, cells in table:
        values = {key: cells[i] if i < len(cells) else "" for key, i in columns.items()}
        if any(values.values()):
            yield number, values


def _over_columns(cells: list[str], limits: TableLimits, row: int) -> None:
    for index in range(limits.max_columns, len(cells)):
        if cells[index]:
            raise FileTooLarge(
                f"Dòng {row} có giá trị ở cột {index + 1}; tối đa {grouped(limits.max_columns)} cột.",
                row=row,
                limit=limits.max_columns,
            )


def _too_many_rows(limits: TableLimits) -> FileTooLarge:
    return FileTooLarge(
        f"Tối đa {grouped(limits.max_rows)} dòng sau dòng tiêu đề.", limit=limits.max_rows
    )


# --- CSV -------------------------------------------------------------------------------------


def _csv_rows(file: IO[bytes], limits: TableLimits) -> Iterator[Row]:
    text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
    try:
        lines = _bounded_lines(text, limits.max_line_chars)
        first = next(lines, "")
        delimiter = ";" if first.count(";") > first.count(",") else ","
        reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
        for number, cells in enumerate(reader, start=1):
            if number > limits.max_rows + 1:
                raise _too_many_rows(limits)
            _over_columns(cells, limits, number)
            if any(cells):
                yield number, cells[: limits.max_columns]
    except UnicodeDecodeError:
        raise FileInvalid("Tệp CSV phải mã hóa UTF-8.") from None
    except csv.Error as exc:
        raise FileInvalid(f"CSV: {exc}.") from None
    finally:
        # The upload's file is closed by its owner, not by the wrapper; a reader left unfinished
        # may be collected after its owner closed the file, and then there is nothing to detach.
        with contextlib.suppress(ValueError):
            text.detach()


def _bounded_lines(text: io.TextIOWrapper, max_chars: int) -> Iterator[str]:
    """Physical lines, none longer than ``max_chars``: a file without line breaks is refused
    at that length instead of being read whole as one line."""
    while line := text.readline(max_chars + 1):
        if len(line) > max_chars:
            raise FileInvalid(f"Một dòng dài quá {grouped(max_chars)} ký tự.", limit=max_chars)
        yield line


# --- XLSX ------------------------------------------------------------------------------------

_CELL_REF = re.compile(r"([A-Za-z]{1,3})([0-9]{1,7})")
_MAX_ROW, _MAX_COL = 1_048_576, 16_384  # Excel's own grid
_SMALL_PART = 4 * 1024 * 1024  # workbook, relationships: small by nature
_RATIO_FLOOR = 1024 * 1024  # a tiny part may unzip far above the ratio: it stays tiny
_MAX_TAG = 1024 * 1024  # a real tag is a few hundred bytes at most
_MAX_DEPTH = 64  # a worksheet nests six deep; expat keeps every open element


def _xlsx_rows(file: IO[bytes], limits: TableLimits) -> Iterator[Row]:
    _check_directory(file, limits)
    try:
        book = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise FileInvalid(f"XLSX: {type(exc).__name__}.") from None
    budget = _Budget(limits)
    try:
        sheet, strings_part = _first_sheet(book, budget)
        strings = _shared_strings(book, strings_part, budget, limits)
        yield from _Sheet(limits, strings).rows(book, sheet, budget)
    except (
        zipfile.BadZipFile,
        zlib.error,
        RuntimeError,  # an encrypted member
        NotImplementedError,  # a compression zipfile cannot read
        EOFError,
        OSError,
        KeyError,
    ) as exc:
        raise FileInvalid(f"XLSX: {type(exc).__name__}.") from None
    finally:
        book.close()


def _check_directory(file: IO[bytes], limits: TableLimits) -> None:
    """Read the end-of-directory record before zipfile builds an object per entry: a small zip
    may list hundreds of thousands of them."""
    size = _size(file)
    tail_len = min(size, 22 + 65_535)
    file.seek(size - tail_len)
    tail = file.read(tail_len)
    file.seek(0)
    end = len(tail) - 22 if tail[-22:-18] == b"PK\x05\x06" else tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) < end + 22:
        raise FileInvalid("XLSX: không phải tệp zip.")
    entries, directory_size = struct.unpack("<HI", tail[end + 10 : end + 16])
    if entries > limits.max_zip_entries or directory_size > limits.max_zip_entries * 1024:
        raise FileTooLarge(f"XLSX có quá nhiều phần (tối đa {grouped(limits.max_zip_entries)}).")


class _Budget:
    """Unzipped bytes: in all, and per part against its zipped size."""

    def __init__(self, limits: TableLimits) -> None:
        self.limits = limits
        self.total = 0

    def chunks(self, book: zipfile.ZipFile, name: str, cap: int | None = None) -> Iterator[bytes]:
        info = book.getinfo(name)
        allowed = max(_RATIO_FLOOR, info.compress_size * self.limits.max_ratio)
        if cap is not None:
            allowed = min(allowed, cap)
        read = 0
        with book.open(info) as part:
            while chunk := part.read(_CHUNK):
                read += len(chunk)
                self.total += len(chunk)
                if read > allowed:
                    raise FileTooLarge(f"XLSX: phần {name[:100]} giải nén quá lớn.", part=name)
                if self.total > self.limits.max_unzipped_bytes:
                    raise FileTooLarge(
                        f"XLSX: giải nén quá {grouped(self.limits.max_unzipped_bytes)} byte.",
                        limit=self.limits.max_unzipped_bytes,
                    )
                yield chunk


_LOCAL_NAMES: dict[str, str] = {}


def _local(name: str) -> str:
    """``c`` of ``{uri}c``: called for every element, so remembered (a few names at most)."""
    local = _LOCAL_NAMES.get(name)
    if local is None:
        local = name.rpartition("}")[2]
        if len(_LOCAL_NAMES) < 1_000:
            _LOCAL_NAMES[name] = local
    return local


def _parser(start=None, end=None, text=None) -> expat.XMLParserType:
    """An expat parser with namespaces split off (``uri}local``) that refuses any DTD: a
    workbook has none, and entity declarations are how an XML bomb is built."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    depth = 0

    def opened(tag: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > _MAX_DEPTH:
            raise FileInvalid(f"XLSX: XML lồng sâu quá {_MAX_DEPTH} tầng.")
        if start is not None:
            start(tag, attrs)

    def closed(tag: str) -> None:
        nonlocal depth
        depth -= 1
        if end is not None:
            end(tag)

    def no_dtd(*_: Any) -> None:
        raise FileInvalid("XLSX: XML có khai báo DTD.")

    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    parser.StartElementHandler = opened
    parser.EndElementHandler = closed
    if text is not None:
        parser.CharacterDataHandler = text
    return parser


def _parse(parser: expat.XMLParserType, chunks: Iterator[bytes]) -> Iterator[None]:
    """Feed ``chunks`` to ``parser``, pausing after each so its caller can drain what the
    handlers collected. Expat holds a whole tag in memory until its ``>``, and rescans it as it
    grows. A tag holds no ``<`` (an attribute's value may hold ``>``), so a stretch of more than
    ``_MAX_TAG`` bytes without either is refused before it is fed. Comments, CDATA and
    processing instructions, which may hold both, have no place in a workbook's parts: any
    ``<!`` or ``<?`` but the XML declaration at the start is refused."""
    since_open = since_close = offset = 0
    tail = b""
    try:
        for chunk in chunks:
            _refuse_markup(tail + chunk, offset - len(tail))
            since_open = _since(chunk, b"<", since_open)
            since_close = _since(chunk, b">", since_close)
            if since_open > _MAX_TAG or since_close > _MAX_TAG:
                raise FileInvalid(f"XLSX: một thẻ XML dài quá {_MAX_TAG} byte.")
            offset, tail = offset + len(chunk), chunk[-1:]
            parser.Parse(chunk, False)
            yield
        parser.Parse(b"", True)
        yield
    except expat.ExpatError as exc:
        raise FileInvalid(f"XLSX: XML hỏng ({exc}).") from None


def _since(chunk: bytes, mark: bytes, before: int) -> int:
    """Bytes since the last ``mark``, after ``chunk``."""
    at = chunk.rfind(mark)
    return before + len(chunk) if at < 0 else len(chunk) - at - 1


def _refuse_markup(data: bytes, offset: int) -> None:
    for mark in (b"<!", b"<?"):
        at = data.find(mark)
        while at >= 0:
            if mark == b"<!" or offset + at > 3:  # 3: a byte-order mark may come first
                raise FileInvalid("XLSX: XML có chú thích, CDATA hay chỉ thị xử lý.")
            at = data.find(mark, at + 1)


def _relationships(book: zipfile.ZipFile, part: str, budget: _Budget) -> list[dict[str, str]]:
    folder, base = posixpath.split(part)
    name = posixpath.join(folder, "_rels", base + ".rels")
    found: list[dict[str, str]] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if _local(tag) == "Relationship" and len(found) < budget.limits.max_zip_entries:
            target = attrs.get("Target", "")
            if not target.startswith("/"):
                target = posixpath.normpath(posixpath.join(folder, target))
            found.append({"type": attrs.get("Type", ""), "id": attrs.get("Id", ""), "to": target})

    for _ in _parse(_parser(start=start), budget.chunks(book, name, _SMALL_PART)):
        pass
    return found


def _target(rel: dict[str, str]) -> str:
    return rel["to"].lstrip("/")


def _first_sheet(book: zipfile.ZipFile, budget: _Budget) -> tuple[str, str | None]:
    """The first sheet's part, and the shared strings' part if there is one."""
    rels = _relationships(book, "", budget)
    office = [r for r in rels if r["type"].endswith("/officeDocument")]
    if not office:
        raise FileInvalid("XLSX: không thấy bảng tính trong tệp.")
    workbook = _target(office[0])
    first: list[str] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if _local(tag) == "sheet" and not first:
            first.extend(v for k, v in attrs.items() if "}" in k and _local(k) == "id")

    for _ in _parse(_parser(start=start), budget.chunks(book, workbook, _SMALL_PART)):
        pass
    by_id = {r["id"]: r for r in _relationships(book, workbook, budget)}
    if not first or first[0] not in by_id:
        raise FileInvalid("XLSX: không thấy trang tính đầu tiên.")
    strings = [r for r in by_id.values() if r["type"].endswith("/sharedStrings")]
    return _target(by_id[first[0]]), _target(strings[0]) if strings else None


class _Text:
    """Character data of the elements being collected, capped per cell."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.parts: list[str] = []
        self.length = 0
        self.on = False

    def add(self, data: str) -> None:
        if self.on:
            self.length += len(data)
            if self.length > self.max_chars:
                raise FileInvalid(f"XLSX: một ô dài quá {self.max_chars} ký tự.")
            self.parts.append(data)

    def take(self) -> str:
        if not self.parts:
            return ""
        value = "".join(self.parts)
        self.parts.clear()
        self.length = 0
        return value


class _Strings:
    """The shared strings as UTF-8 in one buffer with their end offsets: about the size of their
    text, not a Python object each."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.ends = array("Q")

    def add(self, value: str) -> None:
        self.data += value.encode()
        self.ends.append(len(self.data))

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, index: int) -> str:
        start = self.ends[index - 1] if index else 0
        return self.data[start : self.ends[index]].decode()


def _shared_strings(
    book: zipfile.ZipFile, part: str | None, budget: _Budget, limits: TableLimits
) -> _Strings:
    strings = _Strings()
    if part is None:
        return strings
    text = _Text(limits.max_cell_chars)
    phonetic = [0]

    def start(tag: str, _attrs: dict[str, str]) -> None:
        name = _local(tag)
        if name == "rPh":
            phonetic[0] += 1
        elif name == "t" and not phonetic[0]:
            text.on = True

    def end(tag: str) -> None:
        name = _local(tag)
        if name == "t":
            text.on = False
        elif name == "rPh":
            phonetic[0] -= 1
        elif name == "si":
            strings.add(text.take())
            if len(strings) > limits.max_shared_strings:
                raise FileTooLarge(
                    f"XLSX: quá {grouped(limits.max_shared_strings)} chuỗi dùng chung."
                )
            if len(strings.data) > limits.max_shared_bytes:
                raise FileTooLarge(
                    f"XLSX: chuỗi dùng chung quá {grouped(limits.max_shared_bytes)} byte."
                )

    for _ in _parse(_parser(start, end, text.add), budget.chunks(book, part)):
        pass
    return strings


def _cell_ref(ref: str) -> tuple[int, int]:
    """(row from 1, column from 0) of a reference such as ``AB12``."""
    match = _CELL_REF.fullmatch(ref)
    if match is None:
        raise FileInvalid(f"XLSX: ô '{ref[:20]}' không hợp lệ.")
    column = 0
    for letter in match.group(1).upper():
        column = column * 26 + ord(letter) - 64
    row = int(match.group(2))
    if not (1 <= row <= _MAX_ROW and 1 <= column <= _MAX_COL):
        raise FileInvalid(f"XLSX: ô '{ref}' nằm ngoài trang tính.")
    return row, column - 1


def _number(text: str) -> str:
    try:
        value = float(text)
    except ValueError:
        return text
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # a spreadsheet's 1024.0 is the number typed as 1024
    return text


class _Sheet:
    """A worksheet's rows, streamed: one row's cells held at a time. A cell's reference is
    parsed only when it holds a value (or a cell after it has none): a sheet of formatted empty
    cells costs little more than its XML."""

    def __init__(self, limits: TableLimits, strings: _Strings) -> None:
        self.limits = limits
        self.strings = strings
        self.text = _Text(limits.max_cell_chars)
        self.ready: list[Row] = []
        self.row = 0  # the current row's number
        self.numbered = False  # whether it was given
        self.column = -1  # the column of the last cell whose reference was parsed
        self.ref: str | None = None  # the current cell's reference, not parsed yet
        self.kind = "n"
        self.cells: dict[int, str] = {}
        self.last = 0  # the last row's number
        self.inline = 0
        self.phonetic = 0
        self.elements = 0
        self.chars = 0  # of values handed out

    def rows(self, book: zipfile.ZipFile, part: str, budget: _Budget) -> Iterator[Row]:
        parser = _parser(self.start, self.end, self.text.add)
        for _ in _parse(parser, budget.chunks(book, part)):
            yield from self.ready
            self.ready.clear()

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > self.limits.max_elements:
            raise FileTooLarge(
                f"XLSX: trang tính quá {grouped(self.limits.max_elements)} phần tử XML."
            )
        name = _local(tag)
        if name == "c":
            ref = attrs.get("r")
            if ref is None:
                self._settle()
                self.column += 1
            self.ref = ref
            self.kind = attrs.get("t", "n")
        elif name == "v" or (name == "t" and self.inline and not self.phonetic):
            self.text.on = True
        elif name == "row":
            ref = attrs.get("r")
            self.numbered = False
            if ref and ref.isdigit():
                self._next_row(int(ref))
            else:  # numbered by its first cell that says, else the one after the last
                self.row = self.last + 1
            self.column, self.ref = -1, None
            self.cells = {}
        elif name == "is":
            self.inline += 1
        elif name == "rPh":
            self.phonetic += 1

    def end(self, tag: str) -> None:
        name = _local(tag)
        if name == "c":
            raw = self.text.take()
            if raw:
                self._cell(raw)
        elif name in ("v", "t"):
            self.text.on = False
        elif name == "row":
            if not self.numbered:
                self._next_row(self.row)
            if self.cells:
                width = max(self.cells) + 1
                self.ready.append((self.row, [self.cells.get(i, "") for i in range(width)]))
        elif name == "is":
            self.inline -= 1
        elif name == "rPh":
            self.phonetic -= 1

    def _settle(self) -> None:
        """The current cell's reference parsed into its column (and its row checked)."""
        if self.ref is None:
            return
        row, self.column = _cell_ref(self.ref)
        if not self.numbered:
            self._next_row(row)
        elif row != self.row:
            raise FileInvalid(f"XLSX: ô {self.ref[:20]} không thuộc dòng {self.row}.")
        self.ref = None

    def _cell(self, raw: str) -> None:
        value = self._value(raw)
        if not value:
            return
        self._settle()
        if not self.numbered:
            self._next_row(self.row)
        if self.column >= self.limits.max_columns:
            raise FileTooLarge(
                f"Dòng {self.row} có giá trị ở cột {self.column + 1}; "
                f"tối đa {grouped(self.limits.max_columns)} cột.",
                row=self.row,
                limit=self.limits.max_columns,
            )
        self.chars += len(value)
        if self.chars > self.limits.max_total_chars:
            raise FileTooLarge(
                f"XLSX: các ô chứa quá {grouped(self.limits.max_total_chars)} ký tự."
            )
        self.cells[self.column] = value

    def _next_row(self, row: int) -> None:
        """Rows ascend (or a few bytes could repeat the same rows without end) and stay within
        the limit, whether or not they hold a value: a formatted row counts in the used range."""
        if row <= self.last:
            raise FileInvalid(f"XLSX: dòng {row} đứng sau dòng {self.last}.")
        if row > self.limits.max_rows + 1:
            raise _too_many_rows(self.limits)
        self.row = self.last = row
        self.numbered = True

    def _value(self, raw: str) -> str:
        if self.kind == "s":
            try:
                index = int(raw)
                if index < 0:  # Python would count it from the end
                    raise IndexError(index)
                return self.strings[index]
            except (ValueError, IndexError):
                raise FileInvalid(f"XLSX: chuỗi dùng chung '{raw[:20]}' không có.") from None
        if self.kind == "b":
            return {"1": "TRUE", "0": "FALSE"}.get(raw.strip(), raw)
        if self.kind == "n":
            return _number(raw.strip())
        return raw  # inlineStr, str (a formula's text), e (an error such as #N/A), d (ISO date)
