"""What the live-policy tests share: two policies that decide differently, writing a policy into
a directory whole, publishing to a store, waiting for a condition, a database per PostgreSQL
test, and a TCP proxy that stands for a store going down and coming back."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

import zxpolicy
from zxpolicy.store import PolicyStore, read_policy_files, version_of

from ..conftest import POLICIES

# The query operator's grant: without it, a query operator's query is denied. Policy "b"
# is the bundled policy without it, so that the two policies decide differently.
QUERY_GRANT = """  - rule: Q-03
    clause: 细则 第十七条(一)(二)(四)(六)
    roles: [query_operator]
    actions: [query, print]
    kinds: [credit_report]
    purposes: [loan_review, guarantor_check, post_loan_monitoring, legal]

"""


def grants_text(variant: str) -> str:
    """grants.yaml of policy ``variant``: "a" (the bundled one), "b" (without the query grant),
    or any other text: "a" with a comment naming it (a version of its own, deciding as "a")."""
    text = (POLICIES / "grants.yaml").read_text(encoding="utf-8")
    assert QUERY_GRANT in text
    if variant == "a":
        return text
    if variant == "b":
        return text.replace(QUERY_GRANT, "")
    return text + f"\n# {variant}\n"


def policy_copy(target: Path, variant: str = "a") -> Path:
    """A copy of the bundled policy (with its suites) in ``target``, as policy ``variant``."""
    shutil.copytree(POLICIES, target)
    (target / "grants.yaml").write_text(grants_text(variant), encoding="utf-8")
    return target


def replace_file(path: Path, text: str) -> None:
    """Write a file as editors and deploys do: a temporary file beside it (a dotfile, which the
    loader does not read), renamed over it."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def policy_files(variant: str = "a") -> dict[str, str]:
    """The files of policy ``variant`` as a store keeps them (policy and suites)."""
    files = read_policy_files(POLICIES)
    files["grants.yaml"] = grants_text(variant)
    return files


def version(variant: str = "a") -> str:
    return version_of(policy_files(variant))


def engine_of(tmp: Path, variant: str) -> zxpolicy.Engine:
    """An engine of policy ``variant``, loaded on its own (to compare a live policy's decisions to)."""
    return zxpolicy.load(policy_copy(tmp / f"engine-{variant}-{secrets.token_hex(3)}", variant))


def publish(store: PolicyStore, files: dict[str, str], *, version: str | None = None) -> int:
    """Propose ``files`` (as ``version``: by default their own) and approve them: the store's
    current revision now. The gates are not run: these tests are about following the store."""
    revision = store.propose(
        files, version=version or version_of(files), by="alice", message="test", gates=[], diff=None,
        widening=False, base=store.current_revision(),
    )
    store.approve(revision, by="bob")
    return revision


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Return once ``condition()`` holds; fail naming ``what`` after ``timeout`` seconds. (A
    deadline, not a measurement: a slow machine only makes the test slower.)"""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.01)


def call(check: Callable[..., Any], request: dict[str, Any]) -> Any:
    args = dict(request)
    return check(args.pop("subject"), args.pop("resource"), args.pop("purpose"), **args)


def live_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("zxpolicy-live")]


# -- PostgreSQL ------------------------------------------------------------------------------


def with_database(dsn: str, database: str, port: int | None = None) -> str:
    """``dsn`` naming another database (and, with ``port``, another port on 127.0.0.1)."""
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if port is not None:
        user = netloc.rpartition("@")[0]
        netloc = f"{user}@127.0.0.1:{port}" if user else f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, parts.fragment))


@pytest.fixture
def pg_database(pg_dsn: str | None) -> Iterator[str]:
    """A fresh database for one test (a store's tables have fixed names): its URL."""
    if pg_dsn is None:
        pytest.skip("no PostgreSQL server: set ZXPOLICY_TEST_PG_DSN, or install PostgreSQL (.ci/run does)")
    import psycopg

    name = f"zxpolicy_live_{secrets.token_hex(6)}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield with_database(pg_dsn, name)
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Proxy:
    """A TCP proxy to a server: what a host reaches the store through, so that a test can take
    the store away (every connection cut, new ones refused) and bring it back on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._running = threading.Event()

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self.port = self._listener.getsockname()[1]
        self._listener.settimeout(0.05)
        self._running.set()
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def stop(self) -> None:
        self._running.clear()
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, []
        if listener is not None:
            listener.close()
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _accept(self, listener: socket.socket) -> None:
        while self._running.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                if not self._running.is_set():
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
