"""A policy is loaded from one snapshot of its files, never from a mix of old and new files.

An editor or a checkout rewrites files while a service loads them: each file is looked at (size,
times, inode) before all are read and again after, with the directory's listing; a change means
the files are read again, and a directory that keeps changing fails to load
(``policy_changed_while_reading``) rather than give a policy that never existed on disk.
"""

from __future__ import annotations

import os
import random
import shutil
import threading
import time
from pathlib import Path

import pytest

import zxpolicy
from zxpolicy import PolicyError
from zxpolicy.policy import PolicyDocument, load_policy

from ..conftest import POLICIES

# Two versions of a policy that differ in two files: the org tree's label of `hq` and the daily
# check's volume threshold. Each loads; a mix of them loads too, and is told apart by the pair.
ORGS_V1, ORGS_V2 = "en: city union}", "en: city union (second version)}"
VOLUME_V1, VOLUME_V2 = "daily_volume_threshold: 50 ", "daily_volume_threshold: 5000 "


def _version(doc: PolicyDocument) -> tuple[str, int]:
    assert doc.reporting is not None
    return doc.orgs[0].en, doc.reporting.daily_volume_threshold


V1 = ("city union", 50)
V2 = ("city union (second version)", 5000)


def _texts(root: Path) -> dict[int, dict[str, bytes]]:
    orgs = (root / "orgs.yaml").read_text(encoding="utf-8")
    reporting = (root / "reporting.yaml").read_text(encoding="utf-8")
    assert orgs.count(ORGS_V1) == 1 and reporting.count(VOLUME_V1) == 1
    return {
        1: {"orgs.yaml": orgs.encode(), "reporting.yaml": reporting.encode()},
        2: {"orgs.yaml": orgs.replace(ORGS_V1, ORGS_V2).encode(), "reporting.yaml": reporting.replace(VOLUME_V1, VOLUME_V2).encode()},
    }


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target, ignore=shutil.ignore_patterns("tests"))
    return target


def test_both_versions_load(policy_dir: Path) -> None:
    texts = _texts(policy_dir)
    for n, expected in ((2, V2), (1, V1)):
        for name, data in texts[n].items():
            (policy_dir / name).write_bytes(data)
        assert _version(load_policy(policy_dir).document) == expected


def test_loading_while_an_editor_rewrites_two_files_never_gives_a_mix(policy_dir: Path) -> None:
    texts = _texts(policy_dir)
    stop = threading.Event()
    rng = random.Random(7)

    def writer() -> None:
        n = 1
        while not stop.is_set():
            n = 3 - n
            # one file rewritten in place (truncated, then written), the other replaced whole
            (policy_dir / "orgs.yaml").write_bytes(texts[n]["orgs.yaml"])
            temporary = policy_dir / ".reporting.yaml.tmp"
            temporary.write_bytes(texts[n]["reporting.yaml"])
            os.replace(temporary, policy_dir / "reporting.yaml")
            time.sleep(rng.choice([0, 0.001, 0.005, 0.02, 0.06, 0.1]))

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    seen: dict[object, int] = {}
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sum(seen.values()) < 150:
            try:
                got: object = _version(load_policy(policy_dir).document)
            except PolicyError as exc:
                got = tuple(sorted({p.code for p in exc.problems}))
            seen[got] = seen.get(got, 0) + 1
    finally:
        stop.set()
        thread.join()
    mixes = {k: n for k, n in seen.items() if k not in (V1, V2) and not (isinstance(k, tuple) and all(isinstance(c, str) for c in k))}
    assert not mixes, f"loads that gave a policy of neither version: {mixes} (all: {seen})"
    # a load that failed said why: the files kept changing, or one was caught half written
    # (a section missing, an empty file) — never anything that loaded
    assert seen.get(V1, 0) + seen.get(V2, 0) > 0, seen
    # once the writer stops, the directory loads as it stands
    assert _version(load_policy(policy_dir).document) in (V1, V2)


def test_a_file_rewritten_while_the_others_are_read_is_read_again(policy_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts(policy_dir)
    read = Path.read_bytes
    edits = []

    def reading(self: Path) -> bytes:
        data = read(self)
        if self.name == "purposes.yaml" and not edits:
            # between reading orgs.yaml and reporting.yaml, an editor saves both
            for name, text in texts[2].items():
                (self.parent / name).write_bytes(text)
            edits.append(self.name)
        return data

    monkeypatch.setattr(Path, "read_bytes", reading)
    loaded = load_policy(policy_dir)
    assert edits and _version(loaded.document) == V2
    monkeypatch.undo()
    assert loaded.version == load_policy(policy_dir).version


def test_a_file_added_while_reading_is_seen(policy_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read = Path.read_bytes
    added = []

    def reading(self: Path) -> bytes:
        if self.name == "approvals.yaml" and not added:
            (self.parent / "zz-extra.yaml").write_text("orgz: []\n", encoding="utf-8")
            added.append(1)
        return read(self)

    monkeypatch.setattr(Path, "read_bytes", reading)
    with pytest.raises(PolicyError) as info:
        load_policy(policy_dir)
    assert added and [p.path for p in info.value.problems] == ["orgz"]


def test_a_directory_that_keeps_changing_does_not_load(policy_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts(policy_dir)
    read = Path.read_bytes
    n = [1]

    def reading(self: Path) -> bytes:
        data = read(self)
        if self.name == "purposes.yaml":
            n[0] = 3 - n[0]
            for name, text in texts[n[0]].items():
                (self.parent / name).write_bytes(text)
        return data

    monkeypatch.setattr(Path, "read_bytes", reading)
    with pytest.raises(PolicyError) as info:
        zxpolicy.load(policy_dir)
    (problem,) = info.value.problems
    assert problem.code == "policy_changed_while_reading"
    assert problem.file == str(policy_dir)
    assert "kept changing" in problem.message_en and "变化" in problem.message
