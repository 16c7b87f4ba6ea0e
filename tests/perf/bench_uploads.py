"""Memory and time of one hostile upload, beside a normal one (issue 12, finding 1).

    .venv/bin/python tests/perf/bench_uploads.py [--full]

Setup: a throwaway data directory with the embedded PostgreSQL, ``thidua demo`` loaded into it,
and for each case a fresh ``thidua serve`` (a subprocess, real HTTP through uvicorn), so no case
inherits another's memory. The grassroots officer of the demo (``nb-cs-trang-an``, a token from
``thidua token issue``) sends, after one small untimed upload to warm the server up:

- (a) a CSV of 20 MiB of newlines (just under the 20 MiB upload limit: it reaches the reader);
- (b) the sparse XLSX: cells at A1 and XFD1048576, about 1 KB; (b') the same to AZ200000;
- (c) a zip bomb: a valid workbook whose sheet unzips to 1 GiB (XML comments of blank space
  between two rows, about 1 MB zipped): refused at 50 times its zipped size;
- (e) a sheet of 100,001 rows of 40 formatted, empty cells (87 MB of XML, 8 MB zipped): no
  memory to speak of, only parsing time, refused at the sheet's element limit;
- (f) 20 MiB sent as a text field rather than a file (litestar holds form fields in memory);
- (d) the baseline: a valid CSV of 10,000 new pledges, all written;
- (g) with ``--full`` only: the largest good file, an XLSX of 100,000 new pledges.

For each: the answer, its time, and the server process's resident memory growth during the
request (peak minus before: Linux's VmHWM, reset through /proc/<pid>/clear_refs before each
request, else RSS sampled every 5 ms), and the longest answer of ``GET /health`` sent every
20 ms during it: the event loop stays free while the file is read. Target: growth under 100 MB
for every hostile case. Run by hand only, never in CI.

Figures of 2026-11-30 (2 cores, quiet), growth / time / longest /health: (a) 1.9 MB / 0.10 s /
23 ms; (b) 0.1 MB / 0.04 s; (b') 0.1 MB / 0.03 s; (c) 2.7 MB / 0.48 s / 15 ms; (e) 1.9 MB /
2.3 s / 8 ms; (f) 41 MB / 0.08 s (litestar keeps a text form field in memory); (d) 20.5 MB /
0.78 s / 14 ms; (g) 78.6 MB / 9.2 s / 56 ms (writing 100,000 pledges; row checks and event
building run in a worker thread: before, 662 ms on the loop).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import xlsxwriter

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.gateway.test_serve import cli_env, free_port, wait_ready
from tests.shared import xlsx_files

THIDUA = Path(sys.executable).with_name("thidua")
UNIT = "nb-cs-trang-an"
MiB = 1024 * 1024


def baseline_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Họ tên", "Mã", "Đối tượng", "Danh hiệu"])
    run = uuid.uuid4().hex[:6]
    for n in range(rows):
        writer.writerow(
            [f"Nguyễn Văn {run} {n}", f"{run}-{n:06d}", "Cá nhân", "Lao động tiên tiến"]
        )
    return out.getvalue().encode()


def baseline_xlsx(rows: int) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["Họ tên", "Mã", "Đối tượng", "Danh hiệu"])
    run = uuid.uuid4().hex[:6]
    for n in range(1, rows + 1):
        sheet.write_row(
            n, 0, [f"Trần Thị {run} {n}", f"{run}-{n}", "Cá nhân", "Lao động tiên tiến"]
        )
    book.close()
    return out.getvalue()


CASES = {
    "(a) 20 MiB of newlines, CSV": lambda: b"\n" * (20 * MiB),
    "(b) sparse XLSX A1 + XFD1048576": xlsx_files.sparse,
    "(b') sparse XLSX A1 + AZ200000": lambda: xlsx_files.sparse("AZ200000"),
    "(c) zip bomb, sheet of 1 GiB": lambda: xlsx_files.zip_bomb(1024 * MiB),
    "(e) 100,001 rows x 40 blank cells": lambda: xlsx_files.formatted_blanks(100_001, 40),
    "(f) 20 MiB in a text field": lambda: b"x" * (20 * MiB),
    "(d) baseline: 10,000 good rows, CSV": lambda: baseline_csv(10_000),
}
FULL = {"(g) 100,000 good rows, XLSX": lambda: baseline_xlsx(100_000)}


def status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


class Memory:
    """The process's peak resident memory over a stretch of time."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.exact = True
        self.sampled = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Memory:
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
        except OSError:
            self.exact = False
        self.before = status(self.pid, "VmRSS")
        self.sampled = self.before
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.sampled = max(self.sampled, status(self.pid, "VmRSS"))

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        peak = status(self.pid, "VmHWM") if self.exact else self.sampled
        self.growth = max(peak, self.sampled) - self.before


class Heartbeat:
    """GET /health every 20 ms: the longest answer."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def _beat(self) -> None:
        with httpx.Client(base_url=self.base, timeout=120) as client:
            while not self._stop.wait(0.02):
                started = time.perf_counter()
                client.get("/health")
                self.longest = max(self.longest, time.perf_counter() - started)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Outcome:
    answer: str
    seconds: float
    growth: int
    health: float
    exact: bool


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = cli_env(data_dir, THIDUA_PORT=str(self.port), THIDUA_LOG_LEVEL="WARNING")
        self.proc = subprocess.Popen(
            [THIDUA, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        wait_ready(self.base, self.proc)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)


def upload(base: str, token: str, campaign: str, name: str, content: bytes) -> httpx.Response:
    """The file in the form's field ``file``; with no ``name``, its bytes as a text field."""
    return httpx.post(
        f"{base}/campaigns/{campaign}/pledges",
        files={"file": (name or None, content)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=600,
    )


def measure(server: Server, token: str, campaign: str, name: str, content: bytes) -> Outcome:
    with Memory(server.proc.pid) as memory, Heartbeat(server.base) as heartbeat:
        started = time.perf_counter()
        response = upload(server.base, token, campaign, name, content)
        seconds = time.perf_counter() - started
    body = response.json()
    answer = body.get("code") or f"written {body['written']}, refused {body['errorCount']}"
    for error in body.get("errors", [])[:3]:
        print(f"  row {error['row']}: {error['code']} {error['message']}")
    return Outcome(
        f"{response.status_code} {answer}", seconds, memory.growth, heartbeat.longest, memory.exact
    )


def pledge_campaign(base: str, token: str) -> str:
    """A launched campaign of a unit above the demo's grassroots union: the first that takes a
    one-row file."""
    query = "{ campaigns { id unitId status } }"
    answer = httpx.post(
        f"{base}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
    ).json()
    for campaign in answer["data"]["campaigns"]:
        if campaign["status"] == "launched" and campaign["unitId"] != UNIT:
            if upload(base, token, campaign["id"], "a.csv", baseline_csv(1)).status_code == 200:
                return campaign["id"]
    raise SystemExit("no launched campaign above the demo's grassroots union")


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="thidua-bench-uploads-")) / ".thidua"
    env = cli_env(data_dir)
    try:
        print("loading the demo …", flush=True)
        subprocess.run([THIDUA, "demo"], env=env, check=True, capture_output=True)
        token = subprocess.run(
            [THIDUA, "token", "issue", "--tenant", UNIT, "--roles", "officer", "-s", "bench"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        outcomes = {}
        cases = CASES | (FULL if "--full" in sys.argv else {})
        for label, make in cases.items():
            content = make()
            server = Server(data_dir)
            try:
                campaign = pledge_campaign(server.base, token)  # also the warm-up
                name = "f.xlsx" if content.startswith(b"PK") else "f.csv"
                if "text field" in label:
                    name = ""
                outcomes[label] = (len(content), measure(server, token, campaign, name, content))
            finally:
                server.stop()
        report(outcomes)
    finally:
        subprocess.run([THIDUA, "db", "stop"], env=env, check=False, capture_output=True)
        shutil.rmtree(data_dir.parent, ignore_errors=True)


def report(outcomes: dict[str, tuple[int, Outcome]]) -> None:
    base = outcomes["(d) baseline: 10,000 good rows, CSV"][1]
    print(
        f"\n{'case':38} {'file':>9} {'answer':>28} {'time':>8} {'RSS growth':>11} "
        f"{'vs base':>8} {'/health max':>12}"
    )
    for label, (size, o) in outcomes.items():
        print(
            f"{label:38} {size / MiB:8.2f}M {o.answer:>28} {o.seconds:7.2f}s "
            f"{o.growth / MiB:9.1f}MB {o.growth / max(base.growth, 1):7.2f}x "
            f"{o.health * 1000:10.0f}ms"
        )
    exact = all(o.exact for _, o in outcomes.values())
    print(f"\npeak memory from {'VmHWM (exact)' if exact else 'RSS sampled every 5 ms'}.")
    print("target: every hostile case, (a) to (f), under 100 MB of growth.")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
