"""A pytest plugin that runs a policy repository's invariants as tests.

It does nothing unless asked. A policy repository asks in its pytest configuration::

    [pytest]
    zxpolicy_policy_dir = policies
    # zxpolicy_seed = 0              (default)
    # zxpolicy_max_examples = 100    (default)

or on the command line, ``pytest --zxpolicy-verify policies``. Then plain ``pytest`` adds one
test per invariant of the policy; a failing one shows the invariant's id, clause and the request
that breaks it, as JSON for ``zxpolicy check``. zxpolicy registers the plugin on install (entry
point ``pytest11``); from a source checkout, add ``-p zxpolicy.testing.pytest_plugin``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

__all__ = ["InvariantItem"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("zxpolicy")
    group.addoption("--zxpolicy-verify", metavar="DIR", help="run the invariants of the policy in DIR")
    group.addoption("--zxpolicy-seed", type=int, help="seed of the generated requests (default 0)")
    parser.addini("zxpolicy_policy_dir", "policy directory whose invariants pytest runs (relative to the ini file)")
    parser.addini("zxpolicy_seed", "seed of the generated requests", default="0")
    parser.addini("zxpolicy_max_examples", "requests generated per invariant", default="100")


def _policy_dir(config: pytest.Config) -> Path | None:
    given = config.getoption("zxpolicy_verify")
    if given:
        return Path(given).resolve()
    ini = config.getini("zxpolicy_policy_dir")
    if not ini:
        return None
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    return (base / str(ini)).resolve()


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect: the items are ordinary items to them
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    directory = _policy_dir(config)
    if directory is None:
        return
    from .._errors import PolicyError
    from ..decide import Engine
    from ..policy import load_policy

    parent = PolicyNode.from_parent(session, name=f"zxpolicy-invariants[{directory.name}]", nodeid=f"{directory.name}/invariants")
    try:
        engine = Engine(load_policy(directory))
    except PolicyError as exc:  # one failing test that shows every problem
        items.append(PolicyLoadItem.from_parent(parent, name="load", problems=str(exc)))
        return
    seed = config.getoption("zxpolicy_seed")
    settings = {
        "seed": int(seed if seed is not None else config.getini("zxpolicy_seed")),
        "max_examples": int(config.getini("zxpolicy_max_examples")),
    }
    items.extend(
        InvariantItem.from_parent(parent, name=inv.id, engine=engine, invariant=inv, settings=settings)
        for inv in engine.document.invariants
    )


class PolicyNode(pytest.Collector):
    """The parent of the invariant items; it collects nothing itself."""

    def collect(self) -> list[pytest.Item]:  # pragma: no cover - items are made by the hook
        return []


class InvariantFailed(Exception):
    pass


class PolicyLoadItem(pytest.Item):
    """Stands for the invariants of a policy that does not load."""

    def __init__(self, *, problems: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problems = problems

    def runtest(self) -> None:
        raise InvariantFailed(self.problems)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, "the policy does not load"


class InvariantItem(pytest.Item):
    def __init__(self, *, engine: Any, invariant: Any, settings: dict[str, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.engine = engine
        self.invariant = invariant
        self.settings = settings

    def runtest(self) -> None:
        from ._report import counterexample
        from ._runner import run_invariant

        result = run_invariant(self.engine, self.invariant, **self.settings)
        if not result.passed:
            inv = self.invariant
            assert result.violation is not None
            raise InvariantFailed(
                f"{inv.id} {inv.kind} [{inv.clause}]\n{inv.zh}\n{inv.en}\n"
                f"counterexample: {result.violation.message_en}\n{counterexample(result)}"
            )
        if result.exercised == 0:
            self.user_properties.append(("zxpolicy", "no generated request exercised this invariant"))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, InvariantFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"invariant {self.invariant.id} ({self.invariant.kind})"
