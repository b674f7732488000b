"""A ``Diff`` for people (Markdown, for a pull-request comment) and for programs (JSON).

The Markdown groups classes that differ only in some dimensions (level, purpose, ...) and have
the same answers into one line; the JSON lists every class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..policy import Labels
from ._diff import CHANGED, NARROWED, WIDENED, Answer, Change, Diff, Step
from ._space import GIVEN, OTHER, RequestClass

MARKS = (WIDENED, NARROWED, CHANGED)

_WORDS: dict[str, dict[str, Any]] = {
    "zh": {
        "lang": "zh", "title": "策略差异", "exact": "精确比较：枚举了 {n:,} 类请求（非抽样）。下列计数为请求类数；表中一行合并只在一个维度上不同的若干类。",
        "none": "无变化：两份策略对全部 {n:,} 类请求的决定相同。",
        WIDENED: "放宽", NARROWED: "收紧", CHANGED: "其他变化",
        "cols": ("操作", "资料类型", "用途（条件）", "密级", "角色", "机构", "变化", "规则"),
        "reordered": "审批环节顺序改变", "cited": "引用规则",
        "allow": "允许", "approvable": "经审批允许", "deny": "拒绝", "any": "任意密级",
        "same_org": "本机构", "ordered": "有序", "obligations": "义务",
        "consent": {"none": "无书面授权", "valid": "有书面授权"},
        "retention": {"running": "保管期未满", "ended": "保管期已满"},
        "absent": "无", GIVEN: "已提供", OTHER: "其他值", "people": "用户", "settings": "设置", "not_in": "（无）",
        "org": {"same": "本机构", "below": "下级机构"},
        "left_out": "另有 {n:,} 类请求的角色组合无人持有，未列出；用 --all-role-sets 查看。",
        "left_out_widened": "其中 {n:,} 类放宽，已计入放宽。",
    },
    "en": {
        "lang": "en", "title": "Policy diff", "exact": "Exact: {n:,} request classes enumerated (not sampled). The counts are of classes; a table row merges classes that differ in one dimension only.",
        "none": "No change: the two policies decide all {n:,} request classes alike.",
        WIDENED: "widened", NARROWED: "narrowed", CHANGED: "changed",
        "cols": ("action", "kind", "purpose (conditions)", "level", "roles", "org", "change", "rules"),
        "reordered": "steps reordered", "cited": "rules cited",
        "allow": "allowed", "approvable": "allowed with approvals", "deny": "denied", "any": "any level",
        "same_org": "own org", "ordered": "ordered", "obligations": "obligations",
        "consent": {"none": "no consent", "valid": "valid consent"},
        "retention": {"running": "retention running", "ended": "retention ended"},
        "absent": "absent", GIVEN: "given", OTHER: "other value", "people": "Users", "settings": "Settings", "not_in": "(none)",
        "org": {"same": "same org", "below": "resource below"},
        "left_out": "{n:,} more classes are of role sets no one holds and are not listed; --all-role-sets shows them.",
        "left_out_widened": "{n:,} of them widened, and count as widened.",
    },
}

# The dimensions a group may merge, in the order they are merged. A purpose goes with the
# conditions (consent, evidence, retention) of its class: they depend on it.
_MERGED = ("level", "purpose", "kind", "org", "roles")


def _dims(c: RequestClass) -> dict[str, Any]:
    return {
        "action": c.action, "kind": c.kind, "purpose": (c.purpose, c.consent, c.evidence, c.retention),
        "level": c.level, "org": c.org.label, "roles": c.roles,
    }


def group(changes: Sequence[Change], what: Callable[[Change], str]) -> list[tuple[Change, dict[str, list[Any]]]]:
    """Changes of one mark, with the same ``what`` and rules, that differ in one dimension at a
    time, merged: each group is a change standing for it and each dimension's values."""
    rows = [(c, {d: [v] for d, v in _dims(c.request).items()}) for c in changes]
    for dim in _MERGED:
        merged: dict[Any, tuple[Change, dict[str, list[Any]]]] = {}
        for change, values in rows:
            key = (change.mark, what(change), change.rules, tuple(tuple(values[d]) for d in values if d != dim))
            if key in merged:
                merged[key][1][dim].extend(v for v in values[dim] if v not in merged[key][1][dim])
            else:
                merged[key] = (change, {d: list(v) for d, v in values.items()})
        rows = list(merged.values())
    return rows


def _step(s: Step, w: dict[str, Any]) -> str:
    notes = [w[n] for n, on in (("same_org", s.same_org), ("ordered", s.ordered)) if on]
    labels: Labels = w.get("labels", Labels())
    roles = "|".join(labels.name("roles", r, w["lang"]) for r in s.roles)
    return roles + (f" ({', '.join(notes)})" if notes else "")


def _what(c: Change, w: dict[str, Any]) -> str:
    """What changed, in words: the status, else the steps added (+) and removed (−), else the
    obligations, else the rules cited."""
    a, b = c.old, c.new
    if a.permits != b.permits:
        steps = "; ".join(_step(s, w) for s in b.steps)
        return f"{w[a.status]} → {w[b.status]}" + (f": {steps}" if steps else "")
    if a.steps != b.steps:
        added = _minus(b.steps, a.steps)
        removed = _minus(a.steps, b.steps)
        parts = [f"+ {_step(s, w)}" for s in added] + [f"− {_step(s, w)}" for s in removed]
        return "; ".join(parts) or w["reordered"]
    if a.obligations != b.obligations:
        return f"{w['obligations']}: {', '.join(a.obligations) or '-'} → {', '.join(b.obligations) or '-'}"
    return f"{w['cited']}: {_cited(a)} → {_cited(b)}"


def _minus(a: tuple[Step, ...], b: tuple[Step, ...]) -> list[Step]:
    left = list(b)
    out = []
    for s in a:
        if s in left:
            left.remove(s)
        else:
            out.append(s)
    return out


def _cited(a: Answer) -> str:
    return ", ".join(sorted({rule for _, rule in a.reasons})) or "-"


def _value(v: str | None, w: dict[str, Any]) -> str:
    if v is None:
        return str(w["absent"])
    return str(w[v]) if v in (GIVEN, OTHER) else v


def _purpose(value: tuple[str, str, tuple[tuple[str, str | None], ...], str], w: dict[str, Any]) -> str:
    purpose, consent, evidence, retention = value
    conditions = [w["consent"][consent]] if consent != "-" else []
    conditions += [w["retention"][retention]] if retention != "-" else []
    conditions += [f"{k}={_value(v, w)}" for k, v in evidence]
    return f"`{purpose}`" + (f" ({', '.join(conditions)})" if conditions else "")


def _roles(roles: Sequence[str], diff: Diff, lang: str) -> str:
    return "+".join(diff.labels.name("roles", r, lang) for r in roles)


def render_markdown(diff: Diff, old: str, new: str, lang: str, levels: Sequence[str], all_role_sets: bool = False) -> str:
    """The diff for a review; only the classes of role sets someone holds unless ``all_role_sets``
    (the others are counted, and their widenings are in the counts)."""
    w = {**_WORDS[lang], "labels": diff.labels, "lang": lang}
    counts = diff.marks
    lines = [f"### {w['title']}: `{old}` → `{new}`", ""]
    if not diff.changes and not diff.people and not diff.settings:
        return "\n".join([*lines, w["none"].format(n=diff.classes), ""])
    lines += [w["exact"].format(n=diff.classes), "",
              " · ".join(f"**{w[m]} {counts[m]}**" for m in MARKS), ""]
    hidden = diff.left_out(all_role_sets)
    if hidden:
        lines.append(w["left_out"].format(n=len(hidden)))
        wide = sum(1 for c in hidden if c.mark == WIDENED)
        if wide:
            lines.append(f"**{w['left_out_widened'].format(n=wide)}**")
        lines.append("")
    shown = diff.shown(all_role_sets)
    for mark in MARKS:
        mine = group([c for c in shown if c.mark == mark], lambda c: _what(c, w))
        if not mine:
            continue
        head = mark.upper() if lang == "en" else f"{w[mark]}（{mark.upper()}）"
        lines += [f"#### {head}", "", "| " + " | ".join(w["cols"]) + " |", "|" + "---|" * len(w["cols"])]
        for change, v in mine:
            level = w["any"] if sorted(v["level"]) == sorted(levels) else ", ".join(v["level"])
            cells = [
                f"`{change.request.action}`", ", ".join(f"`{k}`" for k in v["kind"]),
                ", ".join(_purpose(p, w) for p in v["purpose"]), level,
                ", ".join(_roles(r, diff, lang) for r in v["roles"]),
                ", ".join(w["org"].get(o, f"`{o}`") for o in v["org"]),
                _what(change, w), ", ".join(change.rules) or "-",
            ]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    if diff.people:
        lines += [f"#### {w['people']}", ""]
        for p in diff.people:
            before = f"{_roles(p.old[0], diff, lang)} @ {diff.labels.name('orgs', p.old[1], lang)}" if p.old else w["not_in"]
            after = f"{_roles(p.new[0], diff, lang)} @ {diff.labels.name('orgs', p.new[1], lang)}" if p.new else w["not_in"]
            lines.append(f"- **{w[p.mark]}** `{p.id}`: {before} → {after}")
        lines.append("")
    if diff.settings:
        lines += [f"#### {w['settings']}", ""]
        lines += [f"- **{w[mark]}** `{name}`: {a} → {b}" for name, a, b, mark in diff.settings]
    return "\n".join(lines).rstrip() + "\n"


def _answer_dict(a: Answer) -> dict[str, Any]:
    return {
        "status": a.status,
        "steps": [{"roles": list(s.roles), "same_org": s.same_org, "ordered": s.ordered} for s in a.steps],
        "obligations": list(a.obligations),
        "reasons": [{"code": code, "rule": rule} for code, rule in a.reasons],
    }


def diff_to_json(diff: Diff, old: str, new: str, all_role_sets: bool = False) -> dict[str, Any]:
    """Every class listed (with ``all_role_sets``) or those of held role sets; ``counts`` and
    ``widened`` are over all of them, ``left_out`` counts the classes not listed, by mark."""
    hidden = diff.left_out(all_role_sets)
    return {
        "old": old, "new": new, "exact": True, "classes": diff.classes,
        "counts": {m: diff.marks[m] for m in MARKS},
        "widened": diff.widened,
        "all_role_sets": all_role_sets,
        "left_out": {m: sum(1 for c in hidden if c.mark == m) for m in MARKS},
        "changes": [
            {
                "mark": c.mark, "roles": list(c.request.roles), "action": c.request.action, "kind": c.request.kind,
                "purpose": c.request.purpose, "level": c.request.level, "org": c.request.org.label,
                "subject_org": c.request.org.subject_org, "resource_org": c.request.org.resource_org,
                "consent": c.request.consent, "evidence": dict(c.request.evidence), "retention": c.request.retention,
                "old": _answer_dict(c.old), "new": _answer_dict(c.new), "rules": list(c.rules),
            }
            for c in diff.shown(all_role_sets)
        ],
        "people": [
            {"id": p.id, "mark": p.mark,
             "old": {"roles": list(p.old[0]), "org": p.old[1]} if p.old else None,
             "new": {"roles": list(p.new[0]), "org": p.new[1]} if p.new else None}
            for p in diff.people
        ],
        "settings": [{"name": n, "old": a, "new": b, "mark": m} for n, a, b, m in diff.settings],
    }
