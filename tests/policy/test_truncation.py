"""A policy file cut short never loads as a wider policy.

A file cut at a line boundary (a copy that stopped, a half-saved edit, a merge gone wrong) is
still valid YAML with fewer entries. Cut after its first chain, approvals.yaml used to load with
A-02..A-08 gone: providing a credit report outside, or destroying one, needed no approval at all.
The parts of a policy must fit together: every rule of the catalogue is used by something, a
grant cites the rule of check `grant` or of an approval chain for what it grants, and every level
has its classification entry. The last test cuts every file of the bundled policy at every line:
each cut fails to load, or decides no request class more loosely than the whole policy.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

import zxpolicy
from zxpolicy import PolicyError
from zxpolicy.compliance import diff_policies
from zxpolicy.decide import Engine
from zxpolicy.policy import LoadedPolicy, load_policy

from ..conftest import POLICIES


def _cut_before(path: Path, line_start: str) -> int:
    """Cut ``path`` before the line that starts with ``line_start`` (and the blank lines before
    it); the number of lines kept."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    (n,) = [i for i, line in enumerate(lines) if line.startswith(line_start)]
    while n and not lines[n - 1].strip():
        n -= 1
    path.write_text("".join(lines[:n]), encoding="utf-8")
    return n


def test_approvals_cut_after_the_first_chain_does_not_load(policy_copy: Path) -> None:
    _cut_before(policy_copy / "approvals.yaml", "  - rule: A-02")
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    found = {(p.code, p.file, p.path) for p in info.value.problems}
    # each grant for an approval rule whose chain is gone: A-02 .. A-08
    assert {("grant_rule_without_chain", "grants.yaml", f"grants[{i}].rule") for i in range(3, 10)} <= found, found
    text = (policy_copy / "grants.yaml").read_text(encoding="utf-8")
    a03 = next(p for p in info.value.problems if p.path == "grants[4].rule")
    assert a03.line == text[: text.index("  - rule: A-03")].count("\n") + 1
    assert a03.message_en == (
        "the grant cites rule `A-03`, which is neither the rule of check `grant` (`Q-03`) nor that of an approval "
        "chain for its actions and kinds; is the chain missing?"
    )


def test_classification_cut_short_does_not_load(policy_copy: Path) -> None:
    # top_secret keeps one of its two steps, and the custodian's exemption (C-02) is gone
    _cut_before(policy_copy / "classification.yaml", "      - [general_manager]")
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    (problem,) = info.value.problems
    text = (policy_copy / "rules.yaml").read_text(encoding="utf-8")
    assert (problem.code, problem.file, problem.path) == ("rule_unused", "rules.yaml", "rules[20].id")
    assert problem.line == text[: text.index("{id: C-02")].count("\n") + 1
    assert problem.message_en.startswith("rule `C-02` is used by nothing")


def test_a_level_left_out_of_classification_does_not_load(policy_copy: Path) -> None:
    _cut_before(policy_copy / "classification.yaml", "    confidential:")
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    assert {p.code for p in info.value.problems} >= {"level_without_classification"}


def _cuts(root: Path) -> list[tuple[str, int, Path]]:
    """A copy of the bundled policy for every file cut at every line: (file, lines kept, folder)."""
    names = sorted(p.name for p in POLICIES.glob("*.yaml"))
    whole = {name: (POLICIES / name).read_bytes() for name in names}
    out = []
    for name in names:
        lines = whole[name].splitlines(keepends=True)
        assert b"".join(lines) == whole[name]
        for n in range(len(lines)):
            folder = root / f"{name}-{n}"
            folder.mkdir()
            for other, data in whole.items():
                (folder / other).write_bytes(b"".join(lines[:n]) if other == name else data)
            out.append((name, n, folder))
    return out


def test_no_cut_of_any_file_widens_the_policy(tmp_path: Path) -> None:
    started = time.monotonic()
    full = zxpolicy.load(POLICIES)
    cuts = _cuts(tmp_path)
    distinct: dict[str, list[tuple[LoadedPolicy, str]]] = {}  # the document's JSON → documents loaded, and one cut giving each
    loaded = 0
    for name, n, folder in cuts:
        try:
            policy = load_policy(folder)
        except PolicyError:
            continue
        loaded += 1
        # cuts in comments give the same document: each distinct one is compared once
        same = distinct.setdefault(policy.document.model_dump_json(), [])
        if not any(policy.document == seen.document for seen, _ in same):
            same.append((policy, f"{name} cut after line {n}"))
        shutil.rmtree(folder)
    compared = 0
    for policies in distinct.values():
        for policy, where in policies:
            diff = diff_policies(full, Engine(policy))
            compared += 1
            widened = [c for c in diff.changes if c.mark == "widened"] + [p for p in diff.people if p.mark == "widened"]
            assert not diff.widened, f"{where} loads and widens {len(widened)} classes, e.g. {widened[:2]}"
    # most cuts do not load; those that do leave out assignments, grants, invariants or reports
    print(f"\n{len(cuts)} cuts, {loaded} load, {compared} distinct documents diffed, {time.monotonic() - started:.1f} s")
    assert len(cuts) > 500 and 0 < compared <= loaded < len(cuts) // 3
