"""A request's fields, in one table: their names, order and defaults, the approvals cap, and the
subject's statuses.

``Engine.check`` and ``Engine.explain`` take the fields as arguments in this order (the first
three by position, the rest by keyword), a batch item and the CLI's JSON as keys, a suite case as
YAML keys; both readers (``_fastread`` and ``_request``) read them. A test holds the signatures of
``check``, ``explain`` and both readers to this table, so a new field is added here first.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Final

from ._types import Approval, Consent, Resource, Subject


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final[Any] = _Required()  # the default of a field that has none


@dataclass(frozen=True, slots=True)
class RequestField:
    name: str
    default: Any  # what a request left without it means; REQUIRED for none
    about: str  # what it holds, in a word


REQUEST_FIELDS: Final = (
    RequestField("subject", REQUIRED, "who asks: a subject id from the assignments, or a Subject"),
    RequestField("resource", REQUIRED, "what is asked for: a Resource"),
    RequestField("purpose", REQUIRED, "why: one of the policy's purposes"),
    RequestField("action", "query", "what is done: one of the policy's actions"),
    RequestField("consent", None, "the customer's written authorization (书面授权), if any"),
    RequestField("approvals", (), "the approvals given, at most MAX_APPROVALS"),
    RequestField("evidence", None, "a mapping of evidence keys to text: legal basis, case id, ..."),
    RequestField("at", None, "the time of the request; None: now"),
)

FIELD_NAMES: Final = tuple(f.name for f in REQUEST_FIELDS)
POSITIONAL: Final = FIELD_NAMES[:3]  # subject, resource, purpose
KEYWORDS: Final = FIELD_NAMES[3:]  # passed to check by keyword
DEFAULTS: Final = {f.name: f.default for f in REQUEST_FIELDS if f.default is not REQUIRED}

# A request may name at most this many approvals: enough for any chain, and a bound on the work
# that matching them to the chain's steps can take.
MAX_APPROVALS: Final = 32

SUBJECT_STATUSES: Final = ("active", "suspended")
DEFAULT_STATUS: Final = "active"  # a subject given by id (assignments carry no account state)

# The fields of each part of a request, as its type declares them (a mapping gives the same keys).
PART_FIELDS: Final[dict[type, tuple[str, ...]]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in (Subject, Resource, Consent, Approval)
}
