"""A policy directory as it was at a git revision: ``REV:PATH`` → its files in a folder.

Only the files directly in the directory are exported (the loader reads no others), each with
``git cat-file`` by its object id, so that nothing of the working tree or the index is touched.
The revision may come from an untrusted branch: one that starts with ``-`` is refused (and every
revision is passed after ``--end-of-options``, so git never reads it as an option), and a tree
entry whose name is not a plain file name (``..``, a ``/``, not UTF-8) is refused rather than
written, and so is a file larger than the loader ever reads (``MAX_PLAIN_BYTES``), before git is
asked for its content; every file written is then read by the loader, within its bounds.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .._errors import RevisionError
from ..policy import MAX_PLAIN_BYTES


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
        _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    except RevisionError:
        return False
    return True


def export_revision(spec: str, into: Path, repo: Path = Path(".")) -> Path:
    """Write the files of ``REV:PATH`` (a directory of the repository at ``repo``) into ``into``."""
    rev, sep, path = spec.partition(":")
    if not sep or not rev:
        raise RevisionError(f"`{spec}`: expected REV:PATH, e.g. `main:policies`")
    if rev.startswith("-"):
        raise RevisionError(f"`{spec}`: a revision cannot start with `-`")
    tree = f"{rev}:{path.strip('/')}"
    try:
        listing = _git(repo, "ls-tree", "-l", "-z", "--end-of-options", tree)
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
        mode, kind, oid, size = (meta.split() + [b"", b"", b"", b""])[:4]
        if kind != b"blob":
            continue  # a subfolder: the loader does not read it either
        file_name = _plain_name(spec, name)
        if mode not in (b"100644", b"100755"):
            raise RevisionError(f"`{spec}`: `{file_name}` is not a regular file (mode {mode.decode('ascii', 'replace')})")
        if not size.isdigit() or int(size) > MAX_PLAIN_BYTES:
            shown = size.decode("ascii", "replace")
            raise RevisionError(f"`{spec}`: `{file_name}` is {shown} bytes, more than a policy file may hold ({MAX_PLAIN_BYTES})")
        (into / file_name).write_bytes(_git(repo, "cat-file", "blob", oid.decode("ascii")))
        count += 1
    if not count:
        raise RevisionError(f"`{spec}`: no files in that directory at that revision")
    return into


def _plain_name(spec: str, name: bytes) -> str:
    """A tree entry's name as a file name of the export folder; anything else is refused."""
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        raise RevisionError(f"`{spec}`: a file name that is not UTF-8 ({name[:40]!r})") from None
    if text in ("", ".", "..") or "/" in text or "\\" in text or "\0" in text:
        raise RevisionError(f"`{spec}`: `{text[:60]}` is not a plain file name")
    return text
