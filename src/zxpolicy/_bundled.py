"""Where the bundled default policy and model.conf are, and which policy a caller means."""

from __future__ import annotations

import os
from pathlib import Path

from ._errors import PolicyError, PolicyProblem

ENV_VAR = "ZXPOLICY_POLICY_DIR"


def bundled_root() -> Path:
    """The folder holding ``policies/`` and ``model.conf``.

    An installed wheel carries them in ``zxpolicy/_data``; a source checkout (an editable
    install) has them at the top of the repository.
    """
    here = Path(__file__).resolve().parent
    for root in (here / "_data", here.parent.parent):
        if (root / "policies").is_dir() and (root / "model.conf").is_file():
            return root
    raise PolicyError([PolicyProblem(
        "bundled_policy_missing", "本安装中缺少自带的策略", "the bundled policy is missing from this installation", str(here)
    )])


def model_conf() -> Path:
    return bundled_root() / "model.conf"


def default_policy_dir() -> Path:
    return bundled_root() / "policies"


def resolve_policy_dir(explicit: str | Path | None, *, look_in_cwd: bool = False) -> tuple[Path, str]:
    """The policy directory to use and why: explicit, else $ZXPOLICY_POLICY_DIR, else (for the
    CLI) ./policies where it exists, else the bundled default."""
    if explicit is not None:
        return Path(explicit), "given"
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env), ENV_VAR
    if look_in_cwd and Path("policies").is_dir():
        return Path("policies"), "./policies"
    return default_policy_dir(), "bundled"
