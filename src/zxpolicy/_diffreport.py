"""A ``Diff`` for people (Markdown, for a pull-request comment) and for programs (JSON).

The Markdown groups classes that differ only in some dimensions (level, purpose, ...) and have
the same answers into one line; the JSON lists every class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._diff import CHANGED, NARROWED, WIDENED, Answer, Change, Diff, Step
from ._space import GIVEN, OTHER, RequestClass

MARKS = (WIDENED, NARROWED, CHANGED)

_WORDS: dict[str, dict[str, Any]] = {
    "zh": {
        "title": "策略差异", "exact": "精确比较：枚举了 {n:,} 类请求（非抽样）。",
        "none": "无变化：两份策略对全部 {n:,} 类请求的决定相同。",
        WIDENED: "放宽", NARROWED: "收紧", CHANGED: "其他变化",
        "cols": ("操作", "资料类型", "用途", "密级", "角色", "机构", "条件", "之前", "之后", "规则"),
        "allow": "允许", "approvable": "审批后允许", "deny": "拒绝", "any": "任意密级",
        "same_org": "本机构", "ordered": "有序", "obligations": "义务",
        "consent": {"none": "无书面授权", "valid": "有书面授权"},
        "retention": {"running": "保管期未满", "ended": "保管期已满"},
        "absent": "无", GIVEN: "已提供", OTHER: "其他值", "people": "用户", "settings": "设置", "not_in": "（无）",
        "org": {"same": "本机构", "below": "下级机构"},
    },
    "en": {
        "title": "Policy diff", "exact": "Exact: {n:,} request classes enumerated (not sampled).",
        "none": "No change: the two policies decide all {n:,} request classes alike.",
        WIDENED: "widened", NARROWED: "narrowed", CHANGED: "changed",
        "cols": ("action", "kind", "purpose", "level", "roles", "org", "conditions", "before", "after", "rules"),
        "allow": "allowed", "approvable": "allowed after", "deny": "denied", "any": "any level",
        "same_org": "own org", "ordered": "ordered", "obligations": "obligations",
        "consent": {"none": "no consent", "valid": "valid consent"},
        "retention": {"running": "retention running", "ended": "retention ended"},
        "absent": "absent", GIVEN: "given", OTHER: "other value", "people": "Users", "settings": "Settings", "not_in": "(none)",
        "org": {"same": "same org", "below": "resource below"},
    },
}

# The dimensions a group may merge, in the order they are merged.
_MERGED = ("level", "purpose", "evidence", "consent", "retention", "org", "roles")
_DIMS = ("action", "kind", *reversed(_MERGED))


def _dims(c: RequestClass) -> dict[str, Any]:
    return {
        "roles": c.roles, "action": c.action, "kind": c.kind, "purpose": c.purpose, "level": c.level,
        "org": c.org.label, "consent": c.consent, "evidence": c.evidence, "retention": c.retention,
    }


def group(changes: Sequence[Change]) -> list[tuple[Change, dict[str, list[Any]]]]:
    """Changes with the same answers that differ in one dimension at a time, merged: each group
    is a change standing for it and each dimension's values."""
    rows = [(c, {d: [v] for d, v in _dims(c.request).items()}) for c in changes]
    for dim in _MERGED:
        merged: dict[Any, tuple[Change, dict[str, list[Any]]]] = {}
        for change, values in rows:
            key = (change.mark, change.old, change.new, change.rules,
                   tuple(tuple(values[d]) for d in values if d != dim))
            if key in merged:
                merged[key][1][dim].extend(v for v in values[dim] if v not in merged[key][1][dim])
            else:
                merged[key] = (change, {d: list(v) for d, v in values.items()})
        rows = list(merged.values())
    return rows


def _step(s: Step, w: dict[str, Any]) -> str:
    notes = [w[n] for n, on in (("same_org", s.same_org), ("ordered", s.ordered)) if on]
    return "|".join(s.roles) + (f" ({', '.join(notes)})" if notes else "")


def _answer(a: Answer, w: dict[str, Any], obligations: bool) -> str:
    text = str(w[a.status])
    if a.steps:
        text += ": " + "; ".join(f"`{_step(s, w)}`" for s in a.steps)
    if obligations and a.permits:
        text += f" [{w['obligations']}: {', '.join(a.obligations) or '-'}]"
    return text


def _value(v: str | None, w: dict[str, Any]) -> str:
    if v is None:
        return str(w["absent"])
    return str(w[v]) if v in (GIVEN, OTHER) else v


def _conditions(values: dict[str, list[Any]], w: dict[str, Any]) -> str:
    parts = []
    shown = [w["consent"][v] for v in values["consent"] if v != "-"]
    if shown:
        parts.append(" / ".join(shown))
    shown = [w["retention"][v] for v in values["retention"] if v != "-"]
    if shown:
        parts.append(" / ".join(shown))
    shapes = [", ".join(f"{k}={_value(v, w)}" for k, v in e) for e in values["evidence"] if e]
    if shapes:
        parts.append(" / ".join(shapes))
    return "; ".join(parts) or "-"


def render_markdown(diff: Diff, old: str, new: str, lang: str, levels: Sequence[str]) -> str:
    w = _WORDS[lang]
    counts = diff.marks
    lines = [f"### {w['title']}: `{old}` → `{new}`", ""]
    if not diff.changes and not diff.people and not diff.settings:
        return "\n".join([*lines, w["none"].format(n=diff.classes), ""])
    lines += [w["exact"].format(n=diff.classes), "",
              " · ".join(f"**{w[m]} {counts[m]}**" for m in MARKS), ""]
    rows = group(diff.changes)
    for mark in MARKS:
        mine = [r for r in rows if r[0].mark == mark]
        if not mine:
            continue
        head = mark.upper() if lang == "en" else f"{w[mark]}（{mark.upper()}）"
        lines += [f"#### {head}", "", "| " + " | ".join(w["cols"]) + " |",
                  "|" + "---|" * len(w["cols"])]
        for change, v in mine:
            level = w["any"] if sorted(v["level"]) == sorted(levels) else ", ".join(v["level"])
            org = ", ".join(w["org"].get(o, f"`{o}`") for o in v["org"])
            ob = change.old.obligations != change.new.obligations
            cells = [
                f"`{change.request.action}`", f"`{change.request.kind}`", ", ".join(f"`{p}`" for p in v["purpose"]),
                level, ", ".join(f"`{'+'.join(r)}`" for r in v["roles"]), org, _conditions(v, w),
                _answer(change.old, w, ob), _answer(change.new, w, ob), ", ".join(change.rules) or "-",
            ]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    if diff.people:
        lines += [f"#### {w['people']}", ""]
        for p in diff.people:
            before = f"{'+'.join(p.old[0])} @ {p.old[1]}" if p.old else w["not_in"]
            after = f"{'+'.join(p.new[0])} @ {p.new[1]}" if p.new else w["not_in"]
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


def to_json(diff: Diff, old: str, new: str) -> dict[str, Any]:
    return {
        "old": old, "new": new, "exact": True, "classes": diff.classes,
        "counts": {m: diff.marks[m] for m in MARKS},
        "changes": [
            {
                "mark": c.mark, "roles": list(c.request.roles), "action": c.request.action, "kind": c.request.kind,
                "purpose": c.request.purpose, "level": c.request.level, "org": c.request.org.label,
                "subject_org": c.request.org.subject_org, "resource_org": c.request.org.resource_org,
                "consent": c.request.consent, "evidence": dict(c.request.evidence), "retention": c.request.retention,
                "old": _answer_dict(c.old), "new": _answer_dict(c.new), "rules": list(c.rules),
            }
            for c in diff.changes
        ],
        "people": [
            {"id": p.id, "mark": p.mark,
             "old": {"roles": list(p.old[0]), "org": p.old[1]} if p.old else None,
             "new": {"roles": list(p.new[0]), "org": p.new[1]} if p.new else None}
            for p in diff.people
        ],
        "settings": [{"name": n, "old": a, "new": b, "mark": m} for n, a, b, m in diff.settings],
    }
