"""A policy directory as it was at a git revision: ``REV:PATH`` → its files in a folder.

Only the files directly in the directory are exported (the loader reads no others), each with
``git cat-file``, so that nothing of the working tree or the index is touched.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .._errors import RevisionError


def _git(repo: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except OSError as exc:
        raise RevisionError(f"cannot run git: {exc.strerror or exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RevisionError(f"git {' '.join(args[:2])}: {message[-1] if message else 'failed'}")
    return done.stdout


def _resolves(repo: Path, rev: str) -> bool:
    try:
        _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except RevisionError:
        return False
    return True


def export_revision(spec: str, into: Path, repo: Path = Path(".")) -> Path:
    """Write the files of ``REV:PATH`` (a directory of the repository at ``repo``) into ``into``."""
    rev, sep, path = spec.partition(":")
    if not sep or not rev:
        raise RevisionError(f"`{spec}`: expected REV:PATH, e.g. `main:policies`")
    tree = f"{rev}:{path.strip('/')}"
    try:
        listing = _git(repo, "ls-tree", "-z", tree)
    except RevisionError:
        # A fresh clone of another branch has no local `main`, only `origin/main`: say so.
        if not _resolves(repo, rev) and _resolves(repo, f"origin/{rev}"):
            raise RevisionError(
                f"`{spec}`: no revision `{rev}` in this clone, but `origin/{rev}` exists: "
                f"use `origin/{rev}:{path}`"
            ) from None
        raise
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
