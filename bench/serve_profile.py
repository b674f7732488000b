"""Where ``zxpolicy serve`` spends its time under the loads of ``python -m bench serve``:
py-spy's samples of the server process, summed by layer (``python -m bench serve --profile``).

Each load (1 connection, 16 connections, batches of 50 on 4 connections; then 1 connection with
the log on) runs for ``--duration`` seconds while ``py-spy record`` samples the server (idle
samples left out, so the shares are of the time the process is busy). A sample counts for the
layer of its innermost Python frame: time in C — orjson, httptools, SQLite, the socket calls —
counts for the Python function that called it. A second count, "inside the engine", is the share
of samples with a frame of ``zxpolicy.decide`` anywhere on the stack: what deciding costs of a
request, everything else being the service around it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("zxpolicy: deciding (decide/, compile/)", ("zxpolicy/decide/", "zxpolicy/compile/")),
    ("zxpolicy: the decision log (log/)", ("zxpolicy/log/",)),
    ("zxpolicy: the live policy (live/)", ("zxpolicy/live/",)),
    ("zxpolicy serve: its request handling (serve/)", ("zxpolicy/serve/",)),
    ("Starlette", ("starlette/",)),
    ("uvicorn (its HTTP protocol: httptools or h11)", ("uvicorn/", "httptools/", "h11/")),
    ("asyncio, uvloop", ("asyncio/", "uvloop/", "concurrent/", "threading.py", "selectors.py")),
    ("prometheus-client", ("prometheus_client/",)),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("sqlite3", ("sqlite3/",)),
)
OTHER = "other"
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def layer_of(file: str) -> str:
    for name, prefixes in LAYERS:
        if any(p in file for p in prefixes):
            return name
    return OTHER


def parse_frame(frame: str) -> tuple[str, str]:
    """``func (file:line)`` → (func, file); a frame py-spy prints otherwise (a process's or a
    thread's name) → (the frame, "")."""
    m = _FRAME.match(frame)
    return (m.group("func"), m.group("file")) if m else (frame, "")


def summarize(raw: str, top: int = 12) -> dict[str, Any]:
    """py-spy's ``--format raw`` (collapsed stacks: ``frame;frame;… count``) → the share of
    samples by layer (innermost frame), the top functions by their own samples, and the share of
    samples inside the engine."""
    by_layer: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    inside_engine = 0
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [parse_frame(f) for f in stack.split(";")]
        frames = [f for f in frames if f[1]] or frames
        func, file = frames[-1]
        by_layer[layer_of(file)] += count
        by_function[f"{func} ({file})" if file else func] += count
        if any("zxpolicy/decide/" in f[1] for f in frames):
            inside_engine += count
        total += count
    share = (lambda n: 100.0 * n / total) if total else (lambda n: 0.0)
    return {
        "samples": total,
        "layers": [(name, share(n)) for name, n in by_layer.most_common()],
        "functions": [(name, share(n)) for name, n in by_function.most_common(top)],
        "inside_engine": share(inside_engine),
    }


def py_spy() -> str | None:
    """py-spy on PATH, or installed beside this Python (a virtual environment not activated)."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.is_file() else None)


def record(pid: int, seconds: int, out: Path, rate: int = 250) -> subprocess.Popen[bytes]:
    """Start sampling ``pid`` and its worker processes for ``seconds``; raw collapsed stacks to ``out``."""
    exe = py_spy()
    if exe is None:
        raise FileNotFoundError("py-spy")
    return subprocess.Popen(
        [exe, "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate", str(rate),
         "--duration", str(seconds), "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def report_text(label: str, rate: dict[str, Any], summary: dict[str, Any]) -> str:
    lines = [f"### {label}: {rate['req_s']:,.0f} req/s while sampled, p50 {rate['p50_ms']:.2f} ms;"
             f" {summary['samples']:,} samples, {summary['inside_engine']:.0f} % inside the engine (deciding, and writing the log where one is on)", "",
             "| layer (innermost frame) | share |", "|---|---:|"]
    lines += [f"| {name} | {pct:.1f} % |" for name, pct in summary["layers"]]
    lines += ["", "| function (own samples) | share |", "|---|---:|"]
    lines += [f"| `{name}` | {pct:.1f} % |" for name, pct in summary["functions"]]
    return "\n".join(lines)
