"""Running a suite: each case through ``Engine.explain`` (the decision ``check`` gives), compared
with what the case expects; the results as text for people and as JUnit XML for CI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._diagnostic import localized
from .._errors import PolicyProblem, SuiteError
from ..decide import Decision, Engine, Explanation, Reason
from ._coverage import Coverage, measure
from ._suite import Suite, SuiteCase, load_suites, suite_files


@dataclass(frozen=True)
class Mismatch:
    """One expectation the decision did not meet, in the diagnostic shape (see
    ``zxpolicy._diagnostic``): ``code`` (one per expectation: allowed_mismatch, codes_missing,
    rules_missing, missing_approvals_mismatch, obligations_mismatch), ``message`` (Chinese),
    ``message_en``, ``path`` (the expectation in the case: ``expect.codes``), and the ``expected``
    and ``actual`` values compared. The case's file and line are on its ``CaseResult``."""

    code: str
    message: str
    message_en: str
    path: str
    expected: Any
    actual: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "message": self.message, "message_en": self.message_en, "path": self.path,
            "expected": self.expected, "actual": self.actual,
        }


@dataclass(frozen=True)
class CaseResult:
    case: SuiteCase
    explanation: Explanation
    mismatches: tuple[Mismatch, ...]

    @property
    def passed(self) -> bool:
        return not self.mismatches

    @property
    def decision(self) -> Decision:
        return self.explanation.decision

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.case.file,
            "line": self.case.line,
            "name": self.case.name,
            "passed": self.passed,
            "expected": self.case.expect.model_dump(exclude_none=True),
            "mismatches": [m.to_dict() for m in self.mismatches],
            "decision": self.decision.to_dict(),
        }


@dataclass(frozen=True)
class SuiteReport:
    """What ``run_tests`` found: each case's result, and the coverage of the policy."""

    results: tuple[CaseResult, ...]
    coverage: Coverage

    @property
    def failed(self) -> int:
        return sum(not r.passed for r in self.results)

    @property
    def passed(self) -> int:
        return len(self.results) - self.failed

    def ok(self, min_coverage: float | None = None) -> bool:
        """Every case passed, and coverage reaches ``min_coverage`` (a percentage) if given."""
        return not self.failed and (min_coverage is None or self.coverage.percent >= min_coverage)

    def to_dict(self, min_coverage: float | None = None) -> dict[str, Any]:
        return {
            "passed": self.passed, "failed": self.failed, "ok": self.ok(min_coverage), "min_coverage": min_coverage,
            "cases": [r.to_dict() for r in self.results], "coverage": self.coverage.to_dict(),
        }

    def junit_xml(self, lang: str = "zh") -> str:
        return junit_xml(list(self.results), lang)


def run_tests(engine: Engine, suite: str | Path | None = None) -> SuiteReport:
    """Run a policy's YAML test suites and measure their coverage.

    ``suite`` is a suite file or a folder of them; by default the policy's own ``tests/`` folder.
    Raises ``SuiteError`` when there is no suite or a suite file does not load."""
    where = Path(suite) if suite is not None else engine.policy_dir / "tests"
    paths = suite_files(where) if where.is_dir() else [where] if where.is_file() else []
    if not paths:
        raise SuiteError([PolicyProblem("no_suites", "这里没有测试套件（`*.yaml`）", "no test suites (`*.yaml`) here", str(where))])
    suites = load_suites(paths, engine.document, shown_from=engine.policy_dir)
    results = run_suites(engine, suites)
    coverage = measure(engine.document, ((r.case.request, r.explanation) for r in results))
    return SuiteReport(tuple(results), coverage)


def run_suites(engine: Engine, suites: list[Suite]) -> list[CaseResult]:
    return [run_case(engine, case) for suite in suites for case in suite.cases]


def run_case(engine: Engine, case: SuiteCase) -> CaseResult:
    r = case.request
    explanation = engine.explain(r.subject, r.resource, r.purpose, **r.arguments())
    return CaseResult(case, explanation, tuple(_compare(case, explanation.decision)))


def _compare(case: SuiteCase, d: Decision) -> list[Mismatch]:
    e = case.expect
    out = []
    if e.allowed != d.allowed:
        out.append(_mismatch("allowed", e.allowed, d.allowed))
    rules = [r.rule for r in d.reasons]
    if e.codes is not None and not set(e.codes) <= set(d.codes):
        out.append(_mismatch("codes", e.codes, list(d.codes)))
    if e.rules is not None and not set(e.rules) <= set(rules):
        out.append(_mismatch("rules", e.rules, rules))
    actual_steps = [list(step) for step in d.missing_approvals]
    if e.missing_approvals is not None and [set(s) for s in e.missing_approvals] != [set(s) for s in actual_steps]:
        out.append(_mismatch("missing_approvals", e.missing_approvals, actual_steps))
    if e.obligations is not None and set(e.obligations) != set(d.obligations):
        out.append(_mismatch("obligations", e.obligations, list(d.obligations)))
    return out


def _mismatch(field: str, expected: Any, actual: Any) -> Mismatch:
    """``expected`` against ``actual`` for one field of the case's ``expect``, in both languages."""
    zh = f"{_FIELD_ZH[field]}：期望{_value(field, expected, 'zh')}，实际{_value(field, actual, 'zh')}"
    en = f"{_FIELD_EN[field]}: expected {_value(field, expected, 'en')}, got {_value(field, actual, 'en')}"
    return Mismatch(MISMATCH_CODES[field], zh, en, f"expect.{field}", expected, actual)


# -- words ------------------------------------------------------------------------------------

# The code of a mismatch, by the field of ``expect`` it is about. ``codes`` and ``rules`` must be
# included in the decision's (so a failure is that some are missing); the others must be equal.
MISMATCH_CODES = {
    "allowed": "allowed_mismatch",
    "codes": "codes_missing",
    "rules": "rules_missing",
    "missing_approvals": "missing_approvals_mismatch",
    "obligations": "obligations_mismatch",
}

_FIELD_ZH = {
    "allowed": "决定",
    "codes": "原因代码（须包含）",
    "rules": "规则（须包含）",
    "missing_approvals": "尚缺审批",
    "obligations": "须履行义务",
}
_FIELD_EN = {
    "allowed": "decision",
    "codes": "reason codes (must include)",
    "rules": "rules (must include)",
    "missing_approvals": "missing approvals",
    "obligations": "obligations",
}


def _value(field: str, value: Any, lang: str) -> str:
    if field == "allowed":
        return ("允许" if value else "拒绝") if lang == "zh" else ("allowed" if value else "denied")
    if field == "missing_approvals":
        return "; ".join((" 或 " if lang == "zh" else " or ").join(f"`{role}`" for role in step) for step in value) or "—"
    return ", ".join(f"`{item}`" for item in value) or "—"


def reason_line(r: Reason, lang: str) -> str:
    return f"{r.rule} {r.code} [{r.clause}] {r.message if lang == 'zh' else r.message_en}"


def failure_lines(result: CaseResult, lang: str) -> list[str]:
    """Each mismatch's message (expected against actual), then the decision's reasons."""
    zh = lang == "zh"
    names = _FIELD_ZH if zh else _FIELD_EN
    lines = [localized(m, lang) for m in result.mismatches]
    d = result.decision
    lines.append(("实际决定：" if zh else "actual decision: ") + _value("allowed", d.allowed, lang))
    mark = "+" if d.allowed else "-"
    lines.extend(f"  {mark} {reason_line(r, lang)}" for r in d.reasons)
    if d.missing_approvals:
        lines.append(f"  {names['missing_approvals']}{'：' if zh else ': '}{_value('missing_approvals', d.missing_approvals, lang)}")
    return lines


def junit_xml(results: list[CaseResult], lang: str) -> str:
    """The results as JUnit XML: one ``testsuite`` per suite file, one ``testcase`` per case."""
    root = ET.Element("testsuites", name="zxpolicy", tests=str(len(results)),
                      failures=str(sum(not r.passed for r in results)))
    by_file: dict[str, list[CaseResult]] = {}
    for r in results:
        by_file.setdefault(r.case.file, []).append(r)
    for file, items in by_file.items():
        suite = ET.SubElement(root, "testsuite", name=file, tests=str(len(items)),
                              failures=str(sum(not r.passed for r in items)))
        for r in items:
            case = ET.SubElement(suite, "testcase", classname=file, name=r.case.name, file=file, line=str(r.case.line))
            if not r.passed:
                first = r.mismatches[0]
                failure = ET.SubElement(case, "failure", message=localized(first, lang), type=first.code)
                failure.text = "\n".join(failure_lines(r, lang))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
