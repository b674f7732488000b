"""Stage 3 — deciding: a request and the compiled tables → a ``Decision`` with its reasons.

    _types      the request types a host passes (``Subject``, ``Resource``, ``Consent``, ``Approval``)
    _fields     the request's fields in one table: names, order, defaults, the approvals cap
    _fastread   the fast reader: the plain case only, else it declines
    _request    the full reader: any input, one ``BadField`` per field it cannot read
    _approvals  filling the approval steps with the approvals a request carries
    _wording    the Chinese and English details of reasons
    _decide     ``decide`` and ``requirements``: functions over the tables
    _decision   ``Decision``, ``Stage``, ``Explanation``
    _record     ``LogRecord``: a decision as the engine hands it to a ``DecisionLog``
    _engine     ``Engine``: the facade that holds one compiled policy
"""

from .._diagnostic import Reason
from ._decision import Decision, Explanation, Stage
from ._engine import Engine
from ._fields import (
    DEFAULT_STATUS,
    DEFAULTS,
    FIELD_NAMES,
    KEYWORDS,
    MAX_APPROVALS,
    PART_FIELDS,
    REQUEST_FIELDS,
    REQUIRED,
    SUBJECT_STATUSES,
    RequestField,
)
from ._record import DecisionLog, LogRecord, record_of, utc_text
from ._types import Approval, Consent, Resource, Subject

__all__ = [
    "DEFAULTS",
    "DEFAULT_STATUS",
    "FIELD_NAMES",
    "KEYWORDS",
    "MAX_APPROVALS",
    "PART_FIELDS",
    "REQUEST_FIELDS",
    "REQUIRED",
    "SUBJECT_STATUSES",
    "Approval",
    "Consent",
    "Decision",
    "DecisionLog",
    "Engine",
    "Explanation",
    "LogRecord",
    "Reason",
    "RequestField",
    "Resource",
    "Stage",
    "Subject",
    "record_of",
    "utc_text",
]
