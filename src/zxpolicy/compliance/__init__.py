"""Stage 4 — the compliance tools: what a policy does, asked by the people who answer for it.

    import zxpolicy
    from zxpolicy import compliance

    engine = zxpolicy.load("policies")
    report = compliance.run_tests(engine)                  # policies/tests/*.yaml, with coverage
    report.ok(min_coverage=100), report.coverage.percent
    compliance.lint(zxpolicy.policy.load_policy("policies"))   # or lint_directory("policies")
    d = compliance.diff_policies(zxpolicy.load("old"), engine)  # every request class, exactly
    d.widened, compliance.render_markdown(d, "old", "new", "zh", levels)
    compliance.who_can(engine, "copy", "credit_report", "loan_review", "confidential")
    compliance.what_can(engine, "u-query-east1")

    _suite_format, _suite   suite files → cases (``SuiteRequest`` + what each expects)
    _suite_run              running cases through ``Engine.explain``; ``run_tests``
    _coverage               which rules, grants, steps and evidence the cases exercised
    _lint                   what a valid policy allows but probably does not mean
    _space, _diff           the request classes of two policies, decided by both
    _diffreport             a diff as Markdown (for a pull request) and as JSON
    _revision               a policy directory at a git revision (``REV:PATH``)
    _reverse                who-can and what-can
    _explained              an explanation for people: stage names, targets, what is still needed

The ``zxpolicy`` command wires its flags to these; nothing here prints.
"""

from .._errors import DiffError, RevisionError, SpaceTooLarge, SuiteError
from ._coverage import ALLOW, DENY, KINDS, OUTCOMES, Coverage, Item, measure
from ._diff import (
    CHANGED,
    MAX_CLASSES,
    NARROWED,
    WIDENED,
    Change,
    Diff,
    PersonChange,
    diff_policies,
)
from ._diffreport import MARKS, diff_to_json, render_markdown
from ._explained import STAGE_NAMES, still_needed, target_label
from ._lint import CODES as LINT_CODES
from ._lint import LintWarning, lint, lint_directory
from ._reverse import (
    Able,
    Blocked,
    Needs,
    Permission,
    RoleAnswer,
    UnknownWord,
    WhatCan,
    WhoCan,
    needs,
    what_can,
    who_can,
)
from ._revision import export_revision
from ._suite import Suite, SuiteCase, SuiteRequest, load_suites, suite_files
from ._suite_format import suite_schema
from ._suite_run import (
    CaseResult,
    Mismatch,
    SuiteReport,
    failure_lines,
    junit_xml,
    run_suites,
    run_tests,
)

__all__ = [
    "ALLOW",
    "CHANGED",
    "DENY",
    "KINDS",
    "LINT_CODES",
    "MARKS",
    "MAX_CLASSES",
    "NARROWED",
    "OUTCOMES",
    "WIDENED",
    "Able",
    "Blocked",
    "CaseResult",
    "Change",
    "Coverage",
    "Diff",
    "DiffError",
    "Item",
    "LintWarning",
    "Mismatch",
    "Needs",
    "Permission",
    "PersonChange",
    "RevisionError",
    "RoleAnswer",
    "STAGE_NAMES",
    "SpaceTooLarge",
    "Suite",
    "SuiteCase",
    "SuiteError",
    "SuiteReport",
    "SuiteRequest",
    "UnknownWord",
    "WhatCan",
    "WhoCan",
    "diff_policies",
    "diff_to_json",
    "export_revision",
    "failure_lines",
    "junit_xml",
    "lint",
    "lint_directory",
    "load_suites",
    "measure",
    "needs",
    "render_markdown",
    "run_suites",
    "run_tests",
    "still_needed",
    "suite_files",
    "suite_schema",
    "target_label",
    "what_can",
    "who_can",
]
