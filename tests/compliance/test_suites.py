"""Policy test suites (`zxpolicy test`): the shipped suite, the runner, the file format, coverage."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import zxpolicy
from zxpolicy.cli import main
from zxpolicy.compliance import (
    ALLOW,
    DENY,
    SuiteError,
    SuiteRequest,
    failure_lines,
    load_suites,
    measure,
    run_suites,
    suite_files,
)
from zxpolicy.compliance._coverage import observe

from ..conftest import POLICIES, REPO

AT = "2026-11-27T10:00:00+08:00"
ENV = "ZXPOLICY_POLICY_DIR"


@pytest.fixture(autouse=True)
def _no_policy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)


@pytest.fixture(scope="module")
def bundled() -> zxpolicy.Engine:
    return zxpolicy.load(POLICIES)


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def suite_dir(tmp_path: Path, text: str, fixtures: str | None = None) -> Path:
    """A folder with one suite file `s.yaml` (and a `fixtures.yaml` if given)."""
    folder = tmp_path / "suites"
    folder.mkdir(exist_ok=True)
    (folder / "s.yaml").write_text(text, encoding="utf-8")
    if fixtures is not None:
        (folder / "fixtures.yaml").write_text(fixtures, encoding="utf-8")
    return folder


def load(engine: zxpolicy.Engine, folder: Path) -> list[SuiteRequest]:
    return [c.request for s in load_suites(suite_files(folder), engine.document) for c in s.cases]


ONE_CASE = f"""\
at: {AT}
fixtures:
  resources:
    report: {{id: rep-1, kind: credit_report, level: ordinary, org: east-1, customer_id: c-1}}
  consents:
    loan: {{customer_id: c-1, purposes: [loan_review], signed_at: 2026-11-01T09:00:00+08:00}}
cases:
  - name: allowed query
    subject: u-query-east1
    resource: report
    purpose: loan_review
    consent: loan
    expect: {{allowed: true, rules: [Q-03, Q-04], obligations: [log_query]}}
"""

WRONG = ONE_CASE + """\
  - name: expects an allow that is a deny
    subject: u-query-east1
    resource: report
    purpose: loan_review
    expect: {allowed: true, missing_approvals: [[general_manager]]}
"""


# -- the shipped suite --------------------------------------------------------------------------


def test_the_shipped_suite_passes_and_covers_every_item_both_ways(bundled: zxpolicy.Engine) -> None:
    suites = load_suites(suite_files(POLICIES / "tests"), bundled.document, shown_from=POLICIES)
    assert [s.file for s in suites] == ["tests/chains.yaml", "tests/classified.yaml", "tests/query.yaml"]
    results = run_suites(bundled, suites)
    assert len(results) >= 100
    assert [(r.case.name, failure_lines(r, "en")) for r in results if not r.passed] == []
    for r in results:  # the suite decides as check does
        q = r.case.request
        assert r.decision == bundled.check(q.subject, q.resource, q.purpose, **q.arguments())
    cov = measure(bundled.document, ((r.case.request, r.explanation) for r in results))
    assert [i.id for i in cov.items if cov.seen.get(i.id) != {ALLOW, DENY}] == []
    assert cov.percent == 100.0


def test_every_rule_of_rules_md_is_an_item_of_coverage(bundled: zxpolicy.Engine) -> None:
    text = (REPO / "docs" / "RULES.md").read_text(encoding="utf-8")
    ids = set(re.findall(r"^\| ([QACR]-\d\d) \|", text, flags=re.M)) | {"R-01"}
    assert len(ids) == 23
    cov = measure(bundled.document, [])
    assert ids == {i.id for i in cov.items if i.kind == "rule"}


def test_cli_runs_the_shipped_suite_at_full_coverage() -> None:
    result = run("test", POLICIES, "--min-coverage", "100", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert re.search(r"\d+ cases: \d+ passed, 0 failed; coverage 100\.0% \((\d+)/\1\)", result.stdout)


# -- running -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lang, words",
    [
        ("zh", ["失败  expects an allow that is a deny  (", "s.yaml:14)", "决定：期望允许，实际拒绝",
                "尚缺审批：期望`general_manager`，实际—", "- Q-04 consent_missing", "缺少客户书面授权"]),
        ("en", ["FAIL  expects an allow that is a deny  (", "s.yaml:14)", "decision: expected allowed, got denied",
                "missing approvals: expected `general_manager`, got —", "the customer's written authorization is missing",
                "2 cases: 1 passed, 1 failed"]),
    ],
)
def test_a_failing_case_prints_expected_against_actual_with_the_reasons(tmp_path: Path, lang: str, words: list[str]) -> None:
    folder = suite_dir(tmp_path, WRONG)
    result = run("test", POLICIES, "--suite", folder, "--lang", lang)
    assert result.exit_code == 1
    for w in words:
        assert w in result.stdout
    assert ("通过  allowed query" if lang == "zh" else "ok    allowed query") in result.stdout


def test_junit_has_one_testcase_per_case_and_a_failure_for_each_failing_one(tmp_path: Path) -> None:
    folder = suite_dir(tmp_path, WRONG)
    report = tmp_path / "report.xml"
    result = run("test", POLICIES, "--suite", folder, "--junit", report, "--lang", "en")
    assert result.exit_code == 1
    root = ET.parse(report).getroot()
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuites", "2", "1")
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["allowed query", "expects an allow that is a deny"]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "decision: expected allowed, got denied"
    assert failure.get("type") == "allowed_mismatch"
    assert "consent_missing" in (failure.text or "") and cases[1].get("line") == "14"


def test_json_gives_each_case_its_mismatches_and_the_coverage(tmp_path: Path) -> None:
    result = run("test", POLICIES, "--suite", suite_dir(tmp_path, WRONG), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["passed"], data["failed"], data["ok"]) == (1, 1, False)
    bad = data["cases"][1]
    assert [(m["code"], m["path"], m["expected"], m["actual"]) for m in bad["mismatches"]] == [
        ("allowed_mismatch", "expect.allowed", True, False),
        ("missing_approvals_mismatch", "expect.missing_approvals", [["general_manager"]], []),
    ]
    assert [(m["message"], m["message_en"]) for m in bad["mismatches"]] == [
        ("决定：期望允许，实际拒绝", "decision: expected allowed, got denied"),
        ("尚缺审批：期望`general_manager`，实际—", "missing approvals: expected `general_manager`, got —"),
    ]
    assert bad["decision"]["reasons"][0]["code"] == "consent_missing"
    assert 0 < data["coverage"]["percent"] < 100 and data["coverage"]["total"] == 102


def test_each_expectation_has_its_mismatch_code(tmp_path: Path, bundled: zxpolicy.Engine) -> None:
    text = WRONG.replace(
        "expect: {allowed: true, missing_approvals: [[general_manager]]}",
        "expect: {allowed: false, codes: [consent_missing, role_conflict], rules: [Q-04, C-01], obligations: [log_query]}",
    )
    (result,) = [r for r in run_suites(bundled, load_suites(suite_files(suite_dir(tmp_path, text)), bundled.document))
                 if not r.passed]
    assert [(m.code, m.path) for m in result.mismatches] == [
        ("codes_missing", "expect.codes"), ("rules_missing", "expect.rules"), ("obligations_mismatch", "expect.obligations"),
    ]
    codes, rules, obligations = result.mismatches
    assert codes.message == "原因代码（须包含）：期望`consent_missing`, `role_conflict`，实际`consent_missing`"
    assert codes.message_en == "reason codes (must include): expected `consent_missing`, `role_conflict`, got `consent_missing`"
    assert (rules.expected, rules.actual) == (["Q-04", "C-01"], ["Q-04"])
    assert obligations.message_en == "obligations: expected `log_query`, got —"
    assert failure_lines(result, "en")[:3] == [codes.message_en, rules.message_en, obligations.message_en]
    assert failure_lines(result, "zh")[:3] == [codes.message, rules.message, obligations.message]


def test_min_coverage_fails_below_the_threshold(tmp_path: Path) -> None:
    folder = suite_dir(tmp_path, ONE_CASE)
    below = run("test", POLICIES, "--suite", folder, "--min-coverage", "50")
    assert below.exit_code == 1 and "覆盖率低于 50%" in below.stdout
    assert run("test", POLICIES, "--suite", folder, "--min-coverage", "10").exit_code == 0
    assert run("test", POLICIES, "--suite", folder).exit_code == 0


def test_coverage_table_marks_each_outcome(tmp_path: Path) -> None:
    result = run("test", POLICIES, "--suite", suite_dir(tmp_path, ONE_CASE), "--coverage", "--lang", "en")
    assert result.exit_code == 0
    assert re.search(r"^  Q-04 +✓ +✗ +the customer's written authorization", result.stdout, flags=re.M)
    assert re.search(r"^  grants\[0\] +✓ +✗ ", result.stdout, flags=re.M)
    assert re.search(r"^  A-01 +✗ +✗ ", result.stdout, flags=re.M)


def test_exit_2_when_there_is_no_suite_or_the_policy_does_not_load(tmp_path: Path, policy_copy: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("test", POLICIES, "--suite", empty).exit_code == 2
    (policy_copy / "grants.yaml").write_text("grants: nope\n", encoding="utf-8")
    assert run("test", policy_copy).exit_code == 2


def test_help_has_an_example() -> None:
    result = run("test", "--help")
    assert result.exit_code == 0 and "Example:" in result.stdout and "--min-coverage" in result.stdout


# -- fixtures and overrides ----------------------------------------------------------------------


def test_fixtures_are_named_used_and_overridden(tmp_path: Path, bundled: zxpolicy.Engine) -> None:
    shared = f"""\
fixtures:
  subjects:
    rm2: {{id: u-rm2, roles: [risk_control_manager], org: hq}}
  approvals:
    rm: {{approver: rm2, role: risk_control_manager, at: {AT}, resource_id: rep-1, action: query}}
"""
    text = f"""\
at: {AT}
fixtures:
  resources:
    report: {{id: rep-1, kind: credit_report, level: ordinary, org: east-1, customer_id: c-1}}
cases:
  - name: overridden
    subject: {{use: u-query-east1, status: suspended}}
    resource: {{use: report, level: confidential, customer_id: null}}
    purpose: loan_review
    approvals: [rm, {{use: rm, approver: u-riskmgr-hq}}]
    at: 2026-11-28T10:00:00+08:00
    expect: {{allowed: false}}
  - name: plain
    subject: u-query-east1
    resource: report
    purpose: loan_review
    action: print
    expect: {{allowed: false}}
"""
    first, second = load(bundled, suite_dir(tmp_path, text, shared))
    assert first.subject == {"id": "u-query-east1", "roles": ["query_operator"], "org": "east-1", "status": "suspended"}
    assert first.resource == {"id": "rep-1", "kind": "credit_report", "level": "confidential", "org": "east-1"}
    assert first.approvals[0]["approver"] == {"id": "u-rm2", "roles": ["risk_control_manager"], "org": "hq"}
    assert first.approvals[1]["approver"] == "u-riskmgr-hq"
    assert first.approvals[1]["at"] == "2026-11-27T10:00:00+08:00"
    assert (first.at, first.action, first.consent) == ("2026-11-28T10:00:00+08:00", "query", None)
    assert (second.subject, second.action, second.at) == ("u-query-east1", "print", AT)


def test_an_unknown_subject_id_is_passed_to_the_engine(tmp_path: Path, bundled: zxpolicy.Engine) -> None:
    text = ONE_CASE.replace("subject: u-query-east1", "subject: u-ghost").replace(
        "{allowed: true, rules: [Q-03, Q-04], obligations: [log_query]}", "{allowed: false, codes: [unknown_subject]}"
    )
    folder = suite_dir(tmp_path, text)
    assert load(bundled, folder)[0].subject == "u-ghost"
    assert run("test", POLICIES, "--suite", folder).exit_code == 0


# -- suite files that do not load ------------------------------------------------------------------

CASE = """\
  - name: c
    subject: u-query-east1
    resource: report
    purpose: loan_review
    consent: loan
    expect: {allowed: true}
"""

BAD = [
    # (what replaces CASE's text, the text on the problem's line, field, part of the message)
    (("resource: report", "resourse: report"), "resourse", "cases[1].resourse", "did you mean `resource`?"),
    (("resource: report", "resource: reprot"), "reprot", "cases[1].resource.use", "no resource fixture `reprot`; did you mean `report`?"),
    (("resource: report", "resource: {id: r, kind: credit_report}"), "{id: r", "cases[1].resource", "missing field `level`"),
    (("resource: report", "resource: {use: report, levle: secret}"), "levle", "cases[1].resource.levle", "unknown key"),
    (("{allowed: true}", "{allowed: false, codes: [consent_mising]}"), "consent_mising", "cases[1].expect.codes[0]", "did you mean `consent_missing`?"),
    (("{allowed: true}", "{allowed: false, rules: [Q-99]}"), "Q-99", "cases[1].expect.rules[0]", "unknown rule id `Q-99`"),
    (("{allowed: true}", "{allowed: false, missing_approvals: [[general_manger]]}"), "general_manger", "missing_approvals[0][0]", "did you mean `general_manager`?"),
    (("{allowed: true}", '{allowed: "yes"}'), '"yes"', "cases[1].expect.allowed", "valid boolean"),
    (("name: c", "name: allowed query"), "allowed query", "cases[1].name", "another case is named"),
    (("subject: u-query-east1", "subject: {use: u-ghost, status: suspended}"), "u-ghost", "cases[1].subject.use", "neither a subject fixture nor an id"),
    (("consent: loan", "consent: {use: loan, signed_at: 2026-11-27}"), "2026-11-27", "cases[1].consent.signed_at", "valid string"),
]


@pytest.mark.parametrize("edit, marker, field, message", BAD, ids=[b[2] + ":" + b[3][:20] for b in BAD])
def test_a_bad_case_is_reported_with_file_line_and_field(
    tmp_path: Path, bundled: zxpolicy.Engine, edit: tuple[str, str], marker: str, field: str, message: str
) -> None:
    text = ONE_CASE + CASE.replace(*edit)
    folder = suite_dir(tmp_path, text)
    with pytest.raises(SuiteError) as caught:
        load(bundled, folder)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if marker in t and n > ONE_CASE.count("\n"))
    assert [(p.file.endswith("s.yaml"), p.line, field in p.path, message in p.message_en) for p in caught.value.problems] == [
        (True, line, True, True)
    ], caught.value.problems
    result = run("test", POLICIES, "--suite", folder)
    assert result.exit_code == 2 and f"s.yaml:{line}:" in result.stderr


@pytest.mark.parametrize(
    "text, shared, where, message",
    [
        (ONE_CASE.replace(f"at: {AT}", "at: 2026-11-27T10:00:00"), None, "s.yaml:1:", "with an offset"),
        (ONE_CASE.replace("cases:", "cases:\n\t- name: x"), None, "s.yaml:8:", "indent with spaces, not tabs"),
        (ONE_CASE.split("cases:")[0], None, "s.yaml:1:", "missing field `cases`"),
        (ONE_CASE, "fixtures:\n  resources:\n    report: {id: r2, kind: credit_report, level: ordinary, org: hq}\n",
         "s.yaml:4:", "fixture `report` is also in `fixtures.yaml`"),
        (ONE_CASE, f"at: {AT}\nfixtures: {{}}\n", "fixtures.yaml:1:", "holds only `fixtures`"),
        (ONE_CASE.replace("    report: {", "    report: {use: x, "), None, "s.yaml:4:", "cannot `use` another"),
    ],
    ids=["naive-at", "tab", "no-cases", "fixture-twice", "fixtures-file-with-at", "fixture-uses"],
)
def test_a_bad_suite_file_is_reported_with_its_line(tmp_path: Path, text: str, shared: str | None, where: str, message: str) -> None:
    result = run("test", POLICIES, "--suite", suite_dir(tmp_path, text, shared), "--json", "--lang", "en")
    assert result.exit_code == 2
    assert any(where in line and message in line for line in result.stderr.splitlines()), result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert any(message in p["message_en"] and p["code"] and p["message"] for p in data["problems"]), data


# -- what coverage counts --------------------------------------------------------------------------


def pairs(engine: zxpolicy.Engine, subject: object, resource: dict[str, object], purpose: str, **kw: object) -> set[tuple[str, str]]:
    kw.setdefault("at", AT)
    request = SuiteRequest(subject, resource, purpose, str(kw.get("action", "query")), kw.get("consent"),  # type: ignore[arg-type]
                      tuple(kw.get("approvals", ())), kw.get("evidence"), str(kw["at"]))  # type: ignore[arg-type]
    return observe(engine.document, request, engine.explain(subject, resource, purpose, **request.arguments()))


REPORT = {"id": "rep-1", "kind": "credit_report", "level": "ordinary", "org": "east-1", "customer_id": "c-1"}
LOAN = {"customer_id": "c-1", "purposes": ["loan_review"], "signed_at": "2026-11-01T09:00:00+08:00"}


def test_a_grant_is_denied_only_when_a_role_lacked_it(bundled: zxpolicy.Engine) -> None:
    assert ("grants[0]", DENY) in pairs(bundled, "u-dispute-east1", REPORT, "loan_review", consent=LOAN)
    no_rule = pairs(bundled, "u-query-east1", {**REPORT, "kind": "customer_archive"}, "loan_review")
    assert ("Q-01", DENY) in no_rule and not any(item.startswith("grants") for item, _ in no_rule)
    allowed = pairs(bundled, "u-query-east1", REPORT, "loan_review", consent=LOAN)
    assert {("grants[0]", ALLOW), ("Q-01", ALLOW), ("Q-04", ALLOW), ("Q-11", ALLOW)} <= allowed
    assert not any(outcome == DENY for _, outcome in allowed)


def test_a_separation_holds_only_for_a_subject_with_its_role(bundled: zxpolicy.Engine) -> None:
    assert ("Q-08", ALLOW) not in pairs(bundled, "u-query-east1", REPORT, "loan_review", consent=LOAN)
    account = {"id": "a-1", "kind": "user_account", "level": "ordinary", "org": "east-1"}
    assert ("Q-08", ALLOW) in pairs(bundled, "u-admin-hq", account, "account_management", action="suspend_user")


def test_passing_checks_count_only_in_an_allowed_case(bundled: zxpolicy.Engine) -> None:
    denied = pairs(bundled, "u-query-east1", REPORT, "loan_review")  # consent missing
    assert denied == {("Q-04", DENY), ("Q-11", DENY)}


def test_the_custodians_exemption_is_denied_where_classification_steps_remain(bundled: zxpolicy.Engine) -> None:
    archive = {"id": "arc-1", "kind": "customer_archive", "level": "confidential", "org": "east-1"}
    borrow = pairs(bundled, "u-custodian-east1", archive, "loan_review", action="borrow")
    assert {("C-02", DENY), ("C-01", DENY), ("classification.steps.confidential[0]", DENY)} <= borrow
    assert ("C-02", DENY) not in pairs(bundled, "u-query-east1", archive, "loan_review", action="borrow")
    assert ("Q-11", DENY) not in borrow  # log_query is about queries and prints of reports


def test_a_suite_without_some_cases_is_below_full_coverage(bundled: zxpolicy.Engine) -> None:
    suites = load_suites(suite_files(POLICIES / "tests"), bundled.document)
    results = [r for r in run_suites(bundled, suites) if "A-06" not in r.case.name and r.case.request.action != "destroy"]
    cov = measure(bundled.document, ((r.case.request, r.explanation) for r in results))
    assert cov.percent < 100
    assert {"approvals[5].steps[0]", "grants[7]", "A-06"} <= {i.id for i in cov.items if cov.seen.get(i.id) != {ALLOW, DENY}}


# -- the README ------------------------------------------------------------------------------------


def test_the_readme_suite_example_passes_on_the_readme_policy_edit(policy_copy: Path) -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    purpose, grant, suite = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)[:3]
    assert suite.startswith("name: 关联人资信审核")
    for name, block in (("purposes.yaml", purpose), ("grants.yaml", grant)):
        with (policy_copy / name).open("a", encoding="utf-8") as f:
            f.write("\n" + block)
    (policy_copy / "tests" / "related-party.yaml").write_text(suite, encoding="utf-8")
    result = run("test", policy_copy, "--min-coverage", "100", "--json")
    assert result.exit_code == 0, result.stdout
    data = json.loads(result.stdout)
    new = [c for c in data["cases"] if c["file"] == "tests/related-party.yaml"]
    assert len(new) == 3 and all(c["passed"] for c in new)
    grant_item = next(i for i in data["coverage"]["items"] if i["id"] == "grants[10]")
    assert grant_item["allow"] and grant_item["deny"]


def test_a_broken_fixtures_file_is_reported_once_and_not_as_missing_names(tmp_path: Path, bundled: zxpolicy.Engine) -> None:
    text = ONE_CASE.replace("resource: report", "resource: shared-report")
    folder = suite_dir(tmp_path, text, "fixtures:\n  resources:\n    shared-report: {id: r, kind: credit_report\n")
    with pytest.raises(SuiteError) as caught:
        load(bundled, folder)
    assert [(Path(p.file).name, "not valid YAML" in p.message_en) for p in caught.value.problems] == [("fixtures.yaml", True)]
    (folder / "fixtures.yaml").write_text(
        "fixtures:\n  resources:\n    shared-report: {use: report}\n", encoding="utf-8"
    )
    with pytest.raises(SuiteError) as caught:
        load(bundled, folder)
    assert [(Path(p.file).name, p.line, p.path) for p in caught.value.problems] == [
        ("fixtures.yaml", 3, "fixtures.resources.shared-report.use")
    ]


def test_a_junit_file_that_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    result = run("test", POLICIES, "--suite", suite_dir(tmp_path, ONE_CASE), "--junit", tmp_path / "no" / "such" / "r.xml")
    assert result.exit_code == 2 and "--junit" in result.stderr
