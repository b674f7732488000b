"""Versions on disk: the folders a live policy loads a store's versions from, and the cache of
the last good version that a host starts from when its source cannot be had.

    <cache_dir>/
      versions/<hex>/    one version's files as they were loaded (``<hex>``: the version's hash)
      current            JSON: the version the host last ran, its revision and its source

A version's folder is written into a temporary folder beside the others and renamed into place,
and ``current`` is written to a temporary file and ``os.replace``'d over the old one: a reader
sees either whole or not at all. Loading from the cache loads the folder ``current`` names and
checks that it loads as that very version, so a folder changed, or cut short by a crash, never
loads as a different (perhaps weaker) policy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .._errors import PolicyError, StoreError, ZxpolicyError
from ..policy import LoadedPolicy, load_policy

__all__ = ["Cache", "CacheUnusable", "Pointer", "Versions", "folder_name", "policy_files"]

_VERSION = re.compile(r"sha256:([0-9a-f]{16,64})")
_KEEP = 5  # version folders a cache keeps beside the current one: a few to go back to, not every one ever run
_STALE_S = 3600.0  # a temporary folder this old was left by a process that died while writing it


def folder_name(version: str) -> str:
    """The folder of a version: the hex of its hash. Raises ``StoreError`` for a version that is
    not a zxpolicy version (it would be refused anyway: nothing loads as it)."""
    found = _VERSION.fullmatch(version)
    if found is None:
        raise StoreError(
            "store_version_invalid", f"版本`{version[:80]}`不是策略版本（应为 sha256:…）",
            f"`{version[:80]}` is not a policy version (expected sha256:…)",
        )
    return found.group(1)


def _relative(name: str) -> PurePosixPath:
    """A file's path inside a version, refused when it could land outside the version's folder."""
    parts = name.split("/")
    if not name or "\\" in name or "\0" in name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        shown = name[:120].replace("\0", "\\0")
        raise StoreError(
            "store_file_name_invalid", f"策略库中的文件名`{shown}`无效：应为版本内的相对路径",
            f"the store holds a file named `{shown}`: not a relative path inside the version",
        )
    return PurePosixPath(*parts)


def policy_files(directory: Path) -> dict[str, bytes]:
    """The policy files of a directory as the loader reads them: each ``*.yaml`` / ``*.yml``
    directly in it (suites in subfolders are not part of the policy)."""
    found: dict[str, bytes] = {}
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.lower().endswith((".yaml", ".yml")) and entry.is_file():
                found[entry.name] = Path(entry.path).read_bytes()
    return found


def _sync(path: Path) -> None:
    """Make ``path`` (a file, or a folder's entries) reach the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Versions:
    """Folders of versions under one root, each written whole (see the module's docstring).

    ``durable``: each file is synced to disk before its folder is renamed into place (the cache,
    which must outlast a crash of the machine); a private folder of one process need not be."""

    def __init__(self, root: Path, *, durable: bool) -> None:
        self.root = root
        self.durable = durable
        root.mkdir(parents=True, exist_ok=True)

    def path(self, version: str) -> Path:
        return self.root / folder_name(version)

    def put(self, version: str, files: Mapping[str, str | bytes]) -> Path:
        """The folder of ``version`` holding ``files`` (relative path → text), written unless it
        is there already. Raises ``StoreError`` for a file name that is not a relative path, and
        ``OSError`` when it cannot be written."""
        target = self.path(version)
        if target.is_dir():
            return target  # folders are renamed in whole; the caller's load checks it is still this version
        named = [(_relative(name), data) for name, data in files.items()]
        work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
        try:
            for rel, data in named:
                path = work.joinpath(rel)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
                if self.durable:
                    _sync(path)
            try:
                os.rename(work, target)
            except OSError:
                if target.is_dir():  # another process (a sibling worker sharing the cache) put it first
                    return target
                raise
            if self.durable:
                _sync(self.root)
            return target
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def discard(self, version: str) -> None:
        """Remove a version's folder (one that did not load as its version), so that the next
        ``put`` writes it afresh. It is renamed away first: a reader never sees it half removed."""
        try:
            target = self.path(version)
        except StoreError:
            return
        if not target.is_dir():
            return
        doomed = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
        try:
            os.replace(target, doomed / "old")
        except OSError:
            pass
        shutil.rmtree(doomed, ignore_errors=True)

    def prune(self, keep: Iterable[str], most: int = _KEEP) -> None:
        """Remove the folders of versions beyond the ``most`` newest, but never one in ``keep``;
        and temporary folders left by a process that died while writing."""
        kept = set()
        for version in keep:
            try:
                kept.add(folder_name(version))
            except StoreError:
                pass
        try:
            entries = [p for p in self.root.iterdir() if p.is_dir()]
        except OSError:
            return
        now = time.time()
        folders = []
        for path in entries:
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            if path.name.startswith(".tmp-"):
                if now - mtime > _STALE_S:
                    shutil.rmtree(path, ignore_errors=True)
            elif path.name not in kept:
                folders.append((mtime, path))
        folders.sort(reverse=True)
        for _, path in folders[max(most - len(kept), 0):]:
            shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class Pointer:
    """What ``current`` says: the version last run, its store revision (None for a directory),
    the source it came from (a store's URL without its password, or a directory), when it was
    approved (stores) and when it was saved."""

    version: str
    revision: int | None
    source: str
    approved_at: str | None
    saved_at: str

    @classmethod
    def parse(cls, text: str) -> Pointer:
        data: Any = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        revision = data.get("revision")
        approved = data.get("approved_at")
        fields = (data.get("version"), data.get("source"), data.get("saved_at"))
        if not all(isinstance(f, str) for f in fields) or not (revision is None or type(revision) is int) \
                or not (approved is None or isinstance(approved, str)):
            raise ValueError("missing or mistyped fields")
        return cls(str(data["version"]), revision, str(data["source"]), approved, str(data["saved_at"]))


class CacheUnusable(ZxpolicyError):
    """The cache holds no version to start from; ``code``, ``message`` and ``message_en`` say why."""

    def __init__(self, code: str, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code, self.message, self.message_en = code, message, message_en


class Cache:
    """The last good version of one host, kept on disk under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions = Versions(root / "versions", durable=True)
        self.pointer_path = root / "current"

    def remember(self, pointer: Pointer) -> None:
        """Make ``pointer`` the cache's current version (its folder must be in ``versions``)."""
        fd, tmp = tempfile.mkstemp(prefix=".current-", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(asdict(pointer), out, ensure_ascii=False, indent=2)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.pointer_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _sync(self.root)
        self.versions.prune([pointer.version])

    def keep_copy(self, loaded: LoadedPolicy) -> bool:
        """Copy the policy files of a directory just loaded into ``versions``, when the copy
        loads as the same version (the directory may have changed since it was loaded: then
        nothing is kept, and the next reload copies what it loads). Whether it was kept."""
        files = policy_files(loaded.directory)
        try:
            target = self.versions.put(loaded.version, files)
            if load_policy(target).version == loaded.version:
                return True
        except PolicyError:
            pass
        self.versions.discard(loaded.version)
        return False

    def recall(self, source: str) -> tuple[LoadedPolicy, Pointer]:
        """The version ``current`` names, loaded and checked to be that version. Raises
        ``CacheUnusable`` saying why there is none to start from."""
        where = f"`{self.root}`"
        try:
            text = self.pointer_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CacheUnusable("cache_empty", f"缓存 {where} 中没有已保存的版本",
                                f"the cache {where} holds no version") from None
        except OSError as exc:
            raise CacheUnusable("cache_unreadable", f"无法读取缓存 {where}：{exc.strerror or exc}",
                                f"the cache {where} cannot be read: {exc.strerror or exc}") from None
        try:
            pointer = Pointer.parse(text)
        except ValueError as exc:
            raise CacheUnusable("cache_unreadable", f"缓存 {where} 的`current`文件无效：{exc}",
                                f"the cache {where} has an invalid `current` file: {exc}") from None
        if pointer.source != source:
            raise CacheUnusable(
                "cache_other_source", f"缓存 {where} 中的版本来自`{pointer.source}`，而不是`{source}`",
                f"the cache {where} holds a version of `{pointer.source}`, not of `{source}`",
            )
        try:
            loaded = load_policy(self.versions.path(pointer.version))
        except (PolicyError, StoreError) as exc:
            said = str(exc).splitlines()[0]
            raise CacheUnusable("cache_version_mismatch", f"缓存 {where} 中的版本{pointer.version}无法加载：{said}",
                                f"the cache {where} has version {pointer.version}, which does not load: {said}") from None
        if loaded.version != pointer.version:
            raise CacheUnusable(
                "cache_version_mismatch",
                f"缓存 {where} 中的文件加载为 {loaded.version}，而不是它记下的 {pointer.version}：已改动或未写完，不使用",
                f"the cache {where} loads as {loaded.version}, not the {pointer.version} it names: "
                "changed or half-written, not used",
            )
        return loaded, pointer
