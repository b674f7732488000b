"""A policy repository outside this one gets its invariants run by plain ``pytest``.

The repository is built in a temporary folder: a copy of the policy, a test of its own, and a
``pytest.ini`` that names the policy directory. pytest runs in a subprocess with the zxpolicy
under test importable; where zxpolicy is installed, its ``pytest11`` entry point loads the
plugin, and from a source checkout the test loads it with ``-p``, as the README says.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

import zxpolicy

from ..conftest import POLICIES, REPO


def _repo(root: Path, ini: str | None = None) -> Path:
    if ini is None:  # the README's configuration, with fewer examples to keep this test short
        ini = _readme_block("ini", "zxpolicy_policy_dir") + "zxpolicy_max_examples = 30\n"
    shutil.copytree(POLICIES, root / "policies")
    (root / "tests").mkdir()
    (root / "tests" / "test_own.py").write_text("def test_own_rule():\n    assert 1 + 1 == 2\n", encoding="utf-8")
    (root / "pytest.ini").write_text(ini, encoding="utf-8")
    return root


def _pytest(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    installed = any(e.value == "zxpolicy.testing.pytest_plugin" for e in entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "zxpolicy.testing.pytest_plugin"]
    env = {**os.environ, "PYTHONPATH": str(Path(zxpolicy.__file__).resolve().parent.parent)}
    env.pop("ZXPOLICY_POLICY_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *plugin, *args],
        cwd=repo, env=env, capture_output=True, text=True, timeout=600,
    )


def test_plain_pytest_runs_the_invariants_of_a_policy_repository(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    done = _pytest(repo)
    assert done.returncode == 0, done.stdout + done.stderr
    passed = [line for line in done.stdout.splitlines() if line.startswith("PASSED")]
    assert "PASSED tests/test_own.py::test_own_rule" in passed
    invariants = sorted(line.rsplit("::", 1)[1] for line in passed if "::INV-" in line)
    assert invariants == [f"INV-{i:02}" for i in range(1, 19)]
    assert "19 passed" in done.stdout

    # The same repository with a mutant policy: the invariant it breaks fails, with its request.
    purposes = repo / "policies" / "purposes.yaml"
    purposes.write_text(purposes.read_text(encoding="utf-8").replace("consent: true", "consent: false", 1), encoding="utf-8")
    done = _pytest(repo)
    assert done.returncode == 1, done.stdout + done.stderr
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "::INV-02" in failed[0], failed
    assert "INV-02 requires_consent [细则 第十七条；条例 第十八条]" in done.stdout
    assert '"purpose": "loan_review"' in done.stdout


def test_the_plugin_does_nothing_unless_asked(tmp_path: Path) -> None:
    repo = _repo(tmp_path, ini="[pytest]\n")
    done = _pytest(repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout and "INV-" not in done.stdout
    # Asked on the command line instead of the ini file.
    done = _pytest(repo, "--zxpolicy-verify", "policies", "-k", "INV-01 or INV-04")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout and "::INV-01" in done.stdout and "::INV-04" in done.stdout


def _readme_block(language: str, needle: str) -> str:
    """The README's code block holding ``needle``, on its README line numbers: code compiled as
    `README.md` then has the file's lines for tracebacks and for ``inspect`` (which hypothesis
    reads to derive a derandomized seed)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    (match,) = [m for m in re.finditer(rf"```{language}\n(.*?)```", text, flags=re.S) if needle in m.group(1)]
    return "\n" * text.count("\n", 0, match.start(1)) + match.group(1)


def test_the_readme_property_testing_example_runs_as_written(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    exec(compile(_readme_block("python", "zxpolicy.testing"), "README.md", "exec"), {})
    assert capsys.readouterr().out.splitlines() == ["True 18"]


def test_the_readme_invariant_is_the_shipped_one() -> None:
    block = yaml.safe_load(_readme_block("yaml", "INV-15"))
    shipped = yaml.safe_load((POLICIES / "invariants.yaml").read_text(encoding="utf-8"))["invariants"]
    assert block[0] in shipped


def test_a_policy_that_does_not_load_is_one_failing_test(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "policies" / "orgs.yaml").write_text("orgs: []\n", encoding="utf-8")
    done = _pytest(repo)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED policies/invariants::load" in done.stdout
    assert "policy does not load" in done.stdout and "orgs.yaml" in done.stdout
