"""The layout holds: the pipeline in the folder tree, imports one way, and no stage or benchmark
reaching into another stage's private modules. (import-linter's contracts in pyproject.toml hold
the direction; this holds the privacy, which import-linter has no contract for.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import REPO

SRC = REPO / "src" / "zxpolicy"
STAGES = ("policy", "compile", "decide", "compliance", "testing", "log", "store", "live", "serve", "console", "cli")


def _imports(path: Path, package: list[str]) -> list[tuple[int, str]]:
    """Every module or name a file imports, as an absolute dotted name."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out += [(node.lineno, f"{module}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return out


def _private_owner(name: str) -> str | None:
    """The package whose private module (or name) ``name`` reaches into, if any."""
    parts = name.split(".")
    if parts[0] != "zxpolicy":
        return None
    for i, part in enumerate(parts[1:], 1):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def _package(path: Path) -> list[str]:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return parts if parts[-1] == "__init__" and parts.pop() is not None else parts[:-1]


def _reaching(files: list[Path], inside: bool, base: Path = REPO) -> list[str]:
    found = []
    for path in files:
        package = _package(path) if inside else ["outside"]
        here = ".".join(package)
        for line, name in _imports(path, package):
            owner = _private_owner(name)
            # The top-level shared modules (`zxpolicy._errors`, `_hints`, ...) serve every stage.
            if owner is None or owner == "zxpolicy" or here == owner or here.startswith(owner + "."):
                continue
            found.append(f"{path.relative_to(base)}:{line}: {name}")
    return found


def test_the_folder_list_is_the_pipeline() -> None:
    folders = sorted(p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").is_file())
    assert folders == sorted(STAGES)
    top = sorted(p.name for p in SRC.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "_bundled.py", "_default.py", "_diagnostic.py", "_errors.py", "_hints.py"]


def test_no_stage_imports_a_private_module_of_another_stage() -> None:
    assert _reaching(sorted(SRC.rglob("*.py")), inside=True) == []


def test_the_benchmarks_use_public_modules_only() -> None:
    assert _reaching(sorted((REPO / "bench").rglob("*.py")), inside=False) == []


def test_the_checker_sees_a_reach_into_another_stage(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from zxpolicy.decide._engine import Engine\nfrom zxpolicy.decide import Engine as E\nfrom zxpolicy._hints import hint\n"
    )
    assert _reaching([bad], inside=False, base=tmp_path) == ["bad.py:1: zxpolicy.decide._engine.Engine"]


@pytest.mark.parametrize("stage", ["policy", "compile", "decide", "compliance", "log", "store", "live"])
def test_each_stage_says_what_it_exports(stage: str) -> None:
    import importlib

    module = importlib.import_module(f"zxpolicy.{stage}")
    assert module.__doc__ and module.__all__
    for name in module.__all__:
        assert hasattr(module, name), f"zxpolicy.{stage}.{name}"
