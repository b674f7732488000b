"""Invariants as policy data, ``zxpolicy verify`` and the property-testing kit.

The shipped policy holds every invariant of its invariants.yaml on generated requests; each
mutant of it — made by editing a copy of the policy, or, where YAML cannot say the fault, by
breaking a loaded engine — is caught, and the counterexample printed is a request that
``zxpolicy check`` (or, for an engine mutant, the library) decides as the run said.
"""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from click.testing import CliRunner, Result

import zxpolicy
import zxpolicy.decide._decide
from zxpolicy.cli import main
from zxpolicy.decide._approvals import Filling, fill_steps
from zxpolicy.policy import INVARIANT_KINDS
from zxpolicy.testing import VerifyReport, verify

from ..conftest import POLICIES

# Examples per invariant for the shipped policy: 18 invariants x 200 requests take a few seconds.
MAX_EXAMPLES = 200


@pytest.fixture(autouse=True)
def _no_policy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZXPOLICY_POLICY_DIR", raising=False)


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def shipped() -> VerifyReport:
    return verify(zxpolicy.load(POLICIES), seed=0, max_examples=MAX_EXAMPLES)


def test_the_shipped_policy_holds_every_invariant(shipped: VerifyReport) -> None:
    assert shipped.passed, shipped.render_text("en")
    assert [r.invariant.id for r in shipped.results] == [f"INV-{i:02}" for i in range(1, 19)]
    assert {r.invariant.kind for r in shipped.results} == set(INVARIANT_KINDS)  # every kind is in use


def test_the_generated_requests_exercise_every_invariant(shipped: VerifyReport) -> None:
    """Properties of allowed requests are vacuous if nothing generated is allowed: about a
    quarter of the requests are allowed (at least a fifth), and every invariant's premise held on
    some of them."""
    examples = sum(r.examples for r in shipped.results)
    allowed = sum(r.allowed for r in shipped.results)
    assert allowed / examples >= 0.2, (allowed, examples)
    low = {r.invariant.id: r.exercised for r in shipped.results if r.exercised < 5}
    assert not low, low
    # Requests built around a grant are allowed often; those that matter to approvals among them.
    by_id = {r.invariant.id: r for r in shipped.results}
    assert by_id["INV-07"].exercised >= 20  # monotone in approvals: allowed requests with approvals
    assert by_id["INV-14"].exercised >= 20  # provide_external allowed with its two approvals


def test_the_testing_names_are_pinned() -> None:
    import zxpolicy.testing

    assert zxpolicy.testing.__all__ == [
        "AT", "InvariantResult", "VerifyReport", "Violation", "approval_sets", "consents", "evidence", "purposes",
        "requests", "resources", "run_invariant", "subjects", "verify",
    ]
    for name in zxpolicy.testing.__all__:
        assert getattr(zxpolicy.testing, name) is not None
    with pytest.raises(AttributeError):
        zxpolicy.testing.nothing  # noqa: B018


def test_a_run_is_reproducible() -> None:
    engine = zxpolicy.load(POLICIES)
    first = verify(engine, seed=3, max_examples=40, only=["INV-02", "INV-07"]).to_dict()
    again = verify(zxpolicy.load(POLICIES), seed=3, max_examples=40, only=["INV-02", "INV-07"]).to_dict()
    assert first == again
    assert [i["id"] for i in first["invariants"]] == ["INV-02", "INV-07"]


def test_verify_on_the_shipped_policy_exits_0_with_json() -> None:
    result = run("verify", POLICIES, "--only", "INV-01", "--only", "INV-12", "--max-examples", 30, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["passed"] is True and data["seed"] == 0 and data["max_examples"] == 30
    assert [(i["id"], i["passed"], i["counterexample"]) for i in data["invariants"]] == [("INV-01", True, None), ("INV-12", True, None)]


# -- mutants of the policy files -----------------------------------------------------------------

GRANT_ADMIN = "\n  - {rule: Q-03, roles: [user_admin], actions: [query], kinds: [credit_report], purposes: [loan_review]}\n"

# name → (the invariant that must catch it, the edits: file, old text, new text)
YAML_MUTANTS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    # A grant to user_admin; the Q-08 separation that would still block it is weakened with it.
    "grant user_admin query": ("INV-03", [
        ("grants.yaml", "\ngrants:\n", "\ngrants:" + GRANT_ADMIN),
        ("rules.yaml", "bars_credit_information: true", "bars_credit_information: false"),
    ]),
    "drop the consent requirement of loan_review": ("INV-02", [("purposes.yaml", "consent: true", "consent: false")]),
    "A-03 made one step": ("INV-14", [
        ("approvals.yaml", "      - [credit_info_supervisor]\n      - [risk_control_manager]\n", "      - [credit_info_supervisor]\n"),
    ]),
    "a top_secret classification step removed": ("INV-15", [
        ("classification.yaml", "      - [risk_control_manager]\n      - [general_manager]\n", "      - [risk_control_manager]\n"),
    ]),
}


@pytest.mark.parametrize("name", sorted(YAML_MUTANTS))
def test_verify_catches_a_policy_mutant_with_a_runnable_counterexample(policy_copy: Path, tmp_path: Path, name: str) -> None:
    expected, edits = YAML_MUTANTS[name]
    for file, old, new in edits:
        _edit(policy_copy / file, old, new)
    result = run("verify", policy_copy, "--only", expected, "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    (failed,) = [i for i in data["invariants"] if not i["passed"]]
    assert failed["id"] == expected and failed["clause"]
    found = failed["counterexample"]
    assert list(found) == ["code", "message", "message_en", "requests"]
    assert found["code"] == failed["kind"] and found["message"] and found["message_en"]
    cases = found["requests"]
    assert cases
    for n, case in enumerate(cases):
        # The printed request, fed to `zxpolicy check` on the mutant, gets the decision shown.
        path = tmp_path / f"counterexample-{n}.json"
        path.write_text(json.dumps(case["request"], ensure_ascii=False), encoding="utf-8")
        checked = run("check", "--policy", policy_copy, "--json", path)
        decision = json.loads(checked.stdout)
        assert checked.exit_code == (0 if case["decision"]["allowed"] else 1)
        assert decision["allowed"] == case["decision"]["allowed"]
        assert [r["code"] for r in decision["reasons"]] == case["decision"]["codes"]
    # Each of these mutants allows what the shipped policy denies: the violation reproduces.
    request = cases[0]["request"]
    assert zxpolicy.load(policy_copy).check(**request).allowed
    assert not zxpolicy.load(POLICIES).check(**request).allowed


def test_the_text_report_names_the_invariant_and_prints_the_request(policy_copy: Path) -> None:
    expected, edits = YAML_MUTANTS["drop the consent requirement of loan_review"]
    for file, old, new in edits:
        _edit(policy_copy / file, old, new)
    result = run("verify", policy_copy, "--only", expected, "--lang", "en")
    assert result.exit_code == 1
    out = result.stdout
    assert "FAIL INV-02 requires_consent [细则 第十七条；条例 第十八条]" in out
    assert "counterexample: allowed without a valid consent" in out
    block = out[out.index("# allowed\n") + len("# allowed\n") : out.index("\n0/1 invariants hold")]
    request = json.loads("\n".join(line[2:] for line in block.splitlines()))
    assert zxpolicy.load(policy_copy).check(**request).allowed
    zh = run("verify", policy_copy, "--only", expected)
    assert "失败 INV-02" in zh.stdout and "除依法查询外" in zh.stdout and "不成立：INV-02" in zh.stdout
    assert "反例: 未取得该客户对此用途的有效书面授权即获准" in zh.stdout


def test_a_grant_to_user_admin_alone_is_still_blocked_by_the_separation(policy_copy: Path) -> None:
    _edit(policy_copy / "grants.yaml", "\ngrants:\n", "\ngrants:" + GRANT_ADMIN)
    result = run("verify", policy_copy, "--only", "INV-03", "--max-examples", 100)
    assert result.exit_code == 0, result.output


def test_junit_output_carries_the_failure(policy_copy: Path, tmp_path: Path) -> None:
    _, edits = YAML_MUTANTS["A-03 made one step"]
    for file, old, new in edits:
        _edit(policy_copy / file, old, new)
    junit = tmp_path / "verify.xml"
    result = run("verify", policy_copy, "--only", "INV-14", "--only", "INV-01", "--max-examples", 50, "--junit", junit)
    assert result.exit_code == 1
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"INV-01 deny_by_default", "INV-14 requires_approvals"}
    assert cases["INV-01 deny_by_default"].find("failure") is None
    failure = cases["INV-14 requires_approvals"].find("failure")
    assert failure is not None and "制度 第22条" in (failure.get("message") or "")
    assert "a different approver for each of: `credit_info_supervisor`" in (failure.get("message") or "")
    request = json.loads((failure.text or "").split("\n", 1)[1])
    assert request["action"] == "provide_external"


# -- mutants of the engine: faults the YAML cannot express ------------------------------------------


def _each_step_alone(steps: Any, request: Any, scope: Any) -> Filling:
    """A broken filler: each step filled on its own, so one approver may fill two."""
    return Filling(tuple(fill_steps((s,), request, scope).filled[0] for s in steps), ())


def _json_round_trip(request: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(request, ensure_ascii=False))
    return loaded


def test_verify_catches_an_approver_filling_two_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zxpolicy.decide._decide, "fill_steps", _each_step_alone)
    mutant = zxpolicy.load(POLICIES)
    report = verify(mutant, only=["INV-06"])
    (result,) = report.results
    assert result.violation is not None and "filling two steps" in result.violation.message_en
    assert result.violation.code == "one_approver_per_step" and "审批了两个环节" in result.violation.message
    ((request, decision),) = result.violation.cases
    request = _json_round_trip(request)
    assert mutant.check(**request).allowed and decision.allowed
    assert _twice(mutant, request)
    monkeypatch.undo()
    assert not _twice(zxpolicy.load(POLICIES), request)


def _twice(engine: zxpolicy.Engine, request: dict[str, Any]) -> list[str]:
    """The approvers an explanation names on more than one step."""
    named = [s.approver for s in engine.explain(**request).stages if s.approver]
    return sorted({a for a in named if named.count(a) > 1})


def test_verify_catches_a_widened_org_scope() -> None:
    mutant = zxpolicy.load(POLICIES)
    t = mutant._tables
    wider = {**t.scope, "west": t.scope["west"] | {"east"}, "west-1": t.scope["west-1"] | {"east"}}
    mutant._tables = dataclasses.replace(t, scope=MappingProxyType(wider))  # east now reaches into west
    # The run stops at the first violation; the margin keeps the test from hanging on where in
    # the generated stream the first cross-branch request falls.
    (result,) = verify(mutant, only=["INV-04"], max_examples=1000).results
    assert result.violation is not None
    ((request, _),) = result.violation.cases
    request = _json_round_trip(request)
    assert mutant.check(**request).allowed
    assert request["resource"]["org"] in ("west", "west-1")
    assert "org_out_of_scope" in zxpolicy.load(POLICIES).check(**request).codes


def test_usage_errors_exit_2(policy_copy: Path) -> None:
    unknown = run("verify", POLICIES, "--only", "INV-99")
    assert unknown.exit_code == 2 and "`INV-99` is not an invariant" in unknown.output
    (policy_copy / "orgs.yaml").write_text("orgs: []\n", encoding="utf-8")
    broken = run("verify", policy_copy)
    assert broken.exit_code == 2 and "orgs.yaml" in broken.stderr


# -- the invariants section -------------------------------------------------------------------


def test_a_policy_without_invariants_loads_and_verify_says_so(policy_copy: Path) -> None:
    (policy_copy / "invariants.yaml").unlink()
    assert zxpolicy.load(policy_copy).document.invariants == []
    result = run("verify", policy_copy)
    assert result.exit_code == 2
    assert "no invariants" in result.stderr


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("kind: org_isolation", "kind: org_isolated", "kind: org_isolated", "input should be 'deny_by_default'"),
        ("when: {roles_include: user_admin,", "when: {roles_include: user_admn,", "roles_include: user_admn", "unknown role `user_admn`; did you mean `user_admin`?"),
        ("  - id: INV-04\n", "  - id: INV-4\n", "id: INV-4\n", "expected an invariant id like `INV-01`, got `INV-4`"),
        ("  - id: INV-04\n", "  - id: INV-03\n", "id: INV-03\n    kind: org", "duplicate id `INV-03`"),
        ("    when: {subject_status: suspended}\n", "", "kind: never_allowed\n    clause: 细则 第十条", "`never_allowed` needs `when`"),
        ("    obligation: log_query\n", "", "kind: obligation_on_allow", "`obligation` belongs to `obligation_on_allow`"),
        ("kind: org_isolation", "kind: org_isolation\n    steps: [[general_manager]]", "kind: org_isolation", "`steps` belongs to `requires_approvals`"),
        ("unless: {purposes: [legal]}", "unless: {}", "unless: {}", "`unless` names no condition"),
        ("when: {levels: [confidential]}", "when: {levels: [secret]}", "levels: [secret]", "unknown level `secret`"),
    ],
)
def test_a_bad_invariant_is_a_policy_error_at_its_line(policy_copy: Path, old: str, new: str, needle: str, message: str) -> None:
    path = policy_copy / "invariants.yaml"
    _edit(path, old, new)
    text = path.read_text(encoding="utf-8")
    assert text.count(needle) == 1, needle
    line = text[: text.index(needle)].count("\n") + 1
    with pytest.raises(zxpolicy.PolicyError) as caught:
        zxpolicy.load(policy_copy)
    shown = [str(p) for p in caught.value.problems]
    assert any(s.startswith(f"invariants.yaml:{line}:") and message in s for s in shown), shown


def test_without_hypothesis_verify_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import zxpolicy.testing

    for name in [m for m in sys.modules if m.startswith("zxpolicy.testing.") and m != "zxpolicy.testing.pytest_plugin"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "hypothesis", None)  # as if it were not installed
    result = run("verify", POLICIES)
    assert result.exit_code == 2
    assert "pip install 'zxpolicy[testing]' (from a checkout: pip install '.[testing]')" in result.stderr
    with pytest.raises(ImportError, match=r"zxpolicy\[testing\]"):
        zxpolicy.testing.requests  # noqa: B018
    import zxpolicy.testing.pytest_plugin  # the plugin itself loads without it

    assert zxpolicy.testing.pytest_plugin.InvariantItem
