"""A long ``assignments`` list is validated in chunks (so that a reload hands the GIL over between
them): the same document, and the same problems at the same places, as one call over the list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zxpolicy import PolicyError
from zxpolicy.policy import _loader, load_policy

PEOPLE = 700  # several chunks of 256, and a last one that is not full


def _grow(directory: Path, broken: dict[int, str]) -> None:
    """Append ``PEOPLE`` assignments to the copy's list; ``broken``: index → the entry instead."""
    lines = [
        broken.get(i, f"  - {{id: u-many-{i}, roles: [query_operator], org: east-1}}") for i in range(PEOPLE)
    ]
    path = directory / "assignments.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n".join(lines) + "\n", encoding="utf-8")


def _problems(directory: Path) -> list[tuple[Any, ...]]:
    with pytest.raises(PolicyError) as caught:
        load_policy(directory)
    return [(p.code, p.file, p.line, p.column, p.path, p.message, p.message_en) for p in caught.value.problems]


BROKEN = {
    3: "  - {id: u-no-org, roles: [query_operator]}",
    300: "  - {id: u-extra, roles: [query_operator], org: east-1, rank: 1}",
    301: "  - {id: u-bare-role, roles: query_operator, org: east-1}",
    600: "  - {id: u-nobody, roles: [query_operator], org: east-1, person: []}",
    699: "  - {id: 7, roles: [query_operator], org: east-1}",
}


def test_the_chunks_cover_the_list(policy_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _grow(policy_copy, {})
    calls: list[int] = []
    validate = _loader._ASSIGNMENTS.validate_python
    monkeypatch.setattr(_loader, "_ASSIGNMENTS", type("Spy", (), {
        "validate_python": staticmethod(lambda chunk: calls.append(len(chunk)) or validate(chunk)),
    })())
    chunked = load_policy(policy_copy)
    total = len(chunked.document.assignments)
    assert total > PEOPLE and len(calls) > 1 and sum(calls) == total and max(calls) <= _loader._CHUNK
    monkeypatch.setattr(_loader, "_CHUNK", 10**9)
    calls.clear()
    whole = load_policy(policy_copy)
    assert calls == [] and whole.document == chunked.document


@pytest.mark.parametrize("broken", [BROKEN, {k: v for k, v in BROKEN.items() if k >= 300}], ids=["all", "late"])
def test_problems_are_those_of_one_call(policy_copy: Path, monkeypatch: pytest.MonkeyPatch, broken: dict[int, str]) -> None:
    _grow(policy_copy, broken)
    chunked = _problems(policy_copy)
    monkeypatch.setattr(_loader, "_CHUNK", 10**9)
    assert chunked == _problems(policy_copy)
    text = (policy_copy / "assignments.yaml").read_text(encoding="utf-8").splitlines()
    lines = {problem[2] for problem in chunked}
    assert {text.index(entry) + 1 for entry in broken.values()} <= lines  # each broken entry, on its line


def test_a_missing_section_beside_a_long_list(policy_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _grow(policy_copy, {650: BROKEN[3]})
    (policy_copy / "grants.yaml").unlink()
    chunked = _problems(policy_copy)
    assert [p[0] for p in chunked] == ["missing_section", "missing_field"]
    monkeypatch.setattr(_loader, "_CHUNK", 10**9)
    assert chunked == _problems(policy_copy)
