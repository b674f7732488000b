"""``zxpolicy test``: run the YAML test suites kept with a policy, and measure their coverage."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .._errors import SuiteError
from ..compliance import KINDS, OUTCOMES, CaseResult, Coverage, failure_lines, run_tests
from . import main
from ._common import (
    EXIT_DENIED,
    EXIT_ERROR,
    echo_json,
    fail,
    json_option,
    lang_option,
    load_engine,
    policy_line,
)


@main.command("test")
@click.argument("directory", required=False, type=click.Path())
@click.option("--suite", "suite", type=click.Path(), help="A suite file, or a folder of them. Default: DIRECTORY/tests.")
@click.option("--coverage", "show_coverage", is_flag=True, help="Print which rules, grants, steps and evidence the cases exercised.")
@click.option("--min-coverage", type=click.FloatRange(0, 100), metavar="PERCENT", help="Fail when coverage is below this.")
@click.option("--junit", type=click.Path(dir_okay=False), metavar="FILE", help="Also write the results as JUnit XML.")
@lang_option
@json_option
def test_command(
    directory: str | None, suite: str | None, show_coverage: bool, min_coverage: float | None,
    junit: str | None, lang: str, as_json: bool,
) -> None:
    """Run a policy's test suites: each case's request against the expected decision.

    DIRECTORY is the policy (default: $ZXPOLICY_POLICY_DIR, else ./policies if it exists, else
    the bundled policy); its suites are DIRECTORY/tests/*.yaml. Exit 0 when every case passes
    (and coverage reaches --min-coverage), 1 when one fails, 2 when the policy or a suite file
    does not load.

    \b
    Example:
      zxpolicy test policies --coverage
      zxpolicy test --min-coverage 100 --junit report.xml --lang en
    """
    engine = load_engine(directory, lang=lang)
    try:
        report = run_tests(engine, suite)
    except SuiteError as exc:
        if as_json:
            echo_json({"ok": False, "problems": [p.to_dict() for p in exc.problems]})
        for problem in exc.problems:
            click.echo(problem.text(lang), err=True)
        click.echo(exc.head(lang), err=True)
        sys.exit(EXIT_ERROR)
    results, cov = list(report.results), report.coverage
    low = min_coverage is not None and cov.percent < min_coverage
    if junit:
        try:
            Path(junit).write_text(report.junit_xml(lang), encoding="utf-8")
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            fail(f"--junit `{junit}`：无法写入（{reason}）", f"--junit `{junit}`: cannot write it ({reason})")
    if as_json:
        echo_json(report.to_dict(min_coverage))
    else:
        click.echo(_report(results, lang))
        if show_coverage:
            click.echo(_table(cov, lang))
        click.echo(_summary(results, cov, lang))
        if low:
            msg = f"覆盖率低于 {min_coverage:g}%" if lang == "zh" else f"coverage is below {min_coverage:g}%"
            click.echo(msg)
        click.echo(policy_line(lang))
    sys.exit(0 if report.ok(min_coverage) else EXIT_DENIED)


def _report(results: list[CaseResult], lang: str) -> str:
    zh = lang == "zh"
    lines: list[str] = []
    file = None
    for r in results:
        if r.case.file != file:
            file = r.case.file
            lines.append(file)
        if r.passed:
            lines.append(f"  {'通过' if zh else 'ok  '}  {r.case.name}")
        else:
            lines.append(f"  {'失败' if zh else 'FAIL'}  {r.case.name}  ({r.case.file}:{r.case.line})")
            lines.extend(f"        {line}" for line in failure_lines(r, lang))
    return "\n".join(lines)


def _summary(results: list[CaseResult], cov: Coverage, lang: str) -> str:
    failed = sum(not r.passed for r in results)
    covered, total = cov.counts()
    if lang == "zh":
        return f"共 {len(results)} 例：通过 {len(results) - failed}，失败 {failed}；覆盖率 {cov.percent:.1f}%（{covered}/{total}）"
    return f"{len(results)} cases: {len(results) - failed} passed, {failed} failed; coverage {cov.percent:.1f}% ({covered}/{total})"


_KIND_WORDS = {
    "rule": ("规则", "rules"),
    "grant": ("授权条目", "grants"),
    "step": ("审批环节", "approval steps"),
    "classification": ("密级审批环节", "classification steps"),
    "evidence": ("证明材料", "evidence"),
}


def _table(cov: Coverage, lang: str) -> str:
    """Per item: was it seen held in an allowed case (allow), failing in a denied one (deny)."""
    pick = 0 if lang == "zh" else 1
    head, col = ("允许 拒绝", 4) if pick == 0 else ("allow deny", 5)  # 允许 is as wide as 4 letters
    lines = []
    for kind in KINDS:
        items = [i for i in cov.items if i.kind == kind]
        if not items:
            continue
        covered, total = cov.counts(kind)
        lines.append(f"{_KIND_WORDS[kind][pick]} ({covered}/{total})")
        width = max(len(i.id) for i in items)
        lines.append(f"  {'':<{width}}  {head}")
        for i in items:
            seen = cov.seen.get(i.id, set())
            marks = " ".join(f"{'✓' if o in seen else '✗':<{col}}" for o in OUTCOMES)
            lines.append(f"  {i.id:<{width}}  {marks} {i.zh if pick == 0 else i.en}")
    return "\n".join(lines)
