"""The daily review's ledger and the audit trail: append-only, hash-chained, corrections as new
entries, sign-offs refused until every flagged line is verified, and tampering found."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from zxpolicy import ConsoleError
from zxpolicy.console import (
    ConsoleDb,
    audit,
    audit_entries,
    day_states,
    outcomes,
    record_outcome,
    sign_off,
    signoff,
    verify_audit,
    verify_ledger,
)
from zxpolicy.log import GENESIS, chain_hash

from .test_db import db, log, pg_database, raw  # noqa: F401  (fixtures)

DAY = date(2026, 11, 27)


def outcome(db: ConsoleDb, seq: int, result: str, *, day: date = DAY, note: str = "已逐笔核实") -> object:
    return record_outcome(db, day=day, seq=seq, decision_id=f"d-{seq}", outcome=result, note=note,
                          reference="贷-2026-001", by="u-supervisor-hq")


def test_an_outcome_is_chained_and_a_correction_is_a_new_entry(db: ConsoleDb) -> None:
    first = record_outcome(db, day=DAY, seq=7, decision_id="d-7", outcome="pending", note="  待与信贷部核对  ",
                           reference=" 贷-1 ", by="u-supervisor-hq")
    assert (first.seq, first.prev_hash, first.hash) == (1, GENESIS, chain_hash(GENESIS, first.body))
    assert (first.data["note"], first.data["reference"], first.data["log_seq"]) == ("待与信贷部核对", "贷-1", 7)
    second = outcome(db, 7, "violation")
    assert second.seq == 2 and second.prev_hash == first.hash
    found = outcomes(db, DAY)
    assert list(found) == [7] and found[7].outcome == "violation"  # the newest counts
    assert outcomes(db, DAY + timedelta(days=1)) == {}
    assert verify_ledger(db) is None


@pytest.mark.parametrize(("field", "value", "code"), [
    ("outcome", "ok", "outcome_unknown"),
    ("note", "x" * 2001, "note_too_long"),
    ("reference", "x" * 201, "reference_too_long"),
    ("reference", "贷-1\n贷-2", "reference_invalid"),
    ("by", "  ", "by_invalid"),
])
def test_bad_values_are_refused(db: ConsoleDb, field: str, value: str, code: str) -> None:
    given = {"day": DAY, "seq": 1, "decision_id": "d", "outcome": "compliant", "note": "", "reference": "", "by": "u", field: value}
    with pytest.raises(ConsoleError) as err:
        record_outcome(db, **given)  # type: ignore[arg-type]
    assert err.value.code == code and err.value.message and err.value.message_en
    assert outcomes(db, DAY) == {}


def test_a_note_of_the_longest_length_is_kept(db: ConsoleDb) -> None:
    entry = outcome(db, 1, "compliant", note="注" * 2000)
    assert entry.data["note"] == "注" * 2000


def test_a_day_is_not_signed_off_while_a_flagged_line_is_unverified_or_pending(db: ConsoleDb) -> None:
    outcome(db, 3, "compliant")
    outcome(db, 5, "pending")
    with pytest.raises(ConsoleError) as err:
        sign_off(db, day=DAY, by="u-supervisor-hq", head_seq=40, head_hash="h" * 64, flagged=[3, 5, 9])
    assert err.value.code == "day_not_reviewed"
    assert "2 条" in err.value.message and "5、9" in err.value.message and "2 flagged lines" in err.value.message_en
    assert signoff(db, DAY) is None
    outcome(db, 5, "violation")
    outcome(db, 9, "compliant")
    done = sign_off(db, day=DAY, by="u-supervisor-hq", head_seq=40, head_hash="h" * 64, flagged=[9, 3, 5, 5])
    assert (done.kind, done.by, done.data["head_seq"], done.data["head_hash"]) == ("signoff", "u-supervisor-hq", 40, "h" * 64)
    assert done.data["flagged"] == [3, 5, 9]
    assert done.data["outcomes"] == {"compliant": 2, "violation": 1, "pending": 0}
    assert signoff(db, DAY) == done


def test_a_day_is_signed_off_once_and_then_closed(db: ConsoleDb) -> None:
    sign_off(db, day=DAY, by="u-supervisor-hq", head_seq=1, head_hash="a", flagged=[])  # nothing flagged: may be signed
    with pytest.raises(ConsoleError) as err:
        sign_off(db, day=DAY, by="u-riskoff-east", head_seq=2, head_hash="b", flagged=[])
    assert err.value.code == "day_already_signed"
    with pytest.raises(ConsoleError) as err:
        outcome(db, 1, "violation")
    assert err.value.code == "day_already_signed"
    signed = signoff(db, DAY)
    assert signed is not None and signed.by == "u-supervisor-hq"


def test_day_states_for_a_calendar(db: ConsoleDb) -> None:
    outcome(db, 1, "pending", day=date(2026, 11, 2))
    outcome(db, 2, "compliant", day=date(2026, 11, 3))
    sign_off(db, day=date(2026, 11, 3), by="u", head_seq=2, head_hash="x", flagged=[2])
    states = day_states(db, date(2026, 11, 1), date(2026, 11, 30))
    assert len(states) == 30
    assert states[date(2026, 11, 1)] == "not_started"
    assert states[date(2026, 11, 2)] == "in_progress"
    assert states[date(2026, 11, 3)] == "signed"
    assert day_states(db, date(2026, 11, 5), date(2026, 11, 4)) == {}
    with pytest.raises(ConsoleError):
        day_states(db, date(2020, 1, 1), date(2026, 1, 1))


def _three(db: ConsoleDb) -> None:
    for seq in (1, 2, 3):
        outcome(db, seq, "compliant")


@pytest.mark.parametrize(("statements", "seq", "says"), [
    (["UPDATE zxpolicy_console_review SET body = replace(body, 'compliant', 'violation') WHERE seq = 2"], 2, "edited"),
    (["UPDATE zxpolicy_console_review SET day = '2026-11-28' WHERE seq = 3"], 3, "edited"),  # a look-up column
    (["DELETE FROM zxpolicy_console_review WHERE seq = 2"], 2, "missing"),
    (["DELETE FROM zxpolicy_console_review WHERE seq = 3"], 3, "removed"),  # from the end
    (["UPDATE zxpolicy_console_review SET seq = seq + 10 WHERE seq IN (2, 3)",  # 2 and 3 swapped
      "UPDATE zxpolicy_console_review SET seq = 2 WHERE seq = 13",
      "UPDATE zxpolicy_console_review SET seq = 3 WHERE seq = 12"], 2, "link"),
], ids=["edited", "column", "removed", "removed_last", "reordered"])
def test_tampering_is_found(db: ConsoleDb, log: str, statements: list[str], seq: int, says: str) -> None:
    for n in (1, 2, 3):
        outcome(db, n, "compliant")
    assert verify_ledger(db) is None
    for statement in statements:
        raw(log, statement)
    finding = verify_ledger(db)
    assert finding is not None and finding.seq == seq and says in finding.message_en, finding
    assert finding.message


def test_the_audit_trail_is_a_chain_of_its_own(db: ConsoleDb, log: str) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    audit(db, by="u-gm-hq", kind="signin", what="/login")
    audit(db, by="u-gm-hq", kind="view", what="/policy", detail={"lang": "zh", "q": "x" * 5000})
    audit(db, by="u-gm-hq", kind="action", what="approve", detail={"revision": "3"})
    outcome(db, 1, "compliant")  # the ledger's chain is apart
    entries = audit_entries(db)
    assert [(e.seq, e.kind, e.data["what"]) for e in entries] == [(3, "action", "approve"), (2, "view", "/policy"), (1, "signin", "/login")]
    assert len(entries[1].data["detail"]["q"]) == 500  # bounded, not refused
    assert [e.seq for e in audit_entries(db, limit=1)] == [3]
    assert audit_entries(db, since=datetime.now(UTC) + timedelta(hours=1)) == []
    assert len(audit_entries(db, since=before)) == 3
    assert verify_audit(db) is None and verify_ledger(db) is None
    with pytest.raises(ConsoleError):
        audit(db, by="u-gm-hq", kind="delete", what="x")
    raw(log, "UPDATE zxpolicy_console_audit SET who = 'u-riskmgr-hq' WHERE seq = 1")
    finding = verify_audit(db)
    assert finding is not None and finding.seq == 1
    assert verify_ledger(db) is None
