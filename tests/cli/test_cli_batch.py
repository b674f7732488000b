"""``zxpolicy check --batch``: many requests in, one JSON decision a line out, in order.

Each line is what ``check --json`` gives for the same request; a line ``check`` would refuse as a
usage error is an error line naming its line number, and the batch goes on; the exit code is 0
only when every request is allowed; only an input that cannot be read at all is exit 2.
"""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import zxpolicy
import zxpolicy.cli._batch as batch
from zxpolicy.cli import main
from zxpolicy.cli._batch import BatchProblem, TextAsBytes, batch_items
from zxpolicy.log import open_log

from ..conftest import POLICIES, REPO
from .test_exits import DEEP, HUGE, assert_one_line

EXAMPLES = REPO / "examples"
DECISION_KEYS = ["decision_id", "allowed", "reasons", "missing_approvals", "obligations", "policy_version"]
ERROR_KEYS = {"code", "message", "message_en"}


@pytest.fixture(autouse=True)
def _no_policy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZXPOLICY_POLICY_DIR", raising=False)


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


ALLOWED, DENIED, ARCHIVE = example("query-allowed.json"), example("query-denied.json"), example("archive-view.json")


def run_batch(*args: object, input: str | bytes | None = None) -> Result:
    return CliRunner().invoke(main, ["check", "--policy", str(POLICIES), "--batch", *(str(a) for a in args)], input=input)


def lines_of(*items: object) -> str:
    return "".join((i if isinstance(i, str) else json.dumps(i, ensure_ascii=False)) + "\n" for i in items)


def out(result: Result) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(isinstance(r, dict) for r in rows)
    return rows


def without_id(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in ("decision_id", "policy")}


def single(body: dict[str, Any]) -> dict[str, Any]:
    """What `zxpolicy check --json` prints for one request."""
    r = CliRunner().invoke(main, ["check", "--policy", str(POLICIES), "--json", "-"], input=json.dumps(body))
    assert r.exit_code in (0, 1), r.output
    data: dict[str, Any] = json.loads(r.stdout)
    return data


def test_each_line_is_the_decision_check_json_gives_in_order() -> None:
    bodies = [ALLOWED, DENIED, ARCHIVE, {**ALLOWED, "purpose": "marketing"}, ALLOWED]
    result = run_batch("-", input=lines_of(*bodies))
    assert result.exit_code == 1, result.output  # one is denied
    rows = out(result)
    assert len(rows) == len(bodies)
    for row, body in zip(rows, bodies, strict=True):
        assert list(row) == DECISION_KEYS  # Decision.to_dict(), nothing added
        assert without_id(row) == without_id(single(body))
    assert [r["allowed"] for r in rows] == [True, False, True, False, True]
    assert len({r["decision_id"] for r in rows}) == len(rows)  # each its own decision


def test_all_allowed_exits_0_and_an_empty_batch_is_no_denial() -> None:
    assert run_batch("-", input=lines_of(ALLOWED, ARCHIVE)).exit_code == 0
    empty = run_batch("-", input="\n  \n")
    assert empty.exit_code == 0 and empty.stdout == ""


def test_the_decisions_are_the_engines(tmp_path: Path) -> None:
    engine = zxpolicy.load(POLICIES)
    bodies = [ALLOWED, DENIED, ARCHIVE, {**DENIED, "at": "not a time"}, {"subject": "u-nobody", "resource": {}, "purpose": "x"}]
    path = tmp_path / "requests.jsonl"
    path.write_text(lines_of(*bodies), encoding="utf-8")
    rows = out(run_batch(path))
    for row, body in zip(rows, bodies, strict=True):
        args = {k: body[k] for k in zxpolicy.decide.KEYWORDS if k in body}
        expected = engine.check(body.get("subject"), body.get("resource"), body.get("purpose"), **args)
        assert without_id(row) == without_id(expected.to_dict())


def test_a_request_whose_fields_cannot_be_read_is_a_deny_as_in_check() -> None:
    bad = {**ALLOWED, "resource": {"id": "r", "kind": "credit_reprt", "level": "ordinary", "org": "east-1"}}
    result = run_batch("-", input=lines_of(bad))
    assert result.exit_code == 1
    (row,) = out(result)
    assert row["allowed"] is False and "invalid_request" in [r["code"] for r in row["reasons"]]
    assert without_id(row) == without_id(single(bad))


def test_bad_lines_are_error_lines_naming_the_line_and_the_batch_goes_on() -> None:
    text = lines_of(
        ALLOWED,  # 1
        "",  # 2: blank, skipped
        "{not json",  # 3
        "[1, 2]",  # 4: JSON, not an object (JSON lines: only a first line opens an array)
        {**ALLOWED, "purpse": "loan_review"},  # 5
        '"u-query-east1"',  # 6
        DEEP,  # 7
        '{"subject": ' + HUGE + "}",  # 8
        '{"subject": NaN}',  # 9
        ALLOWED,  # 10
    )
    result = run_batch("-", input=text)
    assert result.exit_code == 1, result.output
    rows = out(result)
    assert len(rows) == 9  # every line but the blank one, in order
    assert rows[0]["allowed"] is True and rows[-1]["allowed"] is True
    errors = rows[1:-1]
    assert [e["error"]["line"] for e in errors] == [3, 4, 5, 6, 7, 8, 9]
    assert [e["error"]["code"] for e in errors] == [
        "not_json", "not_an_object", "unknown_field", "not_an_object", "not_json", "not_json", "not_json"
    ]
    for e in errors:
        assert list(e) == ["allowed", "error"] and e["allowed"] is False
        assert set(e["error"]) == ERROR_KEYS | {"line"}
        line = e["error"]["line"]
        assert e["error"]["message_en"].startswith(f"line {line}") and e["error"]["message"].startswith(f"第 {line} 行")
    assert "did you mean `purpose`?" in errors[2]["error"]["message_en"]
    assert "deeper than 64" in errors[4]["error"]["message_en"]


def test_a_line_not_utf8_and_a_line_too_long_are_error_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "MAX_JSON_BYTES", 2_000)
    monkeypatch.setattr(batch, "_SKIP_CHUNK", 100)  # the rest of the long line is skipped in pieces
    long_line = json.dumps({**ALLOWED, "evidence": {"note": "x" * 5_000}})
    text = (lines_of(ALLOWED).encode() + json.dumps({**ALLOWED, "subject": "u-\xe9"}, ensure_ascii=False).encode("latin-1") + b"\r\n"
            + long_line.encode() + b"\n" + lines_of(ALLOWED).replace("\n", "\r\n").encode())
    result = run_batch("-", input=text)
    rows = out(result)
    assert [r["allowed"] for r in rows] == [True, False, False, True] and result.exit_code == 1
    assert rows[1]["error"]["code"] == "not_utf8" and rows[1]["error"]["line"] == 2
    assert rows[2]["error"]["code"] == "line_too_long" and rows[2]["error"]["line"] == 3
    assert "2,000 bytes" in rows[2]["error"]["message_en"]


def test_a_line_at_the_bound_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    line = json.dumps(ALLOWED)
    monkeypatch.setattr(batch, "MAX_JSON_BYTES", len(line.encode()))
    rows = out(run_batch("-", input=line + "\r\n" + line + "\n" + line))
    assert [r["allowed"] for r in rows] == [True, True, True]
    monkeypatch.setattr(batch, "MAX_JSON_BYTES", len(line.encode()) - 1)
    rows = out(run_batch("-", input=line + "\r\n" + line + "\n"))
    assert [r["error"]["line"] for r in rows] == [1, 2]


def test_a_json_array_is_read_item_by_item() -> None:
    text = "\n  " + json.dumps([ALLOWED, 3, DENIED, {"colour": 1}], indent=2)
    result = run_batch("-", input=text)
    rows = out(result)
    assert result.exit_code == 1 and len(rows) == 4
    assert without_id(rows[0]) == without_id(single(ALLOWED)) and without_id(rows[2]) == without_id(single(DENIED))
    assert rows[1] == {"allowed": False, "error": {**rows[1]["error"], "item": 2}} and rows[1]["error"]["code"] == "not_an_object"
    assert rows[3]["error"]["code"] == "unknown_field" and rows[3]["error"]["item"] == 4
    assert rows[3]["error"]["message_en"].startswith("item 4: ")
    assert run_batch("-", input=json.dumps([ALLOWED, ARCHIVE])).exit_code == 0


@pytest.mark.parametrize(("text", "said"), [
    ("[" + json.dumps(ALLOWED) + ",", "does not parse"),
    ("[" + json.dumps(ALLOWED) + "]\n" + json.dumps(ALLOWED), "does not parse"),  # an array, then more
    ("[" + DEEP + "]", "deeper than 65"),
    ("[NaN]", "`NaN` is not JSON"),
])
def test_an_array_that_does_not_parse_is_a_usage_error(text: str, said: str) -> None:
    result = run_batch("-", "--lang", "en", input=text)
    line = assert_one_line(result)
    assert line.startswith("batch `-`: ") and said in line
    assert result.stdout == ""


def test_an_array_over_its_bound_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "MAX_ARRAY_BYTES", 5_000)
    result = run_batch("-", "--lang", "en", input=json.dumps([ALLOWED] * 20))
    assert "larger than 5,000 bytes" in assert_one_line(result) and result.stdout == ""
    assert "超过 5,000 字节" in assert_one_line(run_batch("-", input=json.dumps([ALLOWED] * 20)))


def test_more_requests_than_the_cap_stop_with_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "MAX_BATCH_ITEMS", 3)
    result = run_batch("-", "--lang", "en", input=lines_of(ALLOWED, "", ALLOWED, "{bad", ALLOWED))
    assert "more than 3 requests; the rest were not read" in assert_one_line(result)
    assert len(out(result)) == 3  # the requests before the cap are answered
    assert run_batch("-", input=lines_of(ALLOWED, ALLOWED, ALLOWED)).exit_code == 0
    array = run_batch("-", "--lang", "en", input=json.dumps([ALLOWED] * 4))
    assert "more than 3 requests (4)" in assert_one_line(array) and array.stdout == ""


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_an_input_that_cannot_be_opened_is_one_line_and_exit_2(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "missing.jsonl" if kind == "missing" else tmp_path
    result = run_batch(path, "--lang", "en")
    line = assert_one_line(result)
    assert line.startswith(f"batch `{path}`: ") and ("no such file" in line or "directory" in line)
    assert "批量请求" in assert_one_line(run_batch(path))


@pytest.mark.parametrize("extra", [[str(EXAMPLES / "query-allowed.json")], ["--purpose", "loan_review"],
                                   ["--resource-id", "r-9"], ["--evidence", "case_id=1"]])
def test_batch_takes_no_request_or_request_flags(extra: list[str]) -> None:
    result = run_batch("-", *extra, input=lines_of(ALLOWED))
    assert "--batch reads every request from its input" in assert_one_line(result)


def test_json_and_lang_are_taken_with_batch() -> None:
    result = run_batch("-", "--json", "--lang", "en", input=lines_of(ALLOWED))
    assert result.exit_code == 0 and out(result)[0]["allowed"] is True


def test_batch_writes_every_decision_to_the_log(tmp_path: Path) -> None:
    db = tmp_path / "decisions.db"
    result = run_batch("-", "--log", db, input=lines_of(ALLOWED, "{bad", DENIED))
    assert result.exit_code == 1
    ids = [r["decision_id"] for r in out(result) if "decision_id" in r]
    store = open_log(db, read_only=True)
    try:
        assert [r.decision_id for r in store.rows()][1:] == ids  # after the log's first record
    finally:
        store.close()


def test_the_help_says_what_a_bad_line_gives() -> None:
    text = CliRunner().invoke(main, ["check", "--help"]).output
    assert "--batch FILE|-" in text and "error line" in text and '"allowed": false' in text
    assert "1,000,000 bytes" in text and "Exit 0 if every request is allowed" in text


def test_a_text_only_stdin_is_read_as_its_bytes() -> None:
    stream = TextAsBytes(io.StringIO(lines_of(ALLOWED, "{bad")))
    items = list(batch_items(stream))
    assert items[0] == (1, ALLOWED)
    assert isinstance(items[1], BatchProblem) and items[1].number == 2 and items[1].code == "not_json"


def test_requests_are_answered_as_they_come() -> None:
    """A program may feed a request, read its decision, then feed the next: each decision is
    written (and flushed) before the next line is read."""
    env = {**os.environ, "ZXPOLICY_POLICY_DIR": str(POLICIES)}
    proc = subprocess.Popen([sys.executable, "-m", "zxpolicy", "check", "--batch", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for body, allowed in ((ALLOWED, True), (DENIED, False)):
            proc.stdin.write((json.dumps(body) + "\n").encode())
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            assert ready, "no decision before the next request"
            assert json.loads(proc.stdout.readline())["allowed"] is allowed
        proc.stdin.close()
        assert proc.wait(60) == 1 and proc.stdout.read() == b""
    finally:
        proc.kill()
        proc.wait()
