"""``zxpolicy validate`` runs what ``zxpolicy.load`` runs, and neither raises anything but a
``ZxpolicyError``: a policy that validates loads, one that does not is refused by both with the
same problems. Which files of a directory are read, and which are refused, is part of it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import zxpolicy
import zxpolicy.decide._engine
from zxpolicy import PolicyError, ZxpolicyError
from zxpolicy.cli import main

from .test_policy_errors import CASES, EmptyDirectory
from .test_problem_codes import MORE, assert_well_formed


def _validate(directory: Path) -> tuple[int, list[dict[str, object]]]:
    result = CliRunner().invoke(main, ["validate", "--json", str(directory)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout).get("problems", [])


def _load(directory: Path) -> list[dict[str, object]]:
    try:
        zxpolicy.load(directory)
    except PolicyError as exc:
        return [p.to_dict() for p in exc.problems]
    return []


def _agree(directory: Path) -> list[dict[str, object]]:
    code, problems = _validate(directory)
    assert problems == _load(directory)
    assert code == (1 if problems else 0)
    return problems


@pytest.mark.parametrize("case", [c for c in CASES + MORE if not isinstance(c.edit, EmptyDirectory)], ids=lambda c: c.id)
def test_validate_and_load_agree_on_every_broken_policy(policy_copy: Path, case: object) -> None:
    case.edit(policy_copy / case.file)  # type: ignore[attr-defined]
    assert _agree(policy_copy)


@pytest.mark.parametrize(
    ("old", "new"),
    [("password_max_age_days: 30 ", "password_max_age_days: 1000000000000 "),
     ("password_max_age_days: 30 ", "password_max_age_days: 3651 "),
     ("password_max_age_days: 30 ", "password_max_age_days: 0 ")],
)
def test_a_setting_out_of_its_range_is_refused_by_both(policy_copy: Path, old: str, new: str) -> None:
    path = policy_copy / "rules.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    (problem,) = _agree(policy_copy)
    assert (problem["code"], problem["path"]) == ("out_of_range", "settings.password_max_age_days")


def test_the_reports_thresholds_are_bounded(policy_copy: Path) -> None:
    path = policy_copy / "reporting.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("repeat_threshold: 3 ", "repeat_threshold: 10000000000 "), encoding="utf-8")
    (problem,) = _agree(policy_copy)
    assert (problem["code"], problem["path"]) == ("out_of_range", "reporting.repeat_threshold")


def test_a_policy_that_does_not_compile_is_a_policy_error(policy_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(document: object) -> object:
        raise OverflowError("date value out of range\nsecond line")

    monkeypatch.setattr(zxpolicy.decide._engine, "compile_policy", broken)
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    (problem,) = info.value.problems
    assert (problem.code, problem.file) == ("policy_does_not_compile", "policies")
    assert problem.message_en == "the policy does not compile: OverflowError: date value out of range"
    assert_well_formed(problem)
    assert isinstance(info.value.__cause__, OverflowError)
    assert [p["code"] for p in _agree(policy_copy)] == ["policy_does_not_compile"]


# Contents that once escaped as something other than a PolicyError (a ValueError of a date that
# does not exist, a RecursionError, an OverflowError, a TypeError of a key that is a list).
ODD = [
    "orgs: 2026-02-30\n",
    "orgs: 2026-01-01 25:00:00\n",
    "orgs: [{id: hq, zh: 市联社, en: city union, parent: 1e999}]\n",
    "? [a, b]\n: c\norgs: []\n",
    "orgs: {[a]: b}\n",
    "orgs: {.nan: 1, .nan: 2}\n",
    "=: 1\norgs: []\n",
    "orgs: " + "9" * 5000 + "\n",
    "orgs: &a [*a]\n",
    "orgs: " + "[" * 3000 + "]" * 3000 + "\n",
    "\ufeff\ufeff",
    "orgs: !!binary aGVsbG8=\n",
    "%YAML 1.1\n%TAG ! tag:example.com,2000:\n---\norgs: !x []\n",
    "\x00\x01\x02",
]


@pytest.mark.parametrize("text", ODD, ids=range(len(ODD)))
def test_nothing_but_a_policy_error_comes_out(policy_copy: Path, text: str) -> None:
    (policy_copy / "orgs.yaml").write_text(text, encoding="utf-8")
    try:
        zxpolicy.load(policy_copy)
    except ZxpolicyError as exc:
        assert isinstance(exc, PolicyError)
        for problem in exc.problems:
            assert_well_formed(problem)
    else:
        pytest.fail("loaded")
    _agree(policy_copy)


# --------------------------------------------------------------------------------------------
# Which files are read.


def test_policy_files_are_read_whatever_the_case_of_their_suffix(policy_copy: Path) -> None:
    before = zxpolicy.load(policy_copy).document
    (policy_copy / "grants.yaml").rename(policy_copy / "Grants.YAML")
    (policy_copy / "orgs.yaml").rename(policy_copy / "orgs.Yml")
    assert zxpolicy.load(policy_copy).document == before
    assert _agree(policy_copy) == []


@pytest.mark.parametrize("name", ["README", "README.md", "readme.txt", "NOTES.md", "LICENSE", ".gitignore", ".DS_Store", ".grants.yaml.swp", "CHANGES.rst"])
def test_notes_beside_the_policy_are_not_read(policy_copy: Path, name: str) -> None:
    before = zxpolicy.load(policy_copy).policy_version
    (policy_copy / name).write_bytes(b"\xff\xfe not yaml: [")
    (policy_copy / "subfolder").mkdir()
    (policy_copy / "subfolder" / "x.json").write_text("{", encoding="utf-8")
    assert zxpolicy.load(policy_copy).policy_version == before


@pytest.mark.parametrize("name", ["grants.yaml.bak", "grants.yaml~", "notes.json", "policy.toml", "grants.yam", "assignments.csv", "Makefile"])
def test_any_other_file_is_refused(policy_copy: Path, name: str) -> None:
    (policy_copy / name).write_text("grants: []\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    (problem,) = info.value.problems
    assert (problem.code, problem.file, problem.line) == ("unexpected_file", name, 0)
    assert problem.message_en == (
        "a policy directory holds policy files (`*.yaml`, `*.yml`) and notes (`README*`, `*.md`, `*.txt`) only; "
        "rename the file to `.yaml` or move it out"
    )
    assert_well_formed(problem)
    assert [p["code"] for p in _agree(policy_copy)] == ["unexpected_file"]


def test_a_file_name_that_is_not_utf8_is_refused(policy_copy: Path) -> None:
    name = os.fsdecode(b"grants-\xff.yaml")
    try:
        (policy_copy / name).write_text("x: 1\n", encoding="utf-8")
    except (OSError, UnicodeEncodeError):
        pytest.skip("the file system takes UTF-8 names only")
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_copy)
    (problem,) = info.value.problems
    assert (problem.code, problem.file) == ("unexpected_file", "grants-\ufffd.yaml")
    assert_well_formed(problem)


def test_an_unreadable_directory_is_a_policy_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    # Root reads any folder whatever its mode (and CI runs as root), so the refusal is made by
    # the listing itself, as the kernel gives it to an ordinary user.
    def refused(path: Any) -> Any:
        if Path(path) == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    real = os.scandir
    monkeypatch.setattr(os, "scandir", refused)
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(folder)
    (problem,) = info.value.problems
    assert problem.code == "unreadable_file" and problem.file == str(folder)
