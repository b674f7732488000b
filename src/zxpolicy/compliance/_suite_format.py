"""The format of a test suite file, as pydantic models (see ``_suite`` for what they mean).

Every field a case may take from a fixture is optional here; what is still missing once the
fixture and the case's overrides are merged is reported by ``_suite``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from ..policy import Code, Id, PolicyDocument, RuleId, Text, editor_schema


def _iso(value: object) -> object:
    # YAML reads an unquoted time as a datetime; keep every time as the text the engine reads.
    return value.isoformat() if isinstance(value, datetime) else value


def _named(value: object) -> object:
    # A bare name stands for a fixture (or, for a subject, an id of the assignments).
    return {"use": value} if isinstance(value, str) else value


Time = Annotated[Text, BeforeValidator(_iso)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SubjectIn(_Model):
    use: Text | None = None
    id: Text | None = None
    roles: list[Text] | None = None
    org: Text | None = None
    status: Text | None = None
    password_changed_at: Time | None = None
    must_change_password: bool | None = None


class ResourceIn(_Model):
    use: Text | None = None
    id: Text | None = None
    kind: Text | None = None
    level: Text | None = None
    org: Text | None = None
    customer_id: Text | None = None
    retention_until: Time | None = None


class ConsentIn(_Model):
    use: Text | None = None
    customer_id: Text | None = None
    purposes: list[Text] | None = None
    signed_at: Time | None = None
    expires_at: Time | None = None
    revoked: bool | None = None
    id: Text | None = None


class ApprovalIn(_Model):
    use: Text | None = None
    approver: SubjectIn | None = None
    role: Text | None = None
    at: Time | None = None
    resource_id: Text | None = None
    action: Text | None = None

    _named_approver = field_validator("approver", mode="before")(_named)


class Expect(_Model):
    allowed: bool
    codes: list[Code] | None = None  # each must be among the decision's reason codes
    rules: list[RuleId] | None = None  # each must be among the decision's rule ids
    missing_approvals: list[list[Id]] | None = None  # exactly these steps, in order
    obligations: list[Code] | None = None  # exactly these (in any order)


class Case(_Model):
    name: Text
    subject: SubjectIn
    resource: ResourceIn
    purpose: Text
    action: Text | None = None
    consent: ConsentIn | None = None
    approvals: list[ApprovalIn] = []
    evidence: dict[Text, str] | None = None
    at: Time | None = None
    expect: Expect

    _named_fields = field_validator("subject", "resource", "consent", mode="before")(_named)
    _named_approvals = field_validator("approvals", mode="before")(
        lambda v: [_named(x) for x in v] if isinstance(v, list) else v
    )


class Fixtures(_Model):
    subjects: dict[Text, SubjectIn] = {}
    resources: dict[Text, ResourceIn] = {}
    consents: dict[Text, ConsentIn] = {}
    approvals: dict[Text, ApprovalIn] = {}


class SuiteFile(_Model):
    name: Text | None = None
    at: Time | None = None  # required in a suite, absent in fixtures.yaml
    fixtures: Fixtures = Fixtures()
    cases: Annotated[list[Case], Field(min_length=1)] | None = None


def suite_schema(doc: PolicyDocument | None) -> dict[str, Any]:
    """The JSON Schema of a suite file (and of ``fixtures.yaml``) for editors, with the ids of
    ``doc`` (see ``zxpolicy.policy.editor_schema``)."""
    return editor_schema(SuiteFile, doc, "suite", null=True)  # `customer_id: null` removes a fixture's field
