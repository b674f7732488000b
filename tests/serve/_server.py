"""A real ``zxpolicy serve`` process on a free loopback port, for the service's tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..conftest import REPO

EXAMPLES = REPO / "examples"
ALLOWED = json.loads((EXAMPLES / "query-allowed.json").read_text(encoding="utf-8"))
DENIED = json.loads((EXAMPLES / "query-denied.json").read_text(encoding="utf-8"))
ARCHIVE = json.loads((EXAMPLES / "archive-view.json").read_text(encoding="utf-8"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A running ``python -m zxpolicy serve``: its base URL, its process, what it printed."""

    def __init__(self, process: subprocess.Popen[str], url: str, out: Path) -> None:
        self.process = process
        self.url = url
        self._out = out

    def output(self) -> str:
        return self._out.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"the server did not stop within {timeout} s:\n{self.output()}")


def start(tmp: Path, *args: str, scheme: str = "http", client: dict[str, Any] | None = None, timeout: float = 60,
          env: dict[str, str] | None = None) -> Server:
    """Start the service with ``args`` and wait until /healthz answers (``client``: httpx's
    arguments for reaching it, e.g. TLS certificates)."""
    port = free_port()
    out = tmp / f"server-{port}.out"
    environ = {**os.environ, "PYTHONUNBUFFERED": "1"}
    environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    environ.update(env or {})
    with open(out, "w", encoding="utf-8") as f:
        process = subprocess.Popen(
            [sys.executable, "-m", "zxpolicy", "serve", "--port", str(port), *args],
            stdout=f, stderr=subprocess.STDOUT, text=True, env=environ, cwd=tmp,
        )
    server = Server(process, f"{scheme}://127.0.0.1:{port}", out)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2, **(client or {})).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop(signal.SIGKILL)
            pytest.fail(f"the server did not answer /healthz within {timeout} s:\n{server.output()}")
        time.sleep(0.1)


@contextmanager
def running(tmp: Path, *args: str, **kwargs: Any) -> Iterator[Server]:
    server = start(tmp, *args, **kwargs)
    try:
        yield server
    finally:
        server.stop()


def token_file(path: Path, entries: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """A tokens file with one new token per name (with its scopes); the tokens by name."""
    from zxpolicy.serve import hash_token, new_token

    tokens = {name: new_token() for name in entries}
    lines = ["tokens:"]
    for name, scopes in entries.items():
        lines.append(f"  - name: {name}\n    scopes: [{', '.join(scopes)}]\n    sha256: {hash_token(tokens[name])}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
