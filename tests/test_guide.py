"""The compliance guide (docs/zh/合规指南.md) runs as written.

Its ``sh`` blocks are run in order, line by line, with bash, in a scratch folder holding a copy of
``policies/`` and ``examples/``, with the installed ``zxpolicy`` on PATH: every command must exit
0, or the code its line names (``# 退出码 N``). What the reader does by hand between commands is
marked for this test by an HTML comment before a block, which Markdown does not show:

- ``<!-- guide: append FILE -->`` / ``<!-- guide: create FILE -->``: the next ``yaml`` block is
  what the reader adds to FILE (at its end), or the whole of a new FILE;
- ``<!-- guide: save-head FILE -->``: the reader copies the chain head that the last
  ``daily-check`` printed onto the signed review; the IT staff keep it, a line in FILE;
- ``<!-- guide: with-decision-id -->``: the next ``text`` block is a command with a placeholder,
  ``决定编号``, for a decision id the host application kept; it runs with the id of the last
  record of the log.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zxpolicy.log import open_log

from .conftest import REPO

GUIDE = REPO / "docs" / "zh" / "合规指南.md"
BLOCK = re.compile(r"(?:<!-- guide: (?P<mark>[^>]*?) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)
EXIT = re.compile(r"\s+#\s*退出码\s*(\d+)\s*$")
HEAD = re.compile(r"\b(\d+):([0-9a-f]{64})\b")


def _commands(body: str) -> list[str]:
    """The block's commands: comment lines dropped, ``\\``-continued lines joined."""
    commands, pending = [], ""
    for line in body.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        commands.append(pending + line)
        pending = ""
    return commands


def _run(command: str, cwd: Path) -> tuple[int, str]:
    expected = 0
    m = EXIT.search(command)
    if m:
        expected, command = int(m[1]), command[: m.start()]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("ZXPOLICY_POLICY_DIR", None)
    proc = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == expected, f"`{command}` exited {proc.returncode}, the guide says {expected}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    return proc.returncode, proc.stdout


def _last_decision_id(log: Path) -> str:
    store = open_log(log, read_only=True)
    try:
        *_, last = store.rows()
        return str(last.decision_id)
    finally:
        store.close()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("guide")
    shutil.copytree(REPO / "policies", work / "policies")
    shutil.copytree(REPO / "examples", work / "examples")
    return work


def test_every_command_of_the_compliance_guide_runs_as_written(workdir: Path) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    ran: list[str] = []
    last_out = ""
    for m in BLOCK.finditer(text):
        mark, lang, body = m["mark"] or "", m["lang"], m["body"]
        verb, _, arg = mark.partition(" ")
        if verb in ("append", "create"):
            assert lang == "yaml", mark
            target = workdir / arg
            if verb == "create":
                assert not target.exists(), f"{arg} exists already"
                target.write_text(body, encoding="utf-8")
            else:
                with target.open("a", encoding="utf-8") as f:
                    f.write(body)
            continue
        if verb == "save-head":
            heads = HEAD.findall(last_out)
            assert heads, "no chain head in the output of the command before"
            seq, digest = heads[-1]
            (workdir / arg).write_text(f"{seq}:{digest}\n", encoding="utf-8")
        if verb == "with-decision-id":
            (command,) = _commands(body)
            log = workdir / command.split()[3]  # zxpolicy log show LOG ID
            _run(command.replace("决定编号", _last_decision_id(log)), workdir)
            ran.append(command)
            continue
        if lang != "sh":
            continue
        for command in _commands(body):
            _, last_out = _run(command, workdir)
            ran.append(command)
    # the guide covers the workflow it promises
    joined = "\n".join(ran)
    for needed in ("zxpolicy validate", "zxpolicy test", "zxpolicy diff", "zxpolicy check", "zxpolicy explain",
                   "zxpolicy log verify", "zxpolicy log daily-check", "zxpolicy log monthly-report", "--anchors",
                   "zxpolicy log show"):
        assert needed in joined, needed


def test_the_guide_is_linked_from_the_readme() -> None:
    assert "docs/zh/合规指南.md" in (REPO / "README.md").read_text(encoding="utf-8")
