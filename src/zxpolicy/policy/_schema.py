"""The shape of the policy files, as pydantic models.

This module checks each entry on its own (types, required fields, unknown keys). What entries say
about each other (an unknown role in a chain, a duplicate id, a cycle in the org tree) is checked
in ``_crosscheck``.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$")]
RuleId = Annotated[str, StringConstraints(pattern=r"^[A-Z]-[0-9]{2}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
Text = Annotated[str, StringConstraints(min_length=1)]
Ids = Annotated[list[Id], Field(min_length=1)]

# Approval steps one request may need in all (its action's chain, its purpose's, its level's), and
# in one ordered chain: enough for any real chain, and a bound on the work of filling them.
MAX_STEPS = 6
MAX_ORDERED_STEPS = 4

# The engine's built-in checks; each is bound to one rule in rules.yaml.
CHECKS = ("deny_by_default", "purpose", "grant", "org_scope", "password", "status", "level")


class _Model(BaseModel):
    # strict: YAML's `yes`/`no` and bare numbers are not silently taken for strings or booleans.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Named(_Model):
    id: Id
    zh: Text
    en: Text


class Level(_Named):
    pass


class Kind(_Named):
    credit_information: bool


class Action(_Named):
    pass


class ObligationId(_Named):
    id: Code


class Role(_Named):
    pass


class Org(_Named):
    parent: Id | None = None


class Rule(_Model):
    id: RuleId
    clause: Text
    zh: Text
    en: Text
    check: Literal[CHECKS] | None = None  # type: ignore[valid-type]


class MustRecord(_Model):
    actions: Ids | None = None  # None: every action of the vocabulary
    kinds: Ids


class Settings(_Model):
    password_max_age_days: Annotated[int, Field(gt=0, le=3650)]  # at most ten years: a bound, not a choice
    # Where a subject's or an approver's roles and organisation come from (README, "Trust model").
    # `assignments_or_host`: an id in the assignments takes them from there (a host's object may
    # narrow the roles, not add one or move the org: `identity_mismatch`); any other id is taken
    # as the host's object gives it. `assignments_only`: the assignments alone; any other id is
    # `unknown_subject`, and as an approver it fills no step. The one to use for a decision
    # service that many callers share.
    identities: Literal["assignments_or_host", "assignments_only"] = "assignments_or_host"
    # the allowed decisions an engine with a decision log must record; one whose record
    # cannot be written is denied (`log_unavailable`). Each entry is its actions × its kinds
    # (`actions` left out: every action). Left out: every action on a kind marked
    # `credit_information`, and on `user_account`. An allowed decision that carries the
    # obligation `log_query` must be recorded in any case. `[]`: only those.
    must_record: list[MustRecord] | None = None
    # The coverage a publish to a policy store needs from the policy's own suites (tests/*.yaml),
    # in percent: `zxpolicy policy publish` refuses a change whose suites cover less.
    publish_min_coverage: Annotated[float, Field(ge=0, le=100)] = 100


class ConsentRule(_Model):
    rule: RuleId
    clause: Text | None = None
    actions: Ids
    kinds: Ids


class Separation(_Model):
    rule: RuleId
    clause: Text | None = None
    role: Id
    exclusive: bool  # holding it with any other role of the policy denies everything
    bars_credit_information: bool  # it never acts on a kind marked `credit_information`


class ObligationRule(_Model):
    rule: RuleId
    clause: Text | None = None
    id: Code
    actions: Ids
    kinds: Ids


class Message(_Model):
    zh: Text
    en: Text


class Evidence(_Model):
    key: Text
    rule: RuleId | None = None  # defaults to the rule of the entry it belongs to
    clause: Text | None = None
    code: Code
    one_of: Annotated[list[Text], Field(min_length=1)] | None = None


class Step(_Model):
    roles: Ids
    approver_org: Literal["same_or_above", "same"] = "same_or_above"
    when: dict[Text, Text] | None = None


def _steps(value: object) -> object:
    """A step may be written as a bare list of roles."""
    if isinstance(value, list):
        return [{"roles": item} if isinstance(item, list) else item for item in value]
    return value


class Chain(_Model):
    rule: RuleId
    clause: Text | None = None
    ordered: bool
    steps: Annotated[list[Step], Field(min_length=1)]  # no chain at all is said by leaving it out

    _bare_steps = field_validator("steps", mode="before")(_steps)


class Purpose(_Named):
    rule: RuleId
    clause: Text | None = None
    kinds: Ids
    consent: bool
    evidence: list[Evidence] = []
    approvals: Chain | None = None


class Grant(_Model):
    rule: RuleId
    clause: Text | None = None
    roles: Ids
    actions: Ids
    kinds: Ids
    purposes: Ids
    levels: Ids | None = None  # every level when left out


class ActionRule(Chain):
    actions: Ids
    kinds: Ids
    evidence: list[Evidence] = []
    retention_ended: bool = False
    obligations: list[Code] = []


class Exemption(_Model):
    rule: RuleId
    clause: Text | None = None
    role: Id
    actions: Ids


class Classification(_Model):
    rule: RuleId
    clause: Text | None = None
    steps: dict[Id, list[Step]]
    exemptions: list[Exemption] = []

    _bare_steps = field_validator("steps", mode="before")(
        lambda v: {k: _steps(s) for k, s in v.items()} if isinstance(v, dict) else v
    )


class Assignment(_Model):
    id: Text
    roles: list[Id]
    org: Id
    zh: Text | None = None
    en: Text | None = None
    # Who holds the id (an employee or ID number), or the people who share it: optional, read
    # only by `zxpolicy lint` (细则 第十二条: one id per person, one person per id).
    person: Text | Annotated[list[Text], Field(min_length=1)] | None = None


# What `invariants.yaml` may say: properties every request must satisfy, checked by
# `zxpolicy verify` on generated requests (zxpolicy.testing). Each kind is explained there.
INVARIANT_KINDS = (
    "deny_by_default", "never_allowed", "requires_consent", "requires_approvals", "org_isolation",
    "no_self_approval", "one_approver_per_step", "monotone_in_approvals", "monotone_in_level",
    "obligation_on_allow", "reasons_cite_rules", "deterministic",
)


class Match(_Model):
    """Which requests an invariant speaks of; every condition given must hold."""

    roles_include: Id | None = None  # the subject holds this role
    actions: Ids | None = None
    kinds: Ids | None = None
    purposes: Ids | None = None
    levels: Ids | None = None
    credit_information: bool | None = None  # the resource's kind is (or is not) credit information
    subject_status: Literal["active", "suspended"] | None = None
    password_expired: bool | None = None  # older than settings.password_max_age_days, or must be changed
    same_org: bool | None = None  # the resource's organisation is exactly the subject's


class Invariant(_Model):
    id: Annotated[str, StringConstraints(pattern=r"^INV-[0-9]{2,3}$")]
    kind: Literal[INVARIANT_KINDS]  # type: ignore[valid-type]
    clause: Text
    zh: Text
    en: Text
    when: Match | None = None
    unless: Match | None = None
    steps: Annotated[list[Ids], Field(min_length=1)] | None = None  # requires_approvals
    obligation: Code | None = None  # obligation_on_allow


ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class WorkingHours(_Model):
    start: ClockTime
    end: ClockTime
    weekdays: Annotated[list[Annotated[int, Field(ge=1, le=7)]], Field(min_length=1)]  # 1 Monday .. 7 Sunday


class ReportCategory(_Named):
    # how the count is found: `flagged` records of the daily check, `denied` queries with one of
    # `codes`, or `recorded` elsewhere and given when the report is made (see zxpolicy.log)
    source: Literal["flagged", "denied", "recorded"]
    codes: list[Code] = []

    @model_validator(mode="after")
    def _codes_for_denied(self) -> ReportCategory:
        if (self.source == "denied") != bool(self.codes):
            raise ValueError("`codes` is required with `source: denied`, and only there")
        return self


class Reporting(_Model):
    """The daily check (查询日核查) and the monthly report of the decision log."""

    time_zone: Text
    working_hours: WorkingHours
    daily_volume_threshold: Annotated[int, Field(gt=0, le=1_000_000)]  # a user's queries in a day above this
    repeat_threshold: Annotated[int, Field(gt=0, le=1_000_000)]  # one user's queries of one customer in a day above this
    review_purposes: list[Id]  # every query under these is flagged for review
    categories: Annotated[list[ReportCategory], Field(min_length=1)]
    # a query whose claimed time (`at`) is further than this from the time it was written is
    # flagged `backdated` or `future_dated` by the daily check
    clock_tolerance_minutes: Annotated[int, Field(ge=0, le=1440)] = 5

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone `{value}`, e.g. Asia/Shanghai") from None
        return value


# The rights of the compliance console (zxpolicy console), in the order they are shown.
CONSOLE_RIGHTS = ("view", "review", "propose", "approve")


class ConsoleRights(_Model):
    """Which roles hold each right of the console; a right no role is given is held by no one."""

    view: list[Id] = []  # see the policy, its changes and the reports; try a request
    review: list[Id] = []  # the daily check (查询日核查): record outcomes, sign a day off
    propose: list[Id] = []  # propose a change of the policy to the store
    approve: list[Id] = []  # approve or reject another person's proposal


class Console(_Model):
    """Who may do what in the compliance console. A user's roles are those of the assignments."""

    clause: Text | None = None  # the clause of the institution's rules these rights follow
    rights: ConsoleRights


class PolicyDocument(_Model):
    """Every section of a policy, whichever file each stands in.

    Every section is required, even where it may be empty (``approvals: []``): a file left out
    by mistake must not load as "no approvals needed".
    """

    levels: Annotated[list[Level], Field(min_length=1)]
    kinds: Annotated[list[Kind], Field(min_length=1)]
    actions: Annotated[list[Action], Field(min_length=1)]
    obligations: list[ObligationId]
    roles: Annotated[list[Role], Field(min_length=1)]
    orgs: Annotated[list[Org], Field(min_length=1)]
    rules: Annotated[list[Rule], Field(min_length=1)]
    settings: Settings
    consent: ConsentRule
    separations: list[Separation]
    obligation_rules: list[ObligationRule]
    reasons: dict[Code, Message]
    purposes: Annotated[list[Purpose], Field(min_length=1)]
    grants: list[Grant]
    approvals: list[ActionRule]
    classification: Classification
    assignments: list[Assignment]
    invariants: list[Invariant] = []  # optional, so that a policy written before them loads
    reporting: Reporting | None = None  # optional: only the decision log's reports read it
    console: Console | None = None  # optional: only the compliance console reads it


SECTIONS = tuple(PolicyDocument.model_fields)


def grant_rows(doc: PolicyDocument) -> list[tuple[str, str, str, str, str, Grant]]:
    """Every grant spelled out: role, action, kind, purpose, level, and the entry it comes from.

    The one expansion of grants.yaml: the compiled look-up table and the Casbin store (its p rows)
    are both built from it, so that they can be compared.
    """
    levels = [lv.id for lv in doc.levels]
    return [
        (role, action, kind, purpose, level, g)
        for g in doc.grants
        for role in g.roles
        for action in g.actions
        for kind in g.kinds
        for purpose in g.purposes
        for level in g.levels or levels
    ]


def _models_in(annotation: Any) -> list[Any]:
    """What a value of ``annotation`` may be, with ``Annotated``, unions and ``None`` looked
    through: models, ``list[...]`` and ``dict[...]`` types."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) or origin in (list, dict):
        return [annotation]
    return []


def keys_at(model: type[BaseModel], path: tuple[str | int, ...]) -> set[str]:
    """The keys the mapping at ``path`` of a file checked against ``model`` may have (none when
    the path leads to no model), to name the one an unknown key was probably meant to be."""
    here: list[Any] = [model]
    for part in path:
        below: list[Any] = []
        for node in here:
            origin = typing.get_origin(node)
            if origin is list and isinstance(part, int):
                below += _models_in(typing.get_args(node)[0])
            elif origin is dict:
                below += _models_in(typing.get_args(node)[1])
            elif isinstance(node, type) and issubclass(node, BaseModel) and part in node.model_fields:
                below += _models_in(node.model_fields[str(part)].annotation)
        here = below
    return {name for node in here if isinstance(node, type) and issubclass(node, BaseModel) for name in node.model_fields}
