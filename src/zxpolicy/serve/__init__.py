"""The decision service: ``zxpolicy serve``, the live policy over HTTP for hosts in any language.

    zxpolicy serve --policy policies --log decisions.db --tokens tokens.yaml
    curl -s -H "Authorization: Bearer $TOKEN" -d @examples/query-allowed.json localhost:8181/v1/check

The API is versioned under ``/v1`` (check, batch, explain, who-can, what-can, the policy, its
reload); ``/openapi.json`` is generated from the models that describe the bodies, and ``/docs``
renders it from files shipped in the package. See docs/SERVICE.md.

    _wire     the request and response models (``CheckRequestV1`` is also the CLI's JSON)
    _limits   bounds on bodies, JSON nesting and batches
    _auth     bearer tokens from a tokens file, a client certificate's CN
    _metrics  Prometheus metrics, summed across workers
    _openapi  the OpenAPI 3.1 document
    _app      the ASGI application: routes and endpoints
    _run      options, uvicorn, workers and signals
    _docs/    the docs page's files
"""

from ._app import KeptLog, Service, build_app
from ._auth import SCOPES, Caller, Tokens, hash_token, load_tokens, new_token
from ._limits import MAX_BODY, MAX_DEPTH
from ._metrics import Metrics
from ._openapi import openapi_document
from ._run import ServeOptions, build_service, check_options, serve
from ._wire import (
    MAX_BATCH,
    ApprovalV1,
    BatchRequestV1,
    BatchResponseV1,
    CheckRequestV1,
    ConsentV1,
    DecisionV1,
    ExplanationV1,
    PolicyStatusV1,
    ProblemV1,
    ResourceV1,
    SubjectV1,
)

__all__ = [
    "MAX_BATCH",
    "MAX_BODY",
    "MAX_DEPTH",
    "SCOPES",
    "ApprovalV1",
    "BatchRequestV1",
    "BatchResponseV1",
    "Caller",
    "CheckRequestV1",
    "ConsentV1",
    "DecisionV1",
    "ExplanationV1",
    "KeptLog",
    "Metrics",
    "PolicyStatusV1",
    "ProblemV1",
    "ResourceV1",
    "ServeOptions",
    "Service",
    "SubjectV1",
    "Tokens",
    "build_app",
    "build_service",
    "check_options",
    "hash_token",
    "load_tokens",
    "new_token",
    "openapi_document",
    "serve",
]
