"""The request types a host passes to ``check``.

They are plain frozen dataclasses and check nothing when built: the engine reads them (and dicts
of the same fields) when deciding, and denies with ``invalid_request`` what it cannot read.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Approval", "Consent", "Resource", "Subject"]


@dataclass(frozen=True, slots=True)
class Subject:
    """Who asks: an id, the roles held, the organisation, and the account's state."""

    id: str
    roles: Collection[str]
    org: str
    status: str = "active"  # "active" or "suspended"
    password_changed_at: datetime | None = None
    must_change_password: bool = False


@dataclass(frozen=True, slots=True)
class Resource:
    """What is asked for. ``level`` is required: an unknown level is never taken as ordinary."""

    id: str
    kind: str
    level: str
    org: str
    customer_id: str | None = None
    retention_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Consent:
    """A customer's written authorization (书面授权), valid from ``signed_at`` until ``expires_at``."""

    customer_id: str
    purposes: Collection[str]
    signed_at: datetime
    expires_at: datetime | None = None
    revoked: bool = False
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Approval:
    """One approval: who gave it (a ``Subject`` or an id), in which role, when, for what."""

    approver: Subject | str
    role: str
    at: datetime
    resource_id: str
    action: str
