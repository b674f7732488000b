"""The OpenAPI 3.1 document of the service, generated from the models of ``_wire``.

The schemas are pydantic's JSON Schema (2020-12, which OpenAPI 3.1 uses as it is) of the
request and response models; the paths below only name which model each operation reads and
answers with.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from .. import __version__
from ._wire import (
    BatchRequestV1,
    BatchResponseV1,
    CheckRequestV1,
    DecisionV1,
    ExplanationV1,
    HealthV1,
    PolicyStatusV1,
    ProblemV1,
    ReadyV1,
    ReloadV1,
)

__all__ = ["openapi_document"]

_REF = "#/components/schemas/{model}"
_REQUESTS: tuple[type[BaseModel], ...] = (CheckRequestV1, BatchRequestV1)
_RESPONSES: tuple[type[BaseModel], ...] = (
    DecisionV1, BatchResponseV1, ExplanationV1, PolicyStatusV1, ReloadV1, HealthV1, ReadyV1, ProblemV1,
)
_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"mutualTLS": []}]
_REQUEST_ID = {"X-Request-Id": {"description": "the request's X-Request-Id, echoed, or one made for it",
                                "schema": {"type": "string"}}}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json(model: type[BaseModel] | dict[str, Any], description: str, media: str = "application/json") -> dict[str, Any]:
    schema = _ref(model) if isinstance(model, type) else model
    return {"description": description, "headers": _REQUEST_ID, "content": {media: {"schema": schema}}}


def _problem(description: str) -> dict[str, Any]:
    return _json(ProblemV1, description, "application/problem+json")


_AUTH = {"401": _problem("no valid credentials"), "403": _problem("the caller lacks the scope")}
_BODY = {
    "400": _problem("malformed JSON, or a body that breaks the schema: each bad field, in Chinese and English"),
    "413": _problem("a body over 1 MiB"),
    "415": _problem("a body that is not application/json"),
}


def _post(summary: str, body: type[BaseModel], answer: type[BaseModel], scope: str, tag: str) -> dict[str, Any]:
    return {"post": {
        "summary": summary, "tags": [tag], "security": _SECURITY, "x-scope": scope,
        "parameters": [_request_id_header()],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(body)}}},
        "responses": {"200": _json(answer, "the answer: a deny is an answer (allowed: false), not an error"), **_BODY, **_AUTH},
    }}


def _request_id_header() -> dict[str, Any]:
    return {"name": "X-Request-Id", "in": "header", "required": False,
            "description": "echoed in the answer (a token of at most 128 characters; else one is made)",
            "schema": {"type": "string"}}


def _param(name: str, description: str, *, required: bool = True, repeated: bool = False, where: str = "query") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": {"type": "string"}} if repeated else {"type": "string"}
    out: dict[str, Any] = {"name": name, "in": where, "required": required, "description": description, "schema": schema}
    if repeated:
        out.update(style="form", explode=True)
    return out


def openapi_document() -> dict[str, Any]:
    """The document served at ``/openapi.json``."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(m, "validation") for m in _REQUESTS]
    models += [(m, "serialization") for m in _RESPONSES]
    _, defs = models_json_schema(models, ref_template=_REF)
    schemas = defs.get("$defs", {})
    answer_object = {"type": "object", "description": "as `zxpolicy who-can --json` / `what-can --json`, with policy_version"}
    get_ok = {"400": _problem("a parameter missing, repeated or unknown, or a word the policy does not know"), **_AUTH}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "zxpolicy decision service",
            "version": __version__,
            "description": (
                "Authorization decisions for credit-information (征信) access, with reasons. "
                "The request of /v1/check is the JSON of `zxpolicy check --json`. Scopes: check "
                "(/v1/check, /v1/check/batch), explain (/v1/explain, /v1/who-can, /v1/what-can, "
                "/v1/policy), admin (/v1/policy/reload). A service started without --tokens or "
                "--tls-client-ca asks for no credentials."
            ),
        },
        "paths": {
            "/v1/check": _post("Decide one request", CheckRequestV1, DecisionV1, "check", "decisions"),
            "/v1/check/batch": _post("Decide up to 1,000 requests, one decision each, in order", BatchRequestV1,
                                     BatchResponseV1, "check", "decisions"),
            "/v1/explain": _post("Decide one request, with every stage it passed through", CheckRequestV1,
                                 ExplanationV1, "explain", "decisions"),
            "/v1/who-can": {"get": {
                "summary": "The roles granted an action, the users who hold them, and what each still needs",
                "tags": ["policy"], "security": _SECURITY, "x-scope": "explain",
                "parameters": [_param("action", "e.g. copy"), _param("kind", "e.g. credit_report"),
                               _param("purpose", "e.g. loan_review"), _param("level", "ordinary, confidential, top_secret"),
                               _param("org", "the resource's organisation", required=False)],
                "responses": {"200": _json(answer_object, "who can"), **get_ok},
            }},
            "/v1/what-can/{subject}": {"get": {
                "summary": "Everything a subject of the assignments may ask for",
                "tags": ["policy"], "security": _SECURITY, "x-scope": "explain",
                "parameters": [_param("subject", "a subject id of the assignments", where="path"),
                               _param("kind", "only these kinds", required=False, repeated=True),
                               _param("purpose", "only these purposes", required=False, repeated=True),
                               _param("action", "only these actions", required=False, repeated=True)],
                "responses": {"200": _json(answer_object, "what can"), **get_ok,
                              "404": _problem("a subject not in the assignments")},
            }},
            "/v1/policy": {"get": {
                "summary": "The running policy: version, source, loaded at, the last reload that failed",
                "tags": ["policy"], "security": _SECURITY, "x-scope": "explain",
                "responses": {"200": _json(PolicyStatusV1, "the running policy"), **_AUTH},
            }},
            "/v1/policy/reload": {"post": {
                "summary": "Load the policy's source now",
                "tags": ["admin"], "security": _SECURITY, "x-scope": "admin",
                "responses": {"200": _json(ReloadV1, "whether the running policy was replaced"), **_AUTH},
            }},
            "/healthz": {"get": {"summary": "The process is alive", "tags": ["operations"], "security": [],
                                 "responses": {"200": _json(HealthV1, "alive")}}},
            "/readyz": {"get": {"summary": "A policy is loaded, and the log is writable where one is configured",
                                "tags": ["operations"], "security": [],
                                "responses": {"200": _json(ReadyV1, "ready"), "503": _json(ReadyV1, "not ready")}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "tags": ["operations"], "security": [],
                                 "responses": {"200": _json({"type": "string"}, "Prometheus text format",
                                                            "text/plain; version=0.0.4; charset=utf-8")}}},
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "a token of the service's tokens file (zxpolicy token NAME)"},
                "mutualTLS": {"type": "mutualTLS", "description": "a client certificate signed by --tls-client-ca; its CN names the caller"},
            },
        },
    }
