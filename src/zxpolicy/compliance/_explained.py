"""An explanation for people: the words of each stage, what a stage's target is in the policy,
and what a denied request still needs. ``zxpolicy explain`` prints them; the console draws them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..decide import Explanation
from ..policy import PolicyDocument, Step

__all__ = ["OBTAINABLE", "STAGE_NAMES", "StillNeeded", "still_needed", "target_label"]

STAGE_NAMES = {
    "request": ("请求", "request"),
    "subject": ("用户", "subject"),
    "purpose": ("用途", "purpose"),
    "grant": ("授权", "grant"),
    "org_scope": ("机构范围", "org scope"),
    "consent": ("书面授权", "consent"),
    "evidence": ("证据", "evidence"),
    "retention": ("保管期", "retention"),
    "approval": ("审批", "approval"),
    "classification": ("密级审批", "classification"),
}

# Stages a person can satisfy by bringing something; the others need a change of role, org or account.
OBTAINABLE = ("consent", "evidence", "retention", "approval", "classification")


@dataclass(frozen=True)
class StillNeeded:
    """What a denied request lacks: what can be brought (consent, evidence, approvals, ...), in
    words, and the stages that bringing more does not solve (their names, in words)."""

    needs: tuple[str, ...]
    blockers: tuple[str, ...]


def still_needed(explanation: Explanation, doc: PolicyDocument, lang: str) -> StillNeeded:
    """What ``explanation``'s request still needs, in ``lang`` (nothing for an allowed one)."""
    d = explanation.decision
    if d.allowed:
        return StillNeeded((), ())
    zh = lang != "en"
    pick = 0 if zh else 1
    labels = {r.id: (r.zh, r.en) for r in doc.roles}
    needs: list[str] = []
    for stage in explanation.stages:
        if stage.passed or stage.name not in ("consent", "evidence", "retention"):
            continue
        needs.extend(r.message if zh else r.message_en for r in stage.reasons)
    for step in d.missing_approvals:
        needs.append(("审批：" if zh else "an approval by ") + ("或" if zh else " or ").join(labels.get(x, (x, x))[pick] for x in step))
    blockers = [STAGE_NAMES.get(s.name, (s.name, s.name))[pick] for s in explanation.stages
                if not s.passed and s.name not in OBTAINABLE]
    return StillNeeded(tuple(needs), tuple(blockers))


_STEP = re.compile(r"^(?:approvals\[(\d+)\]\.steps|purposes\[(\d+)\]\.approvals\.steps|classification\.steps\.([a-z0-9_-]+))\[(\d+)\]$")
_GRANT = re.compile(r"^grants\[(\d+)\]$")


def target_label(name: str, target: str, doc: PolicyDocument, lang: str) -> str:
    """What a stage's target is, in words: the roles of a step, the rule of a grant, an org."""
    pick = 0 if lang != "en" else 1
    if name in ("org_scope", "purpose"):
        section = doc.orgs if name == "org_scope" else doc.purposes
        named = {x.id: (x.zh, x.en) for x in section if x.id == target}
        return named[target][pick] if target in named else ""
    try:
        grant = _GRANT.match(target)
        if grant:
            return doc.grants[int(grant.group(1))].rule
        m = _STEP.match(target)
        if not m:
            return ""
        n = int(m.group(4))
        step: Step
        if m.group(1) is not None:
            step = doc.approvals[int(m.group(1))].steps[n]
        elif m.group(2) is not None:
            chain = doc.purposes[int(m.group(2))].approvals
            if chain is None:
                return ""
            step = chain.steps[n]
        else:
            step = doc.classification.steps[m.group(3)][n]
        labels = {r.id: (r.zh, r.en) for r in doc.roles}
        return ("或" if pick == 0 else " or ").join(labels.get(x, (x, x))[pick] for x in step.roles)
    except (IndexError, KeyError):  # a path that does not resolve: show it bare
        return ""
