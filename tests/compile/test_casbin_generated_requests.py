"""The compiled decision path agrees with Casbin on generated whole requests.

``test_casbin_agreement`` compares the compiled grant table with Casbin on every role × action ×
kind × purpose × level. Here whole requests (``zxpolicy.testing.requests``: subjects by id or
whole, with any roles, orgs, consents and approvals) go through ``Engine.check``, and the parts
of the decision that Casbin models are compared with ``engine.casbin``:

- the grant: Casbin allows ``enforce(s, action, kind, purpose, level)`` for some ``s`` — the
  subject's id when it is named by id (Casbin follows its ``g`` links to the assigned roles), or
  one of the roles it holds when it is given whole — exactly when the decision carries neither
  ``no_rule_permits`` nor ``role_not_permitted`` (for a purpose that applies to the kind; for
  one that does not, Casbin allows nothing and the decision says ``purpose_not_permitted``);
- the org scope: the resource's org is the subject's or Casbin's ``g2`` links it below the
  subject's, exactly when the decision does not carry ``org_out_of_scope``;
- so an allowed decision implies both, and Casbin refusing either implies a deny.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings

import zxpolicy
from zxpolicy.testing import requests

from ..conftest import POLICIES

ENGINE = zxpolicy.load(POLICIES)
GRANT_CODES = {"no_rule_permits", "role_not_permitted"}


def _casbin_grants(request: dict[str, Any]) -> bool:
    subject, resource = request["subject"], request["resource"]
    names = [subject] if isinstance(subject, str) else list(subject["roles"])
    key = (request["action"], resource["kind"], request["purpose"], resource["level"])
    return any(ENGINE.casbin.enforce(name, *key) for name in names)


def _casbin_in_scope(request: dict[str, Any]) -> bool:
    subject, resource = request["subject"], request["resource"]
    org = ENGINE._tables.vocabulary.people[subject].org if isinstance(subject, str) else subject["org"]
    g2 = ENGINE.casbin.get_named_role_manager("g2")
    return bool(resource["org"] == org or g2.has_link(resource["org"], org))


SEEN: Counter[str] = Counter()


@settings(max_examples=400, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(requests(ENGINE))
def _agrees_with_casbin(request: dict[str, Any]) -> None:
    d = ENGINE.check(**request)
    codes = set(d.codes)
    assert not codes & {"invalid_request", "unknown_subject", "engine_error"}, d.reasons
    granted, in_scope = _casbin_grants(request), _casbin_in_scope(request)
    if d.allowed:
        assert granted and in_scope
    if request["purpose"] in ENGINE._tables.purposes and request["resource"]["kind"] in ENGINE._tables.purposes[request["purpose"]]:
        assert bool(codes & GRANT_CODES) == (not granted), (request, d.codes)
    else:
        assert not granted and "purpose_not_permitted" in codes
    assert ("org_out_of_scope" in codes) == (not in_scope), (request, d.codes)
    SEEN["allowed" if d.allowed else "denied"] += 1
    SEEN["casbin grants"] += granted
    SEEN["casbin refuses the grant"] += not granted
    SEEN["out of scope"] += not in_scope


def test_check_agrees_with_casbin_on_the_grant_and_the_org_scope() -> None:
    SEEN.clear()
    _agrees_with_casbin()
    # Both sides of each comparison were seen, often.
    assert SEEN["allowed"] >= 80 and SEEN["denied"] >= 80, SEEN
    assert SEEN["casbin grants"] >= 200 and SEEN["casbin refuses the grant"] >= 20 and SEEN["out of scope"] >= 20, SEEN
