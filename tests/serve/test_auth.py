"""Callers are authenticated: bearer tokens with scopes, client certificates (mutual TLS), no open
listener without either; and the caller's name is in every log record."""

from __future__ import annotations

import json

import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trustme

from zxpolicy.cli._serve import SCOPES as CLI_SCOPES
from zxpolicy.log import open_log
from zxpolicy.serve import SCOPES, ServeOptions, check_options, load_tokens
from zxpolicy import ServeError

from ..conftest import POLICIES
from ._server import ALLOWED, bearer, running, token_file


def records(log: Path) -> list[object]:
    store = open_log(log, read_only=True)
    try:
        return [row.record() for row in store.rows() if row.seq > 0]
    finally:
        store.close()


def test_tokens_and_scopes(tmp_path: Path) -> None:
    tokens = token_file(tmp_path / "tokens.yaml", {
        "loan-system": ("check",), "auditor": ("explain",), "ops": ("check", "explain", "admin"),
    })
    log = tmp_path / "decisions.db"
    with running(tmp_path, "--policy", str(POLICIES), "--tokens", str(tmp_path / "tokens.yaml"), "--log", str(log)) as s:
        with httpx.Client(base_url=s.url, timeout=30) as http:
            none = http.post("/v1/check", json=ALLOWED)
            assert none.status_code == 401 and none.json()["code"] == "unauthenticated"
            assert none.headers["www-authenticate"].startswith("Bearer")
            assert http.post("/v1/check", json=ALLOWED, headers=bearer("zxp_guessed")).status_code == 401
            assert http.post("/v1/check", json=ALLOWED, headers={"Authorization": "Basic " + tokens["ops"]}).status_code == 401

            assert http.post("/v1/check", json=ALLOWED, headers=bearer(tokens["loan-system"])).status_code == 200
            forbidden = http.post("/v1/explain", json=ALLOWED, headers=bearer(tokens["loan-system"]))
            assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
            assert "loan-system" in forbidden.json()["message_en"]
            assert http.post("/v1/policy/reload", headers=bearer(tokens["loan-system"])).status_code == 403
            assert http.get("/v1/policy", headers=bearer(tokens["loan-system"])).status_code == 403

            assert http.post("/v1/explain", json=ALLOWED, headers=bearer(tokens["auditor"])).status_code == 200
            assert http.post("/v1/check", json=ALLOWED, headers=bearer(tokens["auditor"])).status_code == 403
            assert http.get("/v1/policy", headers=bearer(tokens["auditor"])).status_code == 200

            reload = http.post("/v1/policy/reload", headers=bearer(tokens["ops"]))
            assert reload.status_code == 200 and reload.json()["reloaded"] is False  # nothing changed
            assert http.post("/v1/check/batch", json={"requests": [ALLOWED, ALLOWED]},
                             headers=bearer(tokens["ops"])).status_code == 200
            # what operations need no credentials
            assert http.get("/healthz").status_code == http.get("/readyz").status_code == 200
            assert http.get("/readyz").json()["log"] == "ok"
    assert [r.caller for r in records(log)] == ["loan-system", "ops", "ops"]  # type: ignore[attr-defined]
    # The daily check shows which system asked.
    from click.testing import CliRunner

    from zxpolicy.cli import main

    result = CliRunner().invoke(main, ["log", "daily-check", str(log), "--json"])
    assert result.exit_code in (0, 1), result.output
    day = json.loads(result.stdout)
    assert [r["caller"] for r in day["rows"]] == ["loan-system", "ops", "ops"]
    text = CliRunner().invoke(main, ["log", "daily-check", str(log)]).output
    assert "调用系统" in text and "loan-system" in text


def test_the_caller_does_not_change_a_record_without_one(tmp_path: Path) -> None:
    """Records without a caller keep the bodies (and so the hashes) they had before the field."""
    from zxpolicy.decide import LogRecord

    fields = dict(decision_id="d", at="t", logged_at="t", subject_id="u", subject_org="o", action="query",
                  resource_id="r", resource_kind="k", resource_level="l", resource_org="o", customer_id=None,
                  purpose="p", consent_id=None, approvals=(), evidence_keys=(), allowed=True, codes=("granted",),
                  obligations=(), policy_version="v")
    plain = LogRecord(**fields)  # type: ignore[arg-type]
    assert "caller" not in plain.body()
    named = LogRecord(**fields, caller="loan-system")  # type: ignore[arg-type]
    assert '"caller":"loan-system"' in named.body()
    assert LogRecord.from_body(named.body()) == named and LogRecord.from_body(plain.body()) == plain


def test_a_tokens_file_that_does_not_read_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "tokens.yaml"
    bad.write_text("tokens:\n  - name: x\n    scopes: [check, root]\n    sha256: abc\n", encoding="utf-8")
    with pytest.raises(ServeError) as raised:
        load_tokens(bad)
    assert raised.value.code == "tokens_invalid" and "tokens.yaml" in raised.value.message_en
    result = subprocess.run([sys.executable, "-m", "zxpolicy", "serve", "--policy", str(POLICIES), "--tokens", str(bad)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 2  # the policy line, then the error
    assert "Traceback" not in result.stderr and "令牌文件" in result.stderr


def test_no_open_listener_without_authentication(tmp_path: Path) -> None:
    with pytest.raises(ServeError) as raised:
        check_options(ServeOptions(policy=str(POLICIES), host="0.0.0.0"))
    assert raised.value.code == "open_listener"
    warnings = check_options(ServeOptions(policy=str(POLICIES), host="0.0.0.0", insecure=True))
    assert warnings and "--insecure" in warnings[0]
    token_file(tmp_path / "t.yaml", {"a": ("check",)})
    assert check_options(ServeOptions(policy=str(POLICIES), host="0.0.0.0", tokens=str(tmp_path / "t.yaml"))) == []
    assert check_options(ServeOptions(policy=str(POLICIES), host="::1")) == []
    result = subprocess.run([sys.executable, "-m", "zxpolicy", "serve", "--policy", str(POLICIES), "--host", "0.0.0.0",
                             "--port", "1"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--tokens" in result.stderr and "Traceback" not in result.stderr


def test_mutual_tls_names_the_caller_by_its_certificate(tmp_path: Path) -> None:
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    client_cert = ca.issue_cert("loan-system.bank.example", common_name="loan-system")
    other_ca = trustme.CA()
    stranger = other_ca.issue_cert("stranger.example", common_name="stranger")
    for name, blob in (("server.pem", server_cert.cert_chain_pems[0]), ("server.key", server_cert.private_key_pem),
                       ("ca.pem", ca.cert_pem)):
        blob.write_to_path(str(tmp_path / name))

    def client(cert: trustme.LeafCert | None) -> dict[str, object]:
        context = ssl.create_default_context(cafile=None)
        ca.configure_trust(context)
        if cert is not None:
            cert.configure_cert(context)
        return {"verify": context}

    log = tmp_path / "decisions.db"
    args = ("--policy", str(POLICIES), "--log", str(log), "--tls-cert", str(tmp_path / "server.pem"),
            "--tls-key", str(tmp_path / "server.key"), "--tls-client-ca", str(tmp_path / "ca.pem"), "--host", "0.0.0.0")
    with running(tmp_path, *args, scheme="https", client=client(client_cert)) as s:
        with httpx.Client(base_url=s.url, timeout=30, **client(client_cert)) as http:  # type: ignore[arg-type]
            answer = http.post("/v1/check", json=ALLOWED)
            assert answer.status_code == 200 and answer.json()["allowed"] is True
            assert http.post("/v1/policy/reload").status_code == 403  # admin needs a token
        for anonymous in (client(None), client(stranger)):
            with pytest.raises(httpx.HTTPError):  # the handshake fails: no certificate, or not of the CA
                httpx.post(f"{s.url}/v1/check", json=ALLOWED, timeout=30, **anonymous)  # type: ignore[arg-type]
        with pytest.raises(httpx.HTTPError):  # and plain HTTP is not served
            httpx.post(s.url.replace("https", "http") + "/v1/check", json=ALLOWED, timeout=30)
    assert [r.caller for r in records(log)] == ["loan-system"]  # type: ignore[attr-defined]


def test_the_cli_offers_the_service_s_scopes() -> None:
    assert CLI_SCOPES == SCOPES


def test_zxpolicy_token_prints_a_token_and_its_entry(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "zxpolicy", "token", "loan-system", "--scope", "check", "--scope", "explain"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    token = result.stdout.strip()
    (tmp_path / "tokens.yaml").write_text("tokens:\n" + result.stderr, encoding="utf-8")
    caller = load_tokens(tmp_path / "tokens.yaml").find(token)
    assert caller is not None and caller.name == "loan-system" and caller.scopes == {"check", "explain"}
    assert token not in result.stderr  # the file keeps the hash only
    assert load_tokens(tmp_path / "tokens.yaml").find(token + "x") is None
