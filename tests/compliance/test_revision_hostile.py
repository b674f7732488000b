"""``diff REV:PATH`` reads revisions of branches that may be hostile: a revision that git would take
as an option, and tree entries that are not plain file names, are refused with exit 2 (never 1,
which reads as "widened")."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from zxpolicy.cli import main
from zxpolicy.compliance import RevisionError, export_revision

from ..conftest import POLICIES

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          check=True, capture_output=True, input=stdin)
    return done.stdout.decode().strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(POLICIES, repo / "policies")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "policy")
    return repo


def _commit_tree_with(repo: Path, name: bytes) -> str:
    """A commit whose `policies` tree holds the real files plus one entry called ``name``."""
    listing = subprocess.run(["git", "-C", str(repo), "ls-tree", "-z", "HEAD:policies"], check=True, capture_output=True).stdout
    oid = _git(repo, "rev-parse", "HEAD:policies/orgs.yaml")
    tree = _git(repo, "mktree", "-z", stdin=listing + b"100644 blob " + oid.encode() + b"\t" + name + b"\0")
    top = _git(repo, "mktree", stdin=f"040000 tree {tree}\tpolicies\n".encode())
    return _git(repo, "commit-tree", top, "-m", "odd")


def test_a_revision_that_starts_with_a_dash_is_refused(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RevisionError, match="cannot start with `-`"):
        export_revision("--abbrev=1:policies", tmp_path / "x", repo)
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(main, ["diff", "--", "--abbrev=1:policies", "policies"])
    assert result.exit_code == 2 and "Traceback" not in result.output


@pytest.mark.parametrize("name", [b"..", b"b\xffd.yaml"])
def test_a_tree_entry_that_is_not_a_plain_file_name_is_refused(repo: Path, tmp_path: Path, name: bytes,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    commit = _commit_tree_with(repo, name)
    with pytest.raises(RevisionError):
        export_revision(f"{commit}:policies", tmp_path / "x", repo)
    assert not (tmp_path / "orgs.yaml").exists()  # nothing written beside the export folder
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(main, ["diff", f"{commit}:policies", "policies"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_a_plain_revision_still_exports(repo: Path, tmp_path: Path) -> None:
    out = export_revision("HEAD:policies", tmp_path / "x", repo)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in POLICIES.iterdir() if p.is_file())
