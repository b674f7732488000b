"""The Cerbos PDP as the peer of ``zxpolicy serve``: its binary, its policy, its config, its requests.

The binary comes from the npm registry package ``@cerbos/cerbos-linux-x64`` at a pinned version
(checked against the registry's sha512 of the tarball), unpacked into a cache folder once. The
policy says what ``bench/others.py`` says for Casbin and Cedar: the grant (Q-01..Q-03: role ×
action × kind × purpose × level) and the org scope (Q-07). One resource policy per kind, one
rule per grant that names the kind; the purpose and level are the resource's attributes, and the
org tree is a constant of each policy (org → the org and the orgs above it), so that a caller
sends Cerbos what it sends zxpolicy: who asks (id, role, org) and the resource's org.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import platform
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import yaml

from zxpolicy.policy import PolicyDocument

from .requests import BenchRequest

PACKAGE = "@cerbos/cerbos-linux-x64"
VERSION = "0.55.0"  # the newest 0.55 release in the registry
# The registry's `dist.integrity` of that version's tarball: what `npm pack` fetched is checked
# against it, so a changed upload is refused rather than measured.
INTEGRITY = "sha512-eLZUycJfaQWK0XTRgH/Oz2E3XiNCUavDd1LhzFxhUpZ3s5CuQqmqG327ta0On8YOTxuZO/19cG4kvfC22r03/Q=="
BINARY = "cerbos-linux-x64"
MAX_RESOURCES = 50  # Cerbos's default server.requestLimits.maxResourcesPerRequest


class CerbosUnavailable(Exception):
    """No Cerbos binary can be had here; the message says why, for the run's report."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zxpolicy-bench"


def installed(cache: Path | None = None) -> Path:
    """The pinned Cerbos binary, from the cache or unpacked into it from ``npm pack``. Raises
    ``CerbosUnavailable`` when neither can be had."""
    target = (cache or cache_dir()) / f"cerbos-{VERSION}" / BINARY
    if target.is_file() and version_of(target) == VERSION:
        return target
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise CerbosUnavailable(f"{PACKAGE} is built for Linux x86-64, not {platform.system()} {platform.machine()}")
    npm = shutil.which("npm")
    if npm is None:
        raise CerbosUnavailable("npm is not on PATH, so Cerbos cannot be installed from the npm registry")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--json", "--pack-destination", tmp],
            capture_output=True, text=True, check=False, timeout=600,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise CerbosUnavailable(f"`npm pack {PACKAGE}@{VERSION}` failed: {last}")
        tarball = Path(tmp) / json.loads(done.stdout)[0]["filename"]
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != INTEGRITY:
            raise CerbosUnavailable(f"{tarball.name}: sha512 {digest[:24]}… is not the pinned {INTEGRITY[:24]}…")
        with tarfile.open(tarball) as tar:
            member = tar.getmember(f"package/{BINARY}")
            tar.extract(member, tmp, filter="data")
        unpacked = Path(tmp) / "package" / BINARY
        unpacked.chmod(0o755)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        shutil.copyfile(unpacked, partial)
        partial.chmod(0o755)
        partial.replace(target)  # a run interrupted while copying leaves no half binary under the name
    found = version_of(target)
    if found != VERSION:
        raise CerbosUnavailable(f"{target} reports version {found!r}, not {VERSION}")
    return target


def version_of(binary: Path) -> str | None:
    try:
        done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False, timeout=30)
    except OSError:
        return None
    first = done.stdout.strip().splitlines()
    return first[0].strip() if done.returncode == 0 and first else None


# -- the policy -----------------------------------------------------------------------------------


def scope_map(doc: PolicyDocument) -> dict[str, list[str]]:
    """Each org → itself and the orgs above it: a subject's org must be among the resource org's."""
    parent = {o.id: o.parent for o in doc.orgs}
    out: dict[str, list[str]] = {}
    for org in parent:
        chain: list[str] = []
        node: str | None = org
        while node is not None and node not in chain:
            chain.append(node)
            node = parent.get(node)
        out[org] = chain
    return out


def policies(doc: PolicyDocument) -> dict[str, str]:
    """The Cerbos resource policies (file name → YAML), one per kind that a grant names."""
    levels = [lv.id for lv in doc.levels]
    scope = scope_map(doc)
    rules: dict[str, list[dict[str, Any]]] = {}
    for i, g in enumerate(doc.grants):
        for kind in g.kinds:
            conditions = [
                f"R.attr.purpose in {json.dumps(list(g.purposes))}",
                f"R.attr.level in {json.dumps(list(g.levels or levels))}",
                "R.attr.org in C.scope && P.attr.org in C.scope[R.attr.org]",
            ]
            rules.setdefault(kind, []).append({
                "name": f"grant_{i}_{g.rule.replace('-', '_').lower()}",
                "actions": list(g.actions),
                "effect": "EFFECT_ALLOW",
                "roles": list(g.roles),
                "condition": {"match": {"all": {"of": [{"expr": c} for c in conditions]}}},
            })
    out = {}
    for kind, kind_rules in rules.items():
        body = {
            "apiVersion": "api.cerbos.dev/v1",
            "resourcePolicy": {
                "version": "default",
                "resource": kind,
                "constants": {"local": {"scope": scope}},
                "rules": kind_rules,
            },
        }
        header = f"# The grants of the zxpolicy policy on `{kind}`, and the org scope (generated by bench/cerbos.py).\n"
        out[f"{kind}.yaml"] = header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=1000)
    return out


def write_policies(doc: PolicyDocument, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in policies(doc).items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def config(policy_dir: Path, http_port: int, grpc_port: int) -> str:
    """The server's config: loopback only, no telemetry, no audit log, the policies from disk."""
    body = {
        "server": {
            "httpListenAddr": f"127.0.0.1:{http_port}",
            "grpcListenAddr": f"127.0.0.1:{grpc_port}",
            "requestLimits": {"maxActionsPerResource": 50, "maxResourcesPerRequest": MAX_RESOURCES},
        },
        "storage": {"driver": "disk", "disk": {"directory": str(policy_dir), "watchForChanges": False}},
        "telemetry": {"disabled": True},
        "audit": {"enabled": False},
    }
    return yaml.safe_dump(body, sort_keys=False)


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["CERBOS_NO_TELEMETRY"] = "1"  # also off in the config; either alone keeps it from calling its vendor
    # Cerbos traces to an OTLP collector when these name one; none is wanted here.
    for key in [k for k in env if k.startswith("OTEL_")]:
        del env[key]
    return env


# -- requests -------------------------------------------------------------------------------------


def principal(user: str, role: str, org: str) -> dict[str, Any]:
    return {"id": user, "roles": [role], "attr": {"org": org}}


def resource_entry(r: BenchRequest) -> dict[str, Any]:
    """One resource of a CheckResources request: the action asked, and what the rules read."""
    return {
        "actions": [r.action],
        "resource": {
            "kind": r.kind,
            "id": r.args["resource"].id,
            "attr": {"level": r.level, "org": r.resource_org, "purpose": r.purpose},
        },
    }


def check_body(r: BenchRequest, role: str) -> dict[str, Any]:
    """``POST /api/check/resources`` for one decision."""
    return {"principal": principal(r.user, role, r.user_org), "resources": [resource_entry(r)]}


def batch_body(reqs: list[BenchRequest], role: str) -> dict[str, Any]:
    """``POST /api/check/resources`` for many resources of one principal (the first request's)."""
    first = reqs[0]
    if any((r.user, r.user_org) != (first.user, first.user_org) for r in reqs):
        raise ValueError("a Cerbos batch is one principal's: every request must have the same subject")
    if len(reqs) > MAX_RESOURCES:
        raise ValueError(f"Cerbos takes at most {MAX_RESOURCES} resources per request, not {len(reqs)}")
    return {"principal": principal(first.user, role, first.user_org), "resources": [resource_entry(r) for r in reqs]}


def allowed(response: dict[str, Any]) -> list[dict[str, bool]]:
    """Each resource's actions → allowed, in the order of the request's resources."""
    return [{a: effect == "EFFECT_ALLOW" for a, effect in res["actions"].items()} for res in response["results"]]
