"""A policy directory as it was at a git revision: ``REV:PATH`` → its files in a folder.

Only the files directly in the directory are exported (the loader reads no others), each with
``git cat-file``, so that nothing of the working tree or the index is touched.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ._errors import ZxpolicyError


class RevisionError(ZxpolicyError):
    """A ``REV:PATH`` that git cannot give."""


def _git(repo: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except OSError as exc:
        raise RevisionError(f"cannot run git: {exc.strerror or exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RevisionError(f"git {' '.join(args[:2])}: {message[-1] if message else 'failed'}")
    return done.stdout


def export_revision(spec: str, into: Path, repo: Path = Path(".")) -> Path:
    """Write the files of ``REV:PATH`` (a directory of the repository at ``repo``) into ``into``."""
    rev, sep, path = spec.partition(":")
    if not sep or not rev:
        raise RevisionError(f"`{spec}`: expected REV:PATH, e.g. `main:policies`")
    tree = f"{rev}:{path.strip('/')}"
    listing = _git(repo, "ls-tree", "-z", tree)
    into.mkdir(parents=True, exist_ok=True)
    count = 0
    for entry in filter(None, listing.split(b"\0")):
        meta, _, name = entry.partition(b"\t")
        if meta.split()[1] != b"blob":
            continue  # a subfolder: the loader does not read it either
        file_name = name.decode("utf-8")
        (into / file_name).write_bytes(_git(repo, "cat-file", "blob", f"{tree}/{file_name}"))
        count += 1
    if not count:
        raise RevisionError(f"`{spec}`: no files in that directory at that revision")
    return into
