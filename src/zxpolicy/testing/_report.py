"""A verify run for people (text, in Chinese or English) and for CI (JUnit XML)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from .._diagnostic import localized
from ._runner import InvariantResult, VerifyReport


def counterexample(result: InvariantResult) -> str:
    """The requests that break an invariant, each as the JSON ``zxpolicy check`` reads, with
    the decision it got."""
    if result.violation is None:
        return ""
    lines = []
    for request, decision in result.violation.cases:
        verdict = "allowed" if decision.allowed else "denied " + ", ".join(decision.codes)
        lines.append(f"# {verdict}")
        lines.append(json.dumps(request, ensure_ascii=False, indent=2))
    return "\n".join(lines)


def render_text(report: VerifyReport, lang: str = "zh") -> str:
    zh = lang == "zh"
    out = []
    for r in report.results:
        inv = r.invariant
        statement = inv.zh if zh else inv.en
        head = ("通过" if zh else "ok  ") if r.passed else ("失败" if zh else "FAIL")
        counts = (
            f"{r.examples} 个请求，{r.allowed} 个获准，{r.exercised} 个适用"
            if zh
            else f"{r.examples} requests, {r.allowed} allowed, {r.exercised} exercised"
        )
        out.append(f"{head} {inv.id} {inv.kind} [{inv.clause}] {statement} ({counts})")
        if r.violation is not None:
            message = localized(r.violation, lang)
            out.append(f"  {'反例' if zh else 'counterexample'}: {message}")
            out.extend("  " + line for line in counterexample(r).splitlines())
    failed = [r.invariant.id for r in report.results if not r.passed]
    seed = f"seed {report.seed}, max examples {report.max_examples}"
    if zh:
        out.append(f"{len(report.results) - len(failed)}/{len(report.results)} 条不变式成立（{seed}）" + (f"；不成立：{'、'.join(failed)}" if failed else ""))
    else:
        out.append(f"{len(report.results) - len(failed)}/{len(report.results)} invariants hold ({seed})" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return "\n".join(out)


def junit_xml(report: VerifyReport) -> str:
    """One test case per invariant; a failure carries the counterexample."""
    failures = sum(not r.passed for r in report.results)
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites, "testsuite", name="zxpolicy verify", tests=str(len(report.results)), failures=str(failures), errors="0",
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (("policy_dir", report.policy_dir), ("policy_version", report.policy_version),
                        ("seed", str(report.seed)), ("max_examples", str(report.max_examples))):
        ET.SubElement(props, "property", name=name, value=value)
    for r in report.results:
        inv = r.invariant
        case = ET.SubElement(suite, "testcase", classname="zxpolicy.invariants", name=f"{inv.id} {inv.kind}")
        if r.violation is not None:
            failure = ET.SubElement(case, "failure", message=f"{inv.id} [{inv.clause}] {inv.en}: {r.violation.message_en}")
            failure.text = counterexample(r)
    return ET.tostring(suites, encoding="unicode")
