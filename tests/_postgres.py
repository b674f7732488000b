"""A PostgreSQL server for the decision-log tests.

``.ci/run`` starts one and sets ``ZXPOLICY_TEST_PG_DSN``. Without it, the tests start a
throwaway cluster themselves when the server's programs are installed, else they are skipped
with the reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "ZXPOLICY_TEST_PG_DSN"


def _bin_dir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0)
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


@contextmanager
def postgres_dsn() -> Iterator[str | None]:
    """A DSN, or None with no server to be had (the caller skips)."""
    given = os.environ.get(ENV)
    if given:
        yield given
        return
    bin_dir = _bin_dir()
    if bin_dir is None:
        yield None
        return
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    work = tempfile.mkdtemp(prefix="zxpolicy-pg-")
    if as_root:
        shutil.chown(work, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = os.path.join(work, "data")
    run = lambda *args: subprocess.run([*prefix, *args], check=True, capture_output=True)  # noqa: E731
    try:
        run(os.path.join(bin_dir, "initdb"), "-D", data, "-U", "postgres", "-A", "trust")
        run(
            os.path.join(bin_dir, "pg_ctl"), "-D", data, "-l", os.path.join(work, "log"), "-w",
            # a throwaway server: no need to wait for the disk
            "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {work} -c fsync=off -c synchronous_commit=off", "start",
        )
    except (OSError, subprocess.CalledProcessError):
        shutil.rmtree(work, ignore_errors=True)
        yield None
        return
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, os.path.join(bin_dir, "pg_ctl"), "-D", data, "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def pg_store_url(dsn: str) -> str:
    """A new, empty schema of the server at ``dsn``, as a policy-store URL whose connections use
    it: each test's store its own, never seeing another's history."""
    import uuid
    from urllib.parse import quote

    import psycopg

    schema = f"store_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}options={quote(f'-csearch_path={schema}')}"
