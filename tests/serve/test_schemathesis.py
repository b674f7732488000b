"""schemathesis against a live server, from its own /openapi.json: no server error, no answer
that breaks the published schema (status, content type, headers, body), every schema-breaking
request refused, and credentials asked for where the document says so."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import POLICIES
from ._server import running, token_file

CHECKS = ",".join([
    "not_a_server_error", "response_schema_conformance", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "negative_data_rejection", "missing_required_header", "unsupported_method",
    "ignored_auth",
])


def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("st")
    if not st.exists():
        found = shutil.which("st")
        assert found is not None, "schemathesis is not installed: pip install '.[test]'"
        st = Path(found)
    tokens = token_file(tmp_path / "tokens.yaml", {"schemathesis": ("check", "explain", "admin")})
    with running(tmp_path, "--policy", str(POLICIES), "--tokens", str(tmp_path / "tokens.yaml")) as s:
        result = subprocess.run(
            [str(st), "run", f"{s.url}/openapi.json", "--checks", CHECKS, "--max-examples", "40", "--seed", "14",
             "--header", f"Authorization: Bearer {tokens['schemathesis']}", "--no-color"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path,
        )
        if result.returncode != 0:
            pytest.fail(f"schemathesis found failures:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}\n{s.output()[-3000:]}")
    assert "passed" in result.stdout and " failed" not in result.stdout.split("SUMMARY")[-1]
