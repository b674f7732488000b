"""The policy store: gated publishes, approval by another person, rejection, rollback, staleness,
and the hash-chained history that shows an edited entry. On SQLite and on PostgreSQL."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import zxpolicy
from zxpolicy import StoreError
from zxpolicy.store import PolicyStore, init_store, open_store, publish

from ..conftest import POLICIES

FAST = 5  # requests per invariant in the gates: the gate is the same, the run shorter


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(POLICIES, target, ignore=shutil.ignore_patterns("schema"))
    return target


def _add_user(policy: Path, user: str = "u-query-east9") -> None:
    """A new query operator: a widening (one more person may query)."""
    f = policy / "assignments.yaml"
    text = f.read_text(encoding="utf-8")
    anchor = "  - {id: u-query-east1,"
    line = next(x for x in text.splitlines() if x.startswith(anchor))
    f.write_text(text.replace(line, line + "\n" + line.replace("u-query-east1", user), 1), encoding="utf-8")


def _publish(source: Path | dict[str, str], store: PolicyStore, **kw: Any) -> Any:
    kw.setdefault("by", "张三")
    kw.setdefault("message", "测试变更")
    return publish(source, store, max_examples=FAST, **kw)


def _raw(url: str, statement: str) -> None:
    """A statement run behind the store's back, as someone with database access would."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///"):]) as conn:
            conn.execute(statement)
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(statement)


def test_publish_runs_the_gates_and_another_person_makes_it_current(store_url: str, tmp_path: Path) -> None:
    store = init_store(store_url)
    done = _publish(_copy(tmp_path, "p1"), store)
    assert done.revision == 1 and not done.refused
    assert [g.name for g in done.gates] == ["loads", "suite", "invariants", "diff"] and all(g.ok for g in done.gates)
    assert store.current() is None  # proposed, not current
    with pytest.raises(StoreError) as err:
        store.approve(1, by="张三")
    assert err.value.code == "approver_is_proposer" and "张三" in err.value.message
    assert store.approve(1, by="李四").state == "current"
    current = store.current()
    assert current is not None and current.revision == 1
    assert current.version == zxpolicy.load(POLICIES).policy_version  # the schema folder is not part of it
    assert "tests/query.yaml" in current.files and "grants.yaml" in current.files
    r = store.revision(1)
    assert r.proposed_by == "张三" and [b for b, _ in r.approvals] == ["李四"] and r.message == "测试变更"
    assert store.verify() is None


def test_a_widening_needs_allow_widening_and_is_recorded(store_url: str, tmp_path: Path) -> None:
    store = init_store(store_url)
    _publish(_copy(tmp_path, "p1"), store)
    store.approve(1, by="李四")
    wider = _copy(tmp_path, "p2")
    _add_user(wider)
    refused = _publish(wider, store)
    assert refused.revision is None and refused.widening and "--allow-widening" in refused.refused
    assert [r.revision for r in store.revisions()] == [1]  # nothing proposed
    done = _publish(wider, store, allow_widening=True)
    assert done.revision == 2 and done.widening
    r = store.revision(2)
    assert r.widening and r.diff is not None and r.diff["widened"] == 1 and r.diff["base"] == 1
    assert "u-query-east9" in r.diff["markdown"] and "u-query-east9" in r.diff["markdown_en"]


def test_a_failing_gate_proposes_nothing(store_url: str, tmp_path: Path) -> None:
    store = init_store(store_url)
    broken = _copy(tmp_path, "broken")
    (broken / "grants.yaml").write_text("grants: [\n", encoding="utf-8")
    done = _publish(broken, store)
    assert done.revision is None and [g.ok for g in done.gates] == [False, False, False, False]
    assert "grants.yaml:" in done.gates[0].message_en
    failing = _copy(tmp_path, "failing")
    suite = failing / "tests" / "query.yaml"
    text = suite.read_text(encoding="utf-8")
    assert "allowed: true" in text
    suite.write_text(text.replace("allowed: true", "allowed: false", 1), encoding="utf-8")
    done = _publish(failing, store)
    assert done.revision is None and {g.name: g.ok for g in done.gates}["suite"] is False
    assert "1 failed" in next(g.message_en for g in done.gates if g.name == "suite")
    assert store.revisions() == []


def test_the_coverage_floor_is_the_policys_setting(store_url: str, tmp_path: Path) -> None:
    store = init_store(store_url)
    thin = _copy(tmp_path, "thin")
    (thin / "tests" / "chains.yaml").unlink()  # fewer cases: coverage below 100 %
    done = _publish(thin, store)
    suite = next(g for g in done.gates if g.name == "suite")
    assert done.revision is None and not suite.ok and "(at least 100% needed)" in suite.message_en
    rules = thin / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("publish_min_coverage: 100", "publish_min_coverage: 10"), encoding="utf-8")
    assert _publish(thin, store).revision == 1


def test_several_approvers_and_the_single_person_store(store_url: str, tmp_path: Path) -> None:
    store = init_store(store_url, approvers=2)
    _publish(_copy(tmp_path, "p"), store)
    assert store.approve(1, by="李四").state == "proposed"
    with pytest.raises(StoreError) as err:
        store.approve(1, by="李四")
    assert err.value.code == "already_approved"
    assert store.approve(1, by="王五").state == "current"
    with pytest.raises(StoreError) as err:
        init_store(store_url, approvers=1)  # the settings are the store's for good
    assert err.value.code == "store_settings_differ"


def test_single_person_mode_only_when_made_so(tmp_path: Path) -> None:
    store = init_store(f"sqlite:///{tmp_path / 'solo.db'}", single_person=True)
    _publish(_copy(tmp_path, "p"), store)
    assert store.approve(1, by="张三").state == "current"
    assert store.settings().single_person


def test_reject_stale_and_rollback(store_url: str, tmp_path: Path) -> None:
    store = init_store(store_url)
    first = _copy(tmp_path, "p1")
    _publish(first, store)
    store.approve(1, by="李四")
    wider = _copy(tmp_path, "p2")
    _add_user(wider)
    other = _copy(tmp_path, "p3")
    _add_user(other, "u-query-east8")
    assert _publish(wider, store, allow_widening=True).revision == 2
    assert _publish(other, store, allow_widening=True).revision == 3
    assert store.reject(3, by="李四", message="重复").state == "rejected"
    with pytest.raises(StoreError) as err:
        store.approve(3, by="王五")
    assert err.value.code == "proposal_closed"
    assert store.approve(2, by="李四").state == "current"
    # a rollback is a proposal of revision 1's files, gated against revision 2, approved as any
    back = _publish(store.version(1).files, store, rollback_of=1)
    assert back.revision == 4 and back.diff is not None and back.diff["narrowed"] == 1 and not back.widening
    pending = _publish(wider, store, allow_widening=True)  # proposed on revision 2
    store.approve(4, by="李四")
    current = store.current()
    assert current is not None and current.revision == 4 and current.version == store.version(1).version
    assert store.revision(4).rollback_of == 1
    assert store.revision(pending.revision).state == "stale"  # its diff was against revision 2
    with pytest.raises(StoreError) as err:
        store.approve(pending.revision, by="李四")
    assert err.value.code == "proposal_stale"


@pytest.mark.parametrize("edit", ["body", "column", "delete"])
def test_the_history_chain_shows_an_edited_entry(store_url: str, tmp_path: Path, edit: str) -> None:
    store = init_store(store_url)
    _publish(_copy(tmp_path, "p"), store, message="原因")
    store.approve(1, by="李四")
    statement = {
        "body": "UPDATE zxpolicy_store_history SET body = replace(body, '李四', '王五') WHERE seq = 2",
        "column": "UPDATE zxpolicy_store_history SET effective = 0 WHERE seq = 2",
        "delete": "DELETE FROM zxpolicy_store_history WHERE seq = 1",
    }[edit]
    _raw(store_url, statement)
    finding = store.verify()
    assert finding is not None and finding.seq == (1 if edit == "delete" else 2)
    with pytest.raises(StoreError) as err:
        _publish(_copy(tmp_path, "q"), store)  # a broken chain is never extended
    assert err.value.code in ("store_history_broken", "proposal_stale")


def test_an_edited_proposal_is_not_served(store_url: str, tmp_path: Path) -> None:
    store = init_store(store_url)
    _publish(_copy(tmp_path, "p"), store)
    store.approve(1, by="李四")
    _raw(store_url, "UPDATE zxpolicy_store_history SET body = replace(body, 'query_operator', 'user_admin') WHERE seq = 1")
    with pytest.raises(StoreError) as err:
        store.current()
    assert err.value.code == "store_history_broken"


def test_stores_are_opened_not_made_by_open_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as err:
        open_store(f"sqlite:///{tmp_path / 'none.db'}")
    assert err.value.code == "store_unreachable"
    sqlite3.connect(tmp_path / "empty.db").close()
    with pytest.raises(StoreError) as err:
        open_store(f"sqlite:///{tmp_path / 'empty.db'}")
    assert err.value.code == "store_not_initialised"
    with pytest.raises(StoreError) as err:
        open_store("mysql://somewhere")
    assert err.value.code == "store_url_invalid"
    with pytest.raises(StoreError) as err:
        open_store("postgresql://nobody:secret@127.0.0.1:1/none")
    assert err.value.code == "store_unreachable" and "secret" not in err.value.message_en


def test_a_store_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    init_store(url).close()
    _raw(url, "UPDATE zxpolicy_store_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError) as err:
        open_store(url)
    assert err.value.code == "store_too_new"


def test_by_and_message_are_bounded(tmp_path: Path) -> None:
    store = init_store(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(StoreError) as err:
        _publish(_copy(tmp_path, "p"), store, by="a\nb")
    assert err.value.code == "person_invalid"
    with pytest.raises(StoreError) as err:
        _publish(_copy(tmp_path, "q"), store, message=" ")
    assert err.value.code == "message_invalid"
