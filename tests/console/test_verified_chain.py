"""The console's verified head: the whole chain once, then only the records written since."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import zxpolicy
from zxpolicy import LogError
from zxpolicy.console._pages import VerifiedChain
from zxpolicy.log import open_log, verify_chain

from ..conftest import AT, POLICIES, consent, report


def _decide(log: Path, n: int) -> None:
    engine = zxpolicy.load(POLICIES, log=str(log))
    for i in range(n):
        engine.check("u-query-east1", report(rid=f"rep-{i}"), "loan_review", consent=consent(), at=AT)


def _edit(log: Path, seq: int) -> None:
    with sqlite3.connect(log) as conn:
        body = conn.execute("SELECT body FROM decisions WHERE seq = ?", (seq,)).fetchone()[0]
        edited = json.dumps({**json.loads(body), "purpose": "legal"}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        conn.execute("UPDATE decisions SET body = ? WHERE seq = ?", (edited, seq))


def test_new_records_are_verified_alone_and_a_bad_one_refuses(tmp_path: Path) -> None:
    path = tmp_path / "decisions.db"
    _decide(path, 5)
    store = open_log(path, read_only=True)
    try:
        chain = VerifiedChain(store)
        assert chain.head() == (5, verify_chain(store).head_hash)
        _decide(path, 3)
        assert chain.head() == (8, verify_chain(store).head_hash)

        # an edit of a record verified already is the sign-off's whole verification to see
        _edit(path, 2)
        assert chain.head()[0] == 8
        # a new record that does not check sends it to the whole chain, which names the first
        _decide(path, 2)
        _edit(path, 10)
        with pytest.raises(LogError, match="record 2"):
            chain.head()
    finally:
        store.close()
