"""A live policy on a directory: an edit is picked up by the watcher (no ``reload()`` call), a
save of several files reloads once, and a change that does not load (a broken file, a file half
written) replaces nothing: the running engine goes on deciding, and the failure is in
``status()`` and in a WARNING naming file:line."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

import zxpolicy

from ..decide.test_threads import REQUESTS
from ._helpers import call, engine_of, grants_text, live_threads, policy_copy, replace_file, version, wait_for

SWAPPED = "now runs"  # the INFO line of each swap (``_live._reload``)


def _swaps(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "zxpolicy.live" and SWAPPED in r.getMessage()]


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "zxpolicy.live" and r.levelno == logging.WARNING]


def test_an_edit_is_picked_up_without_a_reload_call(tmp_path: Path) -> None:
    directory = policy_copy(tmp_path / "live", "a")
    b = engine_of(tmp_path, "b")
    with zxpolicy.watch(directory) as live:
        assert live.version == version("a")
        status = live.status()
        assert status.source == str(directory) and status.revision is None and status.last_failure is None
        assert not status.from_cache and status.connected
        replace_file(directory / "grants.yaml", grants_text("b"))
        wait_for(lambda: live.version == b.policy_version, "the watcher loads the edited directory")
        assert [call(live.check, r) for r in REQUESTS] == [call(b.check, r) for r in REQUESTS]
        assert live.status().loaded_at >= status.loaded_at
    assert live_threads() == []  # close() stopped the watcher


def test_a_save_of_several_files_reloads_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="zxpolicy.live")
    directory = policy_copy(tmp_path / "live", "a")
    purposes = (directory / "purposes.yaml").read_text(encoding="utf-8")
    with zxpolicy.watch(directory) as live:
        wait_for(lambda: live.status().last_failure is None, "started")
        caplog.clear()
        # An editor's "save all": three files within a few milliseconds, each replaced whole.
        replace_file(directory / "grants.yaml", grants_text("b"))
        replace_file(directory / "purposes.yaml", purposes + "\n# reviewed\n")
        (directory / "orgs.yaml").write_text(
            (directory / "orgs.yaml").read_text(encoding="utf-8") + "\n# reviewed\n", encoding="utf-8"
        )
        expected = zxpolicy.load(directory).policy_version
        wait_for(lambda: live.version == expected, "the watcher loads the saved files")
        # Two more seconds of quiet: a second reload of the same save would have come by now
        # (the debounce holds a batch at most 0.3 s).
        time.sleep(2.0)
        assert len(_swaps(caplog)) == 1, _swaps(caplog)


def test_a_broken_change_replaces_nothing_and_says_where(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    directory = policy_copy(tmp_path / "live", "a")
    a = engine_of(tmp_path, "a")
    with zxpolicy.watch(directory) as live:
        text = grants_text("a")
        broken = text.replace("roles: [query_operator]", "roles: [query_operater]", 1)
        assert broken != text
        replace_file(directory / "grants.yaml", broken)
        wait_for(lambda: live.status().last_failure is not None, "the failed reload is reported")
        assert live.reload() is False
        failure = live.status().last_failure
        assert failure is not None
        assert any(p.code == "unknown_role" and p.file.endswith("grants.yaml") and p.line > 0 for p in failure.problems)
        assert "query_operater" in failure.text("en") and "grants.yaml:" in failure.text("en")
        assert failure.to_dict()["problems"][0]["message"]  # Chinese, for people
        assert live.version == a.policy_version
        assert [call(live.check, r) for r in REQUESTS] == [call(a.check, r) for r in REQUESTS]
        wait_for(lambda: any("does not load" in w and "grants.yaml:" in w and a.policy_version in w
                             for w in _warnings(caplog)), "a WARNING names the file and line, and the version running")
        # Fixed: the next change loads, and the failure is gone from the status.
        replace_file(directory / "grants.yaml", grants_text("b"))
        wait_for(lambda: live.version == version("b"), "the fixed file loads")
        assert live.status().last_failure is None


def test_a_half_written_file_never_loads(tmp_path: Path) -> None:
    """A file cut short where a writer stopped (mid-entry) is not a policy: the engine running
    stays until the file is whole, and the version that then loads is the whole file's."""
    directory = policy_copy(tmp_path / "live", "a")
    a = engine_of(tmp_path, "a")
    whole = grants_text("whole")
    cut = whole.encode("utf-8")[: whole.encode("utf-8").index(b"roles: [query_operator]") + len(b"roles: [que")]
    seen: set[str] = set()
    with zxpolicy.watch(directory) as live:
        (directory / "grants.yaml").write_bytes(cut)  # written in place, not replaced: a writer mid-way
        wait_for(lambda: live.status().last_failure is not None, "the half-written file is refused")
        seen.add(live.version)
        assert live.reload() is False and live.version == a.policy_version
        failure = live.status().last_failure
        assert failure is not None and any(p.file.endswith("grants.yaml") for p in failure.problems)
        with (directory / "grants.yaml").open("ab") as f:
            f.write(whole.encode("utf-8")[len(cut):])
        wait_for(lambda: live.version != a.policy_version, "the whole file loads")
        seen.add(live.version)
    assert seen == {a.policy_version, zxpolicy.load(directory).policy_version}


def test_a_directory_that_does_not_load_is_not_watched(tmp_path: Path) -> None:
    directory = policy_copy(tmp_path / "live", "a")
    (directory / "grants.yaml").write_text("grants: [\n", encoding="utf-8")
    with pytest.raises(zxpolicy.PolicyError) as caught:
        zxpolicy.watch(directory)
    assert any(p.file.endswith("grants.yaml") for p in caught.value.problems)
    assert live_threads() == []


def test_a_live_policy_logs_what_each_engine_decided(tmp_path: Path) -> None:
    """One log for every engine the live policy runs: each record names the version that decided."""
    from zxpolicy.log import open_log

    directory = policy_copy(tmp_path / "live", "a")
    log_path = tmp_path / "decisions.db"
    with zxpolicy.watch(directory, log=log_path) as live:
        first = call(live.check, REQUESTS[0])
        replace_file(directory / "grants.yaml", grants_text("b"))
        assert live.reload() or live.version == version("b")
        second = call(live.check, REQUESTS[0])
    assert first.policy_version == version("a") and second.policy_version == version("b")
    log = open_log(log_path, read_only=True)
    try:
        rows = [row for row in log.rows() if row.decision_id in (first.decision_id, second.decision_id)]
        versions = [row.record().policy_version for row in rows]
    finally:
        log.close()
    assert versions == [version("a"), version("b")]


def test_a_reload_failing_for_no_coded_reason_is_still_a_problem_with_a_code() -> None:
    from zxpolicy.live._source import problems_of

    (problem,) = problems_of(OSError(28, "No space left on device"), "/srv/policies")
    assert problem.code == "live_reload_failed" and problem.file == "/srv/policies"
    assert "重新加载失败" in problem.message and "No space left on device" in problem.message_en


def test_a_replaced_engine_is_freed(tmp_path: Path) -> None:
    """Engines are frozen out of the collector's reach after each swap (``gc.freeze``): one that
    is replaced must still be freed, by reference counting alone, or every reload would leak a
    whole policy."""
    import gc
    import weakref

    directory = policy_copy(tmp_path / "live", "a")
    try:
        with zxpolicy.watch(directory) as live:
            first = weakref.ref(live.engine)
            for variant in ("b", "a", "b"):
                replace_file(directory / "grants.yaml", grants_text(variant))
                wait_for(lambda: live.version == version(variant), "the change runs")
            call(live.check, REQUESTS[0])
        assert first() is None
    finally:
        gc.unfreeze()
