"""JSON Schemas of the policy files and suite files, for editors that check as one types.

Generated from the pydantic models (``model_json_schema``), then made to say what the loader
says: every title and description in Chinese and English (``TEXTS``, one table), an ``enum`` of
the policy's own ids wherever a field names a role, action, kind, level, purpose, org,
obligation, rule or reason code (``ID_FIELDS``), no ``null`` (the loader refuses a key with no
value), the short forms the models accept before validation (a step as a bare list of roles, a
suite's fixture by its bare name), and no unknown top-level key. An editor with the YAML
language server reads the schema named on a file's first line::

    # yaml-language-server: $schema=schema/grants.schema.json

The schema is a help while typing, not the check: ``zxpolicy validate`` is (it also checks
references between files, duplicates, the org tree, ...).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from pydantic import BaseModel

from .._diagnostic import ENGINE_RULE

from ._schema import PolicyDocument

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FOLDER = "schema"  # beside the policy files; a subfolder, so the loader does not read it
SCHEMA_LINE = "# yaml-language-server: $schema="

# The files of a policy as the default policy lays them out, and the sections each holds.
POLICY_FILES: dict[str, tuple[str, ...]] = {
    "vocabulary": ("levels", "kinds", "actions", "obligations", "roles"),
    "orgs": ("orgs",),
    "rules": ("rules", "settings", "consent", "separations", "obligation_rules", "reasons"),
    "purposes": ("purposes",),
    "grants": ("grants",),
    "approvals": ("approvals",),
    "classification": ("classification",),
    "assignments": ("assignments",),
    "invariants": ("invariants",),
    "reporting": ("reporting",),
    "console": ("console",),
}

# Which fields name an id declared by the policy: "Model.field" → what it names. A suite's
# requests may name ids the policy does not have (a case that checks an unknown purpose is
# denied): only what a case expects is bound to the policy's ids.
ID_FIELDS: dict[str, str] = {
    **{f"{m}.rule": "rule" for m in (
        "ConsentRule", "Separation", "ObligationRule", "Evidence", "Chain", "Purpose", "Grant", "ActionRule",
        "Exemption", "Classification",
    )},
    **{f"{m}.actions": "action" for m in (
        "MustRecord", "ConsentRule", "ObligationRule", "Grant", "ActionRule", "Exemption", "Match",
    )},
    **{f"{m}.kinds": "kind" for m in ("MustRecord", "ConsentRule", "ObligationRule", "Purpose", "Grant", "ActionRule", "Match")},
    **{f"{m}.roles": "role" for m in ("Grant", "Step", "Assignment")},
    **{f"{m}.purposes": "purpose" for m in ("Grant", "Match")},
    **{f"{m}.levels": "level" for m in ("Grant", "Match")},
    "Org.parent": "org", "Assignment.org": "org",
    "Separation.role": "role", "Exemption.role": "role", "Match.roles_include": "role",
    "Invariant.steps": "role", "Expect.missing_approvals": "role",
    "ObligationRule.id": "obligation", "ActionRule.obligations": "obligation", "Invariant.obligation": "obligation",
    "Expect.obligations": "obligation",
    "Classification.steps": "level",
    "Reporting.review_purposes": "purpose", "ReportCategory.codes": "reason", "Expect.codes": "reason",
    "Expect.rules": "decision_rule",
    **{f"ConsoleRights.{right}": "role" for right in ("view", "review", "propose", "approve")},
}

# Fields that may be given as a bare name (a fixture's, or a subject's id) instead of a mapping.
BARE_NAMES = frozenset({"Case.subject", "Case.resource", "Case.consent", "Case.approvals", "ApprovalIn.approver"})

# The title (Chinese) and description (Chinese / English) of every model and field: "Model" for
# a model, "Model.field" or, for a field of that name in every model, "field".
TEXTS: dict[str, tuple[str, str]] = {
    # the files
    "policy": ("策略文件", "a policy file: any of the sections"),
    "suite": ("测试套件文件", "a test suite file (tests/*.yaml), or fixtures.yaml"),
    "vocabulary": ("词汇表", "the words every other file uses: levels, kinds, actions, obligations, roles"),
    "orgs": ("机构树", "the org tree"),
    "rules": ("规则目录", "the rule catalogue, settings, consent, separations, obligation rules and reason messages"),
    "purposes": ("查询用途", "the purposes a request may give"),
    "grants": ("授权", "who may ask for what"),
    "approvals": ("审批链", "the approval chains of actions"),
    "classification": ("密级审批", "the steps each level adds, and the exemptions"),
    "assignments": ("用户", "users: id, roles and org"),
    "invariants": ("不变式", "properties every request must satisfy (zxpolicy verify)"),
    "reporting": ("日核查与月报", "the daily check and the monthly report of the decision log"),
    "console": ("合规控制台权限", "who may do what in the compliance console (zxpolicy console)"),
    # the models
    "Level": ("密级", "a classification level"),
    "Kind": ("资料类型", "a kind of resource"),
    "Action": ("操作", "an action"),
    "ObligationId": ("义务", "an obligation an allowed decision may carry"),
    "Role": ("角色", "a role"),
    "Org": ("机构", "an organisation"),
    "Rule": ("规则", "a rule of the catalogue"),
    "Settings": ("设置", "settings"),
    "MustRecord": ("须记录的决定", "allowed decisions that must be recorded: actions × kinds"),
    "ConsentRule": ("书面授权规则", "where the customer's written authorization is needed (Q-04)"),
    "Separation": ("职责分离", "a role that must stand alone (Q-08)"),
    "ObligationRule": ("义务规则", "the obligation of allowed requests of these actions and kinds"),
    "Message": ("提示语", "a message in Chinese and English"),
    "Evidence": ("证明材料", "evidence a request must carry"),
    "Step": ("审批环节", "an approval step: any one of its roles fills it"),
    "Chain": ("审批链", "an approval chain"),
    "Purpose": ("用途", "a purpose"),
    "Grant": ("授权条目", "roles × actions × kinds × purposes (× levels)"),
    "ActionRule": ("审批规则", "the approval chain of some actions on some kinds"),
    "Exemption": ("豁免", "a role exempted from the classification steps for some actions"),
    "Classification": ("密级审批", "the steps each level adds (C-01) and the exemptions (C-02)"),
    "Assignment": ("用户", "a user: id, roles and org"),
    "Match": ("请求条件", "which requests an invariant speaks of; every condition given must hold"),
    "Invariant": ("不变式", "a property every request must satisfy"),
    "WorkingHours": ("工作时间", "working hours"),
    "ReportCategory": ("报告类别", "a category of the monthly report"),
    "Reporting": ("日核查与月报", "the daily check and the monthly report"),
    "Console": ("合规控制台权限", "who may do what in the compliance console; a user's roles are those of the assignments"),
    "ConsoleRights": ("控制台权限", "for each right, the roles that hold it"),
    "SubjectIn": ("请求人", "the subject of a case: a fixture, an id of the assignments, or its fields"),
    "ResourceIn": ("资料", "the resource of a case: a fixture or its fields"),
    "ConsentIn": ("书面授权", "the customer's written authorization: a fixture or its fields"),
    "ApprovalIn": ("审批", "an approval: a fixture or its fields"),
    "Expect": ("预期结果", "what the decision must be"),
    "Case": ("用例", "a test case"),
    "Fixtures": ("夹具", "named subjects, resources, consents and approvals"),
    "SuiteFile": ("测试套件文件", "a test suite file"),
    # the sections
    "levels": ("密级", "classification levels, lowest first"),
    "kinds": ("资料类型", "kinds of resource (ids of vocabulary.yaml `kinds`)"),
    "actions": ("操作", "actions (ids of vocabulary.yaml `actions`)"),
    "obligations": ("义务", "obligations (ids of vocabulary.yaml `obligations`)"),
    "roles": ("角色", "roles (ids of vocabulary.yaml `roles`)"),
    "PolicyDocument.orgs": ("机构", "organisations; `parent` makes the tree"),
    "PolicyDocument.rules": ("规则目录", "the rules: id, clause, title, the built-in check each binds"),
    "settings": ("设置", "settings"),
    "consent": ("书面授权", "whether the customer's written authorization is needed"),
    "PolicyDocument.consent": ("书面授权规则", "where the customer's written authorization is needed (Q-04)"),
    "separations": ("职责分离", "roles that must stand alone (Q-08)"),
    "obligation_rules": ("义务规则", "obligations of allowed requests (Q-11)"),
    "reasons": ("原因提示语", "the message of every reason code, in Chinese and English"),
    "purposes": ("用途", "purposes (ids of purposes.yaml)"),
    "PolicyDocument.purposes": ("查询用途", "the purposes a request may give"),
    "grants": ("授权", "who may ask for what"),
    "approvals": ("审批", "approvals"),
    "PolicyDocument.approvals": ("审批链", "the approval chains of actions"),
    "Purpose.approvals": ("用途的审批链", "the approval chain this purpose needs"),
    "classification": ("密级审批", "the steps each level adds, and the exemptions"),
    "assignments": ("用户", "users: id, roles and org"),
    "invariants": ("不变式", "properties every request must satisfy"),
    "reporting": ("日核查与月报", "the daily check and the monthly report"),
    "PolicyDocument.console": ("合规控制台权限", "who may do what in the compliance console"),
    # fields
    "id": ("编号", "id: lowercase letters, digits, `_` or `-`"),
    "zh": ("中文名称", "label in Chinese"),
    "en": ("英文名称", "label in English"),
    "credit_information": ("是否征信信息", "whether the kind is credit information"),
    "Match.credit_information": ("是否征信信息", "the resource's kind is (or is not) credit information"),
    "parent": ("上级机构", "the parent org (an id of orgs.yaml)"),
    "clause": ("条款", "the clause of the rules this entry follows"),
    "check": ("内置检查", "the built-in check this rule binds"),
    "password_max_age_days": ("密码最长使用天数", "days a password may be used"),
    "publish_min_coverage": ("发布到策略库时测试套件须达到的覆盖率（百分比，默认 100）",
                             "the coverage, in percent, a publish to a policy store needs from the suites (default 100)"),
    "identities": ("身份来源", "where a subject's roles and org come from"),
    "must_record": ("须记录的决定", "allowed decisions that must be written to the decision log"),
    "rule": ("规则编号", "the rule id, like `Q-01` (an id of rules.yaml)"),
    "role": ("角色", "a role (an id of vocabulary.yaml `roles`)"),
    "exclusive": ("排他", "holding this role with any other denies everything"),
    "bars_credit_information": ("不得接触征信信息", "the role never acts on credit information"),
    "key": ("证明材料名", "the name of the evidence in a request"),
    "code": ("原因代码", "the reason code when it is missing (a key of `reasons`)"),
    "one_of": ("可选值", "the values the evidence may have"),
    "approver_org": ("审批人机构", "the approver's org: the applicant's own, or it or one above"),
    "when": ("适用条件", "when this applies"),
    "Step.when": ("环节条件", "the evidence values for which this step is needed"),
    "Invariant.when": ("适用请求", "the requests the invariant speaks of"),
    "ordered": ("是否有序", "whether the steps must be filled in order"),
    "steps": ("审批环节", "the steps: each a list of roles, any one of which fills it"),
    "Classification.steps": ("各密级的审批环节", "for each level (an id of `levels`), the steps it adds"),
    "Invariant.steps": ("审批环节", "the steps the requests must have (requires_approvals)"),
    "evidence": ("证明材料", "evidence a request must carry"),
    "retention_ended": ("保存期已满", "the resource's retention period must have ended"),
    "exemptions": ("豁免", "roles exempted from the classification steps"),
    "org": ("机构", "an org (an id of orgs.yaml)"),
    "person": ("持有人", "who holds the id (an employee or ID number), or the people who share it"),
    "roles_include": ("请求人角色", "the subject holds this role"),
    "subject_status": ("请求人状态", "the subject's status"),
    "password_expired": ("密码已过期", "the subject's password is expired or must be changed"),
    "same_org": ("同一机构", "the resource's org is exactly the subject's"),
    "kind": ("资料类型", "a kind of resource (an id of vocabulary.yaml `kinds`)"),
    "Invariant.kind": ("不变式类型", "what the invariant requires"),
    "unless": ("例外请求", "requests the invariant does not speak of"),
    "obligation": ("义务", "an obligation (an id of vocabulary.yaml `obligations`)"),
    "start": ("开始时刻", "start, like `08:30`"),
    "end": ("结束时刻", "end, like `17:30`"),
    "weekdays": ("工作日", "working days: 1 Monday .. 7 Sunday"),
    "source": ("统计来源", "how the count is found: flagged, denied or recorded"),
    "codes": ("原因代码", "reason codes (keys of `reasons`)"),
    "time_zone": ("时区", "time zone, like Asia/Shanghai"),
    "working_hours": ("工作时间", "working hours"),
    "daily_volume_threshold": ("日查询量阈值", "a user's queries in a day above this are flagged"),
    "repeat_threshold": ("重复查询阈值", "one user's queries of one customer in a day above this are flagged"),
    "review_purposes": ("须复核的用途", "every query under these purposes is flagged for review"),
    "clock_tolerance_minutes": ("时间容差（分钟）", "a query whose claimed time is further than this from the time it was written is flagged back- or future-dated"),
    "categories": ("报告类别", "the categories of the monthly report"),
    "rights": ("权限", "the console's rights: view, review, propose, approve"),
    "ConsoleRights.view": ("查看", "roles that may see the policy, its changes and the reports, and try a request"),
    "ConsoleRights.review": ("日核查", "roles that may record the daily check's outcomes and sign a day off"),
    "ConsoleRights.propose": ("提出变更", "roles that may propose a change of the policy"),
    "ConsoleRights.approve": ("审批变更", "roles that may approve or reject another person's proposal"),
    # suite files
    "name": ("名称", "name"),
    "at": ("时间", "an ISO 8601 time with an offset, like 2026-11-27T10:00:00+08:00"),
    "fixtures": ("夹具", "named subjects, resources, consents and approvals"),
    "cases": ("用例", "the cases"),
    "subjects": ("请求人夹具", "subjects by name"),
    "resources": ("资料夹具", "resources by name"),
    "consents": ("书面授权夹具", "consents by name"),
    "Fixtures.approvals": ("审批夹具", "approvals by name"),
    "Case.approvals": ("审批", "the approvals given with the request"),
    "use": ("使用夹具", "the fixture this starts from"),
    "status": ("状态", "active or suspended"),
    "password_changed_at": ("密码修改时间", "when the password was last changed"),
    "must_change_password": ("须修改密码", "the password must be changed"),
    "level": ("密级", "a level (an id of vocabulary.yaml `levels`)"),
    "customer_id": ("客户编号", "the customer's id"),
    "retention_until": ("保存期限", "the end of the retention period"),
    "signed_at": ("签署时间", "when the authorization was signed"),
    "expires_at": ("到期时间", "when the authorization expires"),
    "revoked": ("已撤销", "the authorization was revoked"),
    "approver": ("审批人", "the approver: a fixture, an id of the assignments, or its fields"),
    "resource_id": ("资料编号", "the id of the resource approved"),
    "action": ("操作", "an action (an id of vocabulary.yaml `actions`)"),
    "allowed": ("是否允许", "whether the request is allowed"),
    "Expect.rules": ("规则编号", "each must be among the decision's rules"),
    "Expect.codes": ("原因代码", "each must be among the decision's reason codes"),
    "missing_approvals": ("缺少的审批环节", "exactly these steps are missing, in order"),
    "Expect.obligations": ("义务", "exactly these obligations"),
    "subject": ("请求人", "the subject"),
    "resource": ("资料", "the resource"),
    "purpose": ("用途", "the purpose (an id of purposes.yaml)"),
    "expect": ("预期结果", "what the decision must be"),
}


def _text(model: str, field: str | None = None) -> tuple[str, str] | None:
    if field is None:
        return TEXTS.get(model)
    return TEXTS.get(f"{model}.{field}") or TEXTS.get(field)


def _describe(schema: dict[str, Any], text: tuple[str, str] | None) -> None:
    if text is not None:
        schema["title"], schema["description"] = text[0], f"{text[0]} / {text[1]}"


def vocabulary(doc: PolicyDocument) -> dict[str, list[str]]:
    """The ids of the policy each kind of id field may name (see ``ID_FIELDS``)."""
    return {
        "level": [x.id for x in doc.levels],
        "kind": [x.id for x in doc.kinds],
        "action": [x.id for x in doc.actions],
        "obligation": [x.id for x in doc.obligations],
        "role": [x.id for x in doc.roles],
        "org": [x.id for x in doc.orgs],
        "purpose": [x.id for x in doc.purposes],
        "rule": [x.id for x in doc.rules],
        "reason": sorted(doc.reasons),
        "decision_rule": [x.id for x in doc.rules] + [ENGINE_RULE],  # what a decision may cite
    }


def editor_schema(
    model: type[BaseModel], doc: PolicyDocument | None, name: str, *, null: bool = False
) -> dict[str, Any]:
    """The JSON Schema of a file checked against ``model`` (``name``: its entry in ``TEXTS``),
    with the ids of ``doc`` as enums (none without ``doc``). ``null``: whether a key may be given
    no value (a suite's override that removes a fixture's field); a policy's may not."""
    raw = model.model_json_schema()
    ids = vocabulary(doc) if doc is not None else {}
    defs: dict[str, Any] = raw.pop("$defs", {})
    defs[model.__name__] = raw
    for def_name, schema in defs.items():
        schema.pop("description", None)  # pydantic's is the docstring: English for programmers
        _describe(schema, _text(def_name))
        for field, prop in schema.get("properties", {}).items():
            key = f"{def_name}.{field}"
            schema["properties"][field] = prop = _tidy(prop, ids.get(ID_FIELDS.get(key, "")), null)
            if key in BARE_NAMES:
                schema["properties"][field] = prop = _bare_name(prop)
            _describe(prop, _text(def_name, field))
    out = {"$schema": DRAFT, **defs.pop(model.__name__), "$defs": defs}
    _describe(out, TEXTS.get(name))
    return out


def _tidy(schema: Any, enum: list[str] | None, null: bool = False) -> Any:
    """A property's schema as the loader reads it: no null (unless ``null``), a mapping's keys
    bound, a step also as a bare list of roles, the ids of ``enum`` where a text names one."""
    if isinstance(schema, list):
        return [_tidy(s, enum, null) for s in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {k: v for k, v in schema.items() if k not in ("default", "title")}
    if "anyOf" in schema:
        kept = [_tidy(s, enum, null) for s in schema["anyOf"] if null or s != {"type": "null"}]
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        return {**rest, **kept[0]} if len(kept) == 1 else {**rest, "anyOf": kept}
    if schema.get("$ref") == "#/$defs/Step":
        return {"anyOf": [{"type": "array", "minItems": 1, "items": _id_text(enum)}, schema]}
    if "patternProperties" in schema:  # dict[Id, ...]: every key a valid id, or one of `enum`
        ((pattern, value),) = schema.pop("patternProperties").items()
        schema["propertyNames"] = {"enum": enum} if enum else {"pattern": pattern}
        schema["additionalProperties"] = _tidy(value, None, null)
        return schema
    if "items" in schema:
        schema["items"] = _tidy(schema["items"], enum, null)
    if schema.get("type") == "string" and enum is not None:
        return {**{k: v for k, v in schema.items() if k != "pattern"}, "enum": enum}
    return schema


def _id_text(enum: list[str] | None) -> dict[str, Any]:
    return {"type": "string", "enum": enum} if enum else {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$"}


def _bare_name(schema: dict[str, Any]) -> dict[str, Any]:
    """A mapping that may also be given by a bare name: ``subject: u-query-east1``."""
    if schema.get("type") == "array":
        return {**schema, "items": _bare_name(schema["items"])}
    return {"anyOf": [{"type": "string", "minLength": 1}, schema]}


def policy_schemas(doc: PolicyDocument | None) -> dict[str, dict[str, Any]]:
    """A schema for each file of ``POLICY_FILES`` (``grants`` → ``grants.schema.json``), and
    ``policy`` for a file of any sections, with the ids of ``doc``."""
    whole = editor_schema(PolicyDocument, doc, "policy")
    whole.pop("required", None)
    out: dict[str, dict[str, Any]] = {}
    for file, sections in POLICY_FILES.items():
        one = copy.deepcopy(whole)
        one["properties"] = {s: one["properties"][s] for s in sections}
        one["required"] = list(sections)
        _describe(one, TEXTS.get(file))
        out[file] = _used_defs_only(one)
    out["policy"] = whole
    return out


def _used_defs_only(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with only the ``$defs`` its properties reach."""
    defs = schema["$defs"]
    used: set[str] = set()
    todo: list[Any] = [schema["properties"]]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] not in used:
                used.add(ref[8:])
                todo.append(defs[ref[8:]])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    schema["$defs"] = {name: value for name, value in defs.items() if name in used}
    return schema


def schema_text(schema: dict[str, Any]) -> str:
    """A schema as written to its file: stable, readable, UTF-8 (the Chinese kept as it is)."""
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def schema_name(name: str) -> str:
    return f"{name}.schema.json"

