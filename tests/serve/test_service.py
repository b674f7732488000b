"""The service over HTTP, against a real ``zxpolicy serve`` process: decisions, batches,
explanations, the policy questions, bad bodies, the published schema and the docs page."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

import zxpolicy
from zxpolicy.compliance import what_can, who_can
from zxpolicy.serve import MAX_BATCH, CheckRequestV1

from ..conftest import POLICIES
from ._server import ALLOWED, ARCHIVE, DENIED, EXAMPLES, Server, running

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("serve"), "--policy", str(POLICIES)) as s:
        yield s


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def local() -> zxpolicy.Engine:
    return zxpolicy.load(POLICIES)


def decided(engine: zxpolicy.Engine, request: dict[str, Any]) -> dict[str, Any]:
    """The engine's own decision of a request, as the service answers it, less the ids."""
    args = dict(request)
    d = engine.check(args.pop("subject"), args.pop("resource"), args.pop("purpose"), **args).to_dict()
    d.pop("decision_id")
    return d


def without_ids(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in ("decision_id", "request_id")}


def test_an_allowed_and_a_denied_request_are_both_answers(http: httpx.Client, local: zxpolicy.Engine) -> None:
    allowed = http.post("/v1/check", json=ALLOWED)
    denied = http.post("/v1/check", json=DENIED)
    assert allowed.status_code == denied.status_code == 200
    assert allowed.json()["allowed"] is True and denied.json()["allowed"] is False
    assert without_ids(allowed.json()) == decided(local, ALLOWED)
    assert without_ids(denied.json()) == decided(local, DENIED)
    assert denied.json()["reasons"] and {r["code"] for r in denied.json()["reasons"]} <= {
        r["code"] for r in decided(local, DENIED)["reasons"]}


def test_the_request_id_is_echoed_or_made(http: httpx.Client) -> None:
    echoed = http.post("/v1/check", json=ALLOWED, headers={"X-Request-Id": "loan-7.42"})
    assert echoed.headers["x-request-id"] == "loan-7.42" == echoed.json()["request_id"]
    made = http.post("/v1/check", json=ALLOWED, headers={"X-Request-Id": "not a plain token <script>"})
    assert made.headers["x-request-id"] == made.json()["request_id"] != "not a plain token <script>"
    other = http.post("/v1/check", json=ALLOWED)
    assert other.json()["request_id"] not in ("", made.json()["request_id"])
    assert other.json()["decision_id"] != made.json()["decision_id"]


def test_a_batch_answers_each_request_in_order(http: httpx.Client, local: zxpolicy.Engine) -> None:
    requests = []
    for i in range(60):
        r = copy.deepcopy([ALLOWED, DENIED, ARCHIVE][i % 3])
        if i % 4 == 0:
            r["purpose"] = "marketing"  # not a purpose of the policy: denied under Q-02
        requests.append(r)
    answer = http.post("/v1/check/batch", json={"requests": requests})
    assert answer.status_code == 200
    decisions = answer.json()["decisions"]
    assert [without_ids(d) for d in decisions] == [decided(local, r) for r in requests]
    assert len({d["decision_id"] for d in decisions}) == len(requests)


def test_a_batch_is_capped(http: httpx.Client) -> None:
    answer = http.post("/v1/check/batch", json={"requests": [ALLOWED] * (MAX_BATCH + 1)})
    assert answer.status_code == 400 and answer.headers["content-type"] == PROBLEM
    assert [e["code"] for e in answer.json()["errors"]] == ["too_many_items"]
    assert answer.json()["errors"][0]["path"] == "requests"
    assert http.post("/v1/check/batch", json={"requests": []}).json()["decisions"] == []


def test_explain_gives_the_engine_s_stages(http: httpx.Client, local: zxpolicy.Engine) -> None:
    for request in (ARCHIVE, DENIED):
        answer = http.post("/v1/explain", json=request)
        assert answer.status_code == 200
        args = dict(request)
        expected = local.explain(args.pop("subject"), args.pop("resource"), args.pop("purpose"), **args).to_dict()
        got = answer.json()
        assert got["stages"] == expected["stages"] and len(got["stages"]) > 1
        assert without_ids(got) == {k: v for k, v in expected.items() if k != "decision_id"}


def test_who_can_and_what_can_answer_as_the_library(http: httpx.Client, local: zxpolicy.Engine) -> None:
    params = {"action": "copy", "kind": "credit_report", "purpose": "loan_review", "level": "confidential", "org": "east-1"}
    answer = http.get("/v1/who-can", params=params)
    assert answer.status_code == 200
    body = answer.json()
    assert body.pop("policy_version") == local.policy_version
    assert body == json.loads(json.dumps(who_can(local, **params).to_dict()))
    assert any(r["users"] for r in body["roles"])

    answer = http.get("/v1/what-can/u-query-east1", params=[("kind", "credit_report"), ("action", "query")])
    assert answer.status_code == 200
    body = answer.json()
    body.pop("policy_version")
    expected = what_can(local, "u-query-east1", kinds=["credit_report"], actions=["query"]).to_dict()
    assert body == json.loads(json.dumps(expected))


def test_policy_questions_refuse_bad_parameters(http: httpx.Client) -> None:
    missing = http.get("/v1/who-can", params={"action": "copy", "kind": "credit_report"})
    assert missing.status_code == 400 and missing.headers["content-type"] == PROBLEM
    assert sorted(e["path"] for e in missing.json()["errors"]) == ["level", "purpose"]
    unknown = http.get("/v1/who-can", params={"action": "copy", "kind": "credit_reprot", "purpose": "loan_review",
                                                "level": "ordinary"})
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_word"
    assert "credit_report" in unknown.json()["message_en"] and unknown.json()["message"] != unknown.json()["message_en"]
    assert http.get("/v1/what-can/u-nobody").status_code == 404
    extra = http.get("/v1/what-can/u-query-east1", params={"colour": "red"})
    assert extra.status_code == 400 and extra.json()["errors"][0]["code"] == "unknown_field"


def _problem(answer: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["type"].startswith("urn:zxpolicy:problem:")
    assert body["request_id"] == answer.headers["x-request-id"]
    return body


def test_a_body_that_breaks_the_schema_names_each_bad_field(http: httpx.Client) -> None:
    bad = copy.deepcopy(ALLOWED)
    bad["subject"] = {"id": "u-9", "roles": "query_operator", "org": "east-1", "colour": "red"}
    bad["resource"]["level"] = 3
    bad["consent"]["signed_at"] = "2026-11-01T09:00:00"  # no offset
    bad["approvals"] = [{"approver": "u-gm-hq", "role": "general_manager"}]
    bad["urgent"] = True
    body = _problem(http.post("/v1/check", json=bad))
    assert body["code"] == "invalid_request"
    found = {(e["path"], e["code"]) for e in body["errors"]}
    assert found == {
        ("subject.roles", "wrong_type"), ("subject.colour", "unknown_field"), ("resource.level", "wrong_type"),
        ("consent.signed_at", "invalid_time"), ("approvals[0].at", "missing_field"),
        ("approvals[0].resource_id", "missing_field"), ("approvals[0].action", "missing_field"),
        ("urgent", "unknown_field"),
    }
    for e in body["errors"]:
        assert e["message"] and e["message_en"] and e["message"] != e["message_en"]
    english = _problem(http.post("/v1/check", json=bad, headers={"Accept-Language": "en"}))
    assert english["detail"] == english["message_en"] and body["detail"] == body["message"]


@pytest.mark.parametrize("raw, code", [
    (b'{"subject": "u-query-east1",', "malformed_json"),
    (b"[" * 40 + b"]" * 40, "malformed_json"),  # nested too deep
    (b'{"subject": 1' + b"0" * 400 + b"}", "malformed_json"),  # a number past a double's range
    (b'{"subject": 1' + b"0" * 30 + b"}", "invalid_request"),  # a number where the schema has none
    (b"NaN", "malformed_json"),
    (b'"just a string"', "invalid_request"),
    (b"\xff\xfe", "malformed_json"),
])
def test_what_is_not_a_request_is_400(http: httpx.Client, raw: bytes, code: str) -> None:
    for path in ("/v1/check", "/v1/explain", "/v1/check/batch"):
        body = _problem(http.post(path, content=raw, headers={"Content-Type": "application/json"}))
        assert body["code"] == code


def test_a_word_the_policy_does_not_know_is_a_deny_not_an_error(http: httpx.Client) -> None:
    request = copy.deepcopy(ALLOWED)
    request["resource"]["level"] = "secret"  # a string, as the schema says; not a level of the policy
    answer = http.post("/v1/check", json=request)
    assert answer.status_code == 200 and answer.json()["allowed"] is False
    assert [r["rule"] for r in answer.json()["reasons"]] == ["C-03"]


def test_bodies_are_bounded_and_typed(http: httpx.Client) -> None:
    huge = b'{"subject": "' + b"x" * (1 << 20) + b'"}'
    assert _problem(http.post("/v1/check", content=huge, headers={"Content-Type": "application/json"}), 413)["code"] == "body_too_large"
    form = http.post("/v1/check", content=b"subject=u-1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert _problem(form, 415)["code"] == "unsupported_media_type"


def test_wrong_paths_and_methods_are_problems(http: httpx.Client) -> None:
    assert _problem(http.get("/v2/check"), 404)["code"] == "not_found"
    wrong = http.get("/v1/check")
    assert _problem(wrong, 405)["code"] == "method_not_allowed" and wrong.headers["allow"] == "POST"


def test_the_policy_and_the_operations_endpoints(http: httpx.Client, local: zxpolicy.Engine) -> None:
    policy = http.get("/v1/policy").json()
    assert policy["version"] == local.policy_version and policy["source"] == str(POLICIES)
    assert policy["last_failure"] is None and policy["loaded_at"]
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz").json()
    assert ready["ready"] is True and ready["log"] == "none" and ready["policy_version"] == local.policy_version


def test_the_openapi_document_is_generated_from_the_models(http: httpx.Client) -> None:
    doc = http.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    generated = CheckRequestV1.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = generated.pop("$defs")
    assert schemas["CheckRequestV1"] == generated
    assert all(schemas[name] == schema for name, schema in defs.items())
    # every example request validates against the published schema; a decision against its own
    resolver = {"components": doc["components"]}
    request_schema = {**resolver, "$ref": "#/components/schemas/CheckRequestV1"}
    decision_schema = {**resolver, "$ref": "#/components/schemas/DecisionV1"}
    for path in sorted(EXAMPLES.glob("*.json")):
        request = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(request, request_schema, cls=jsonschema.Draft202012Validator)
        jsonschema.validate(http.post("/v1/check", json=request).json(), decision_schema, cls=jsonschema.Draft202012Validator)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**ALLOWED, "urgent": True}, request_schema, cls=jsonschema.Draft202012Validator)


def test_the_docs_page_loads_nothing_from_outside(http: httpx.Client) -> None:
    page = http.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assets = [page.text]
    for name in ("docs.js", "docs.css"):
        asset = http.get(f"/docs/{name}")
        assert asset.status_code == 200
        assets.append(asset.text)
    for text in assets:
        assert "http://" not in text and "https://" not in text and "//cdn" not in text
    assert "/openapi.json" in assets[1] and "/docs/docs.js" in page.text


def test_the_docs_files_are_in_the_package() -> None:
    from importlib import resources

    folder = resources.files("zxpolicy.serve") / "_docs"
    assert {p.name for p in folder.iterdir()} >= {"index.html", "docs.js", "docs.css"}


def test_the_cli_reads_the_same_json(tmp_path: Path, http: httpx.Client) -> None:
    """One schema for both: `zxpolicy check --json` of a file decides as POST /v1/check of it."""
    from click.testing import CliRunner

    from zxpolicy.cli import main

    for path in sorted(EXAMPLES.glob("*.json")):
        request = json.loads(path.read_text(encoding="utf-8"))
        result = CliRunner().invoke(main, ["check", "--policy", str(POLICIES), "--json", str(path)])
        cli = json.loads(result.stdout)
        cli.pop("policy")
        assert without_ids(cli) == without_ids(http.post("/v1/check", json=request).json())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**ALLOWED, "urgent": True}), encoding="utf-8")
    assert CliRunner().invoke(main, ["check", "--policy", str(POLICIES), str(bad)]).exit_code == 2
    assert http.post("/v1/check", json={**ALLOWED, "urgent": True}).status_code == 400
