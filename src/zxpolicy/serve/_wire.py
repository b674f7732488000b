"""What goes over the wire: the request and response bodies as pydantic models, versioned by name.

``CheckRequestV1`` is the one description of a request's JSON: the body of ``POST /v1/check``
and the file ``zxpolicy check --json`` reads. It says what the engine's reader reads, type by
type — a test holds the two to each other on generated requests — and not the policy's
vocabulary (a level or org the policy does not know reads as a type and is a deny, 200, as the
engine gives it). The OpenAPI document is generated from these models.

The request path does not validate with pydantic: the engine reads the parsed JSON itself, and
only a request it cannot read is validated here, to say in the 400 which fields break the schema.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictStr,
    Tag,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from ..decide import FIELD_NAMES, MAX_APPROVALS, SUBJECT_STATUSES

__all__ = [
    "MAX_BATCH",
    "ApprovalV1",
    "BadFieldV1",
    "BatchRequestV1",
    "BatchResponseV1",
    "CheckRequestV1",
    "ConsentV1",
    "DecisionV1",
    "ExplanationV1",
    "HealthV1",
    "PolicyStatusV1",
    "ProblemV1",
    "ReadyV1",
    "ReasonV1",
    "ReloadV1",
    "ResourceV1",
    "StageV1",
    "SubjectV1",
    "bad_fields",
]

MAX_BATCH = 1000  # requests in one POST /v1/check/batch

_STRICT = ConfigDict(strict=True, extra="forbid")


def _aware_time(value: str) -> str:
    """A time as the engine reads one: ISO 8601 (``datetime.fromisoformat``) with an offset,
    representable in UTC."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("invalid_time", "not an ISO 8601 time: {value}", {"value": value[:60]}) from None
    if when.utcoffset() is None:
        raise PydanticCustomError("naive_time", "a naive time; give a timezone (e.g. +08:00)")
    try:
        when.astimezone(timezone.utc)
    except OverflowError:
        raise PydanticCustomError("time_out_of_range", "out of range in UTC: {value}", {"value": value[:60]}) from None
    return value


Time = Annotated[
    StrictStr,
    AfterValidator(_aware_time),
    Field(
        json_schema_extra={"format": "date-time"},
        description="ISO 8601 with an offset, e.g. 2026-11-27T10:00:00+08:00 / 带时区偏移的 ISO 8601 时间",
    ),
]
Text = Annotated[StrictStr, Field(min_length=1)]  # the engine's "non-empty string"


class SubjectV1(BaseModel):
    """Who asks (or approves), passed whole: an id in the assignments may only narrow its roles."""

    model_config = _STRICT
    id: Text
    roles: list[StrictStr]
    org: Text
    status: Literal[tuple(SUBJECT_STATUSES)] = "active"  # type: ignore[valid-type]
    password_changed_at: Time | None = None
    must_change_password: StrictBool = False


def _subject_form(value: Any) -> str:
    return "id" if isinstance(value, str) else "object"


SubjectRef = Annotated[
    Annotated[StrictStr, Tag("id")] | Annotated[SubjectV1, Tag("object")],
    Discriminator(_subject_form),
]
ApproverRef = Annotated[
    Annotated[Text, Tag("id")] | Annotated[SubjectV1, Tag("object")],
    Discriminator(_subject_form),
]


class ResourceV1(BaseModel):
    """What is asked for. ``level`` is required: a resource of unknown level is never ordinary."""

    model_config = _STRICT
    id: Text
    kind: Text
    level: Text
    org: Text
    customer_id: Text | None = None
    retention_until: Time | None = None


class ConsentV1(BaseModel):
    """The customer's written authorization (书面授权)."""

    model_config = _STRICT
    customer_id: Text
    purposes: list[StrictStr]
    signed_at: Time
    expires_at: Time | None = None
    revoked: StrictBool = False
    id: Text | None = None


class ApprovalV1(BaseModel):
    """One approval: who gave it (an id of the assignments, or a subject), in which role, when,
    for which resource and action."""

    model_config = _STRICT
    approver: ApproverRef
    role: Text
    at: Time
    resource_id: Text
    action: Text


class CheckRequestV1(BaseModel):
    """A request, as ``POST /v1/check`` and ``zxpolicy check --json`` read it (the fields of
    ``check``, see the README's "A request, field by field")."""

    model_config = ConfigDict(strict=True, extra="forbid", title="CheckRequestV1", json_schema_extra={"examples": [{
        "subject": "u-query-east1",
        "resource": {"id": "report-1001", "kind": "credit_report", "level": "ordinary", "org": "east-1", "customer_id": "c-1001"},
        "purpose": "loan_review",
        "action": "query",
        "consent": {"id": "auth-1001", "customer_id": "c-1001", "purposes": ["loan_review"],
                    "signed_at": "2026-11-01T09:00:00+08:00", "expires_at": "2027-11-01T09:00:00+08:00"},
        "at": "2026-11-27T10:00:00+08:00",
    }]})
    subject: SubjectRef = Field(description="a subject id from the assignments, or a subject object")
    resource: ResourceV1
    purpose: StrictStr = Field(description="one of the policy's purposes")
    action: Text = Field("query", description="one of the policy's actions")
    consent: ConsentV1 | None = None
    approvals: list[ApprovalV1] | None = Field(None, max_length=MAX_APPROVALS)
    evidence: dict[StrictStr, StrictStr] | None = Field(
        None, description="legal_basis, case_id, reset_reason, ...; an empty string counts as absent"
    )
    at: Time | None = Field(None, description="the time of the request; absent: the service's clock")


assert tuple(CheckRequestV1.model_fields) == FIELD_NAMES  # one table of fields (decide._fields)


class BatchRequestV1(BaseModel):
    """Up to 1,000 requests, decided by one policy version; one decision per request, in order."""

    model_config = _STRICT
    requests: list[CheckRequestV1] = Field(max_length=MAX_BATCH)


# -- responses ----------------------------------------------------------------------------------


class ReasonV1(BaseModel):
    """Why: one rule that decided."""

    code: str
    rule: str
    clause: str
    message: str = Field(description="Chinese")
    message_en: str


class DecisionV1(BaseModel):
    """``Decision.to_dict()``, with the request's id."""

    decision_id: str = Field(description="a UUIDv7; the id of the decision's log record where a log is kept")
    allowed: bool
    reasons: list[ReasonV1] = Field(description="never empty")
    missing_approvals: list[list[str]] = Field(description="the steps still lacking; each: roles any one of which fills it")
    obligations: list[str]
    policy_version: str
    request_id: str = Field(description="the request's X-Request-Id, echoed, or one made for it")


class DecisionItemV1(BaseModel):
    """``Decision.to_dict()``: one decision of a batch."""

    decision_id: str
    allowed: bool
    reasons: list[ReasonV1]
    missing_approvals: list[list[str]]
    obligations: list[str]
    policy_version: str


class BatchResponseV1(BaseModel):
    request_id: str
    decisions: list[DecisionItemV1] = Field(description="one per request, in the order of the requests")


class StageV1(BaseModel):
    stage: str
    passed: bool
    target: str
    approver: str
    reasons: list[ReasonV1]


class ExplanationV1(DecisionV1):
    """The decision and every stage the request passed through, in order."""

    stages: list[StageV1]


class ProblemItemV1(BaseModel):
    code: str
    message: str
    message_en: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None


class LastFailureV1(BaseModel):
    at: str
    problems: list[ProblemItemV1]


class PolicyStatusV1(BaseModel):
    """The running policy (``LivePolicy.status()``)."""

    version: str
    source: str
    loaded_at: str
    from_cache: bool
    connected: bool
    revision: int | None
    last_failure: LastFailureV1 | None = Field(description="the latest reload that failed; null once one succeeds after it")
    reloads: int
    failed_reloads: int


class ReloadV1(BaseModel):
    reloaded: bool = Field(description="whether the running engine was replaced")
    policy: PolicyStatusV1


class HealthV1(BaseModel):
    status: Literal["ok"]


class ReadyV1(BaseModel):
    ready: bool
    policy_version: str | None
    log: Literal["ok", "unwritable", "none"]
    message: str
    message_en: str


class BadFieldV1(BaseModel):
    """One field that breaks the schema."""

    code: str = Field(description="missing_field, unknown_field, wrong_type, empty_string, too_many_items, not_allowed, invalid_time, ...")
    path: str = Field(description="the field, e.g. approvals[2].at")
    message: str = Field(description="Chinese")
    message_en: str


class ProblemV1(BaseModel):
    """An RFC 9457 problem (``application/problem+json``), in the diagnostic shape: ``code``,
    ``message`` (Chinese), ``message_en``; a bad body lists each bad field."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    message: str
    message_en: str
    request_id: str
    errors: list[BadFieldV1] = Field(default_factory=list)


# -- the 400: pydantic's errors, as bad fields in Chinese and English ---------------------------

# (code, Chinese) by pydantic's error type; the English is pydantic's own message.
_CODES: dict[str, tuple[str, str]] = {
    "missing": ("missing_field", "缺失"),
    "extra_forbidden": ("unknown_field", "未知字段"),
    "string_type": ("wrong_type", "应为字符串"),
    "bool_type": ("wrong_type", "应为 true 或 false"),
    "list_type": ("wrong_type", "应为列表"),
    "dict_type": ("wrong_type", "应为对象"),
    "model_type": ("wrong_type", "应为对象"),
    "model_attributes_type": ("wrong_type", "应为对象"),
    "union_tag_invalid": ("wrong_type", "应为字符串或对象"),
    "union_tag_not_found": ("wrong_type", "应为字符串或对象"),
    "string_too_short": ("empty_string", "应为非空字符串"),
    "too_long": ("too_many_items", "条目过多"),
    "literal_error": ("not_allowed", "取值不在允许范围内"),
    "invalid_time": ("invalid_time", "不是 ISO 8601 时间"),
    "naive_time": ("invalid_time", "时间缺少时区（如 +08:00）"),
    "time_out_of_range": ("invalid_time", "超出可表示的时间范围"),
}
_TAGS = {"id", "object", "str"}  # the branches of a subject's union, not fields


def _path(loc: tuple[int | str, ...], prefix: str) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _TAGS:
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def bad_fields(error: ValidationError, prefix: str = "") -> list[BadFieldV1]:
    """Each error of a validation as a bad field: its path, a code, Chinese and English."""
    out = []
    for e in error.errors(include_url=False, include_input=False)[:100]:
        code, zh = _CODES.get(e["type"], ("invalid_value", "取值无效"))
        loc = tuple(e["loc"])
        if e["type"] == "too_long":
            zh = f"条目过多（最多 {e.get('ctx', {}).get('max_length', '?')} 条）"
        elif code == "invalid_time":
            value = e.get("ctx", {}).get("value")
            if value is not None:
                zh = f"{zh}：`{value}`"
        en = e["msg"]
        if code == "wrong_type" and loc and loc[-1] == "object":  # neither branch of id | object
            zh, en = "应为用户编号（字符串）或用户对象", "expected a subject id (a string) or a subject object"
        out.append(BadFieldV1(code=code, path=_path(loc, prefix), message=zh, message_en=en[:1].lower() + en[1:]))
    return out
