"""The published schema does not lie: on generated JSON requests, ``CheckRequestV1`` accepts
exactly what the engine's reader reads, and the service answers 400 exactly when the schema
refuses. (The service decides with the engine's own reader and validates with pydantic only to
explain a 400, so the two must agree.)

Words of the policy (kinds, levels, orgs, actions, subject ids) are drawn from the policy: a
word it does not know is the engine's deny, not a schema error, and is not what is compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import asyncio

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import zxpolicy
from zxpolicy.serve import MAX_BATCH, BatchRequestV1, CheckRequestV1, Metrics, Service, build_app

from ..conftest import POLICIES

ENGINE = zxpolicy.load(POLICIES)
V = ENGINE.tables.vocabulary
PEOPLE = sorted(V.people)
READ_CODES = {"invalid_request"}

json_scalar = st.none() | st.booleans() | st.integers(-10, 10) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=4)
junk = st.recursive(json_scalar, lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2), max_leaves=4)
not_text = junk.filter(lambda v: not isinstance(v, str)) | st.just("")  # what no text field reads
aware = st.sampled_from(["2026-11-27T10:00:00+08:00", "2026-11-27 10:00+00:00", "2026-11-27T02:00:00Z", "20261127T100000+0800"])
bad_time = st.sampled_from(["2026-11-27T10:00:00", "yesterday", "", "2026-13-01T00:00:00+08:00", "0001-01-01T00:00:00+08:00"]) | not_text


def mostly(valid: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A valid value nine times in ten: requests that are wrong in one or two places."""
    return st.integers(0, 9).flatmap(lambda i: bad if i == 0 else valid)


def word(values: Any) -> st.SearchStrategy[Any]:
    """A word of the policy, or something no reader takes for a word."""
    return mostly(st.sampled_from(sorted(values)), not_text)


def text() -> st.SearchStrategy[Any]:
    return mostly(st.text(min_size=1, max_size=6), not_text)


def time_(optional: bool = False) -> st.SearchStrategy[Any]:
    return mostly(aware | st.none() if optional else aware, bad_time)


def texts() -> st.SearchStrategy[Any]:
    return mostly(st.lists(st.text(max_size=4), max_size=2), not_text | st.lists(junk, min_size=1, max_size=2))


def flag() -> st.SearchStrategy[Any]:
    return mostly(st.booleans(), not_text)


def maybe(fields: dict[str, st.SearchStrategy[Any]], required: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """An object of its required fields (nearly always) and some optional ones, now and then with
    an unknown key; now and then not an object at all."""
    @st.composite
    def build(draw: st.DrawFn) -> Any:
        out = {}
        for name, strategy in fields.items():
            if draw(st.integers(0, 19)) < (19 if name in required else 10):
                out[name] = draw(strategy)
        if draw(st.integers(0, 29)) == 0:
            out[draw(st.sampled_from(["colour", "Id", "extra"]))] = draw(json_scalar)
        return out
    return mostly(build(), junk.filter(lambda v: not isinstance(v, dict)))


def subject_object() -> st.SearchStrategy[Any]:
    # ids outside the assignments: an assigned id whose object says more is identity_mismatch, a
    # policy question and not a reading one
    return maybe({
        "id": mostly(st.text(min_size=1, max_size=4).map(lambda s: "x-" + s), not_text),
        "roles": mostly(st.lists(st.sampled_from(sorted(V.roles)) | st.text(max_size=3), max_size=2), not_text),
        "org": word(V.orgs),
        "status": mostly(st.sampled_from(["active", "suspended"]), st.just("retired") | not_text),
        "password_changed_at": time_(optional=True),
        "must_change_password": flag(),
    }, ("id", "roles", "org"))


requests = maybe({
    "subject": mostly(st.sampled_from(PEOPLE) | subject_object(), junk.filter(lambda v: not isinstance(v, (str, dict)))),
    "resource": maybe({
        "id": text(), "kind": word(V.kinds), "level": word(V.levels), "org": word(V.orgs),
        "customer_id": mostly(st.text(min_size=1, max_size=4) | st.none(), not_text), "retention_until": time_(optional=True),
    }, ("id", "kind", "level", "org")),
    "purpose": mostly(st.sampled_from(["loan_review", "marketing", ""]), junk.filter(lambda v: not isinstance(v, str))),
    "action": mostly(st.sampled_from(sorted(V.actions)), junk.filter(lambda v: not isinstance(v, str))),
    "consent": st.none() | maybe({
        "customer_id": text(), "purposes": texts(), "signed_at": time_(), "expires_at": time_(optional=True),
        "revoked": flag(), "id": mostly(st.text(min_size=1, max_size=4) | st.none(), not_text),
    }, ("customer_id", "purposes", "signed_at")),
    "approvals": mostly(st.none() | st.lists(maybe({
        "approver": mostly(st.sampled_from(PEOPLE) | st.text(min_size=1, max_size=4) | subject_object(), not_text),
        "role": text(), "at": time_(), "resource_id": text(), "action": text(),
    }, ("approver", "role", "at", "resource_id", "action")), max_size=3), st.just([]).map(lambda _: [{}] * 33) | not_text),
    "evidence": mostly(st.none() | st.dictionaries(st.text(max_size=8), st.text(max_size=3), max_size=2),
                       not_text | st.dictionaries(st.text(max_size=3), json_scalar.filter(lambda v: not isinstance(v, str)), min_size=1, max_size=1)),
    "at": time_(optional=True),
}, ("subject", "resource", "purpose"))


def schema_accepts(model: Any, data: Any) -> bool:
    try:
        model.model_validate(data)
    except ValidationError:
        return False
    return True


def engine_reads(data: dict[str, Any]) -> bool:
    """The engine reads the request, as the service and ``zxpolicy check --json`` give it: an
    unknown field at the top is refused before it (as the CLI refuses it)."""
    if not set(data) <= set(CheckRequestV1.model_fields):
        return False
    args = dict(data)
    d = ENGINE.check(args.pop("subject", None), args.pop("resource", None), args.pop("purpose", None), **args)
    return not (READ_CODES & set(d.codes))


class Client:
    """The service's app in this process, called synchronously (no server: the app alone)."""

    def __init__(self, app: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service")

    def post(self, path: str, data: Any) -> httpx.Response:
        body = orjson.dumps(data)
        return self._loop.run_until_complete(self._http.post(path, content=body, headers={"Content-Type": "application/json"}))

    def close(self) -> None:
        self._loop.run_until_complete(self._http.aclose())
        self._loop.close()


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    live = zxpolicy.watch(POLICIES)
    c = Client(build_app(Service(live, Metrics())))
    yield c
    c.close()
    live.close()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(requests)
def test_the_schema_accepts_what_the_engine_reads(client: Client, data: Any) -> None:
    accepted = schema_accepts(CheckRequestV1, data)
    if isinstance(data, dict) and set(data) <= set(CheckRequestV1.model_fields):
        assert accepted == engine_reads(data), data
    answer = client.post("/v1/check", data)
    assert answer.status_code == (200 if accepted else 400), (data, answer.text)
    if accepted:
        assert not READ_CODES & {r["code"] for r in answer.json()["reasons"]}
    else:
        assert answer.json()["errors"], answer.text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(requests, max_size=4))
def test_a_batch_is_refused_exactly_when_the_schema_refuses_it(client: Client, items: list[Any]) -> None:
    body = {"requests": items}
    accepted = schema_accepts(BatchRequestV1, body)
    answer = client.post("/v1/check/batch", body)
    assert answer.status_code == (200 if accepted else 400), (items, answer.text)
    if accepted:
        assert len(answer.json()["decisions"]) == len(items)
    else:
        assert all(e["path"].startswith("requests[") for e in answer.json()["errors"])


def test_the_batch_cap_is_the_schema_s() -> None:
    assert BatchRequestV1.model_json_schema()["properties"]["requests"]["maxItems"] == MAX_BATCH


# Every field of a request that has them all, each replaced in turn by values of every JSON type
# (and removed, and joined by an unknown key): the schema and the engine agree on each.
FULL: dict[str, Any] = {
    "subject": {"id": "x-host-1", "roles": ["query_operator"], "org": "east-1", "status": "active",
                "password_changed_at": "2026-10-01T09:00:00+08:00", "must_change_password": False},
    "resource": {"id": "report-1", "kind": "credit_report", "level": "ordinary", "org": "east-1",
                 "customer_id": "c-1", "retention_until": "2030-01-01T00:00:00+08:00"},
    "purpose": "loan_review",
    "action": "query",
    "consent": {"customer_id": "c-1", "purposes": ["loan_review"], "signed_at": "2026-11-01T09:00:00+08:00",
                "expires_at": "2027-11-01T09:00:00+08:00", "revoked": False, "id": "auth-1"},
    "approvals": [
        {"approver": "u-gm-hq", "role": "general_manager", "at": "2026-11-27T09:00:00+08:00", "resource_id": "report-1",
         "action": "query"},
        {"approver": {"id": "x-approver", "roles": ["risk_control_manager"], "org": "hq"}, "role": "risk_control_manager",
         "at": "2026-11-27T09:30:00+08:00", "resource_id": "report-1", "action": "query"},
    ],
    "evidence": {"case_id": "D-1", "legal_basis": ""},
    "at": "2026-11-27T10:00:00+08:00",
}
VALUES: list[Any] = [None, "", "x", 0, 1.5, True, [], {}, ["x"], {"a": "b"}, "2026-11-27T10:00:00",
                     "2026-11-27T10:00:00+08:00", [{}] * 33]
VOCABULARY = {"kind", "level", "org", "action"}  # an unknown word here is the policy's deny, not the schema's


def paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, (*at, i))


def replaced(at: tuple[Any, ...], new: Any) -> Any:
    import copy

    out = copy.deepcopy(FULL)
    parent = out
    for part in at[:-1]:
        parent = parent[part]
    if new is _REMOVE:
        del parent[at[-1]]
    else:
        parent[at[-1]] = new
    return out


_REMOVE = object()


def test_every_field_replaced_by_every_kind_of_value() -> None:
    assert schema_accepts(CheckRequestV1, FULL) and engine_reads(FULL)
    compared = 0
    for at in paths(FULL):
        if not at:
            continue
        for new in [*VALUES, _REMOVE]:
            if isinstance(at[-1], int) and new is _REMOVE:
                continue
            if at[-1] in VOCABULARY and isinstance(new, str) and new:
                continue
            data = replaced(at, new)
            assert schema_accepts(CheckRequestV1, data) == engine_reads(data), (at, new)
            compared += 1
        if isinstance(at[-1], str):
            parent = replaced(at, _REMOVE)
            node = parent
            for part in at[:-1]:
                node = node[part]
            node["unknown_" + at[-1]] = "x"
            assert not schema_accepts(CheckRequestV1, parent) and not engine_reads(parent) or at == ("evidence", at[-1]), at
    assert compared > 400
