"""Stage 1 — policy files → a validated ``PolicyDocument``, whole or not at all.

    _yaml        YAML with the position of every value (file, line, column), read within bounds:
                 no aliases or tags, a limited size, depth and number of values, decimal integers
    _schema      the shape of the files, as pydantic models
    _crosscheck  what the entries say about each other: references, duplicates, the org tree
    _loader      a directory of files → ``LoadedPolicy`` (document, version, where each section
                 stands), or ``PolicyError`` naming every problem; ``POLICY_PROBLEM_CODES``
                 lists the code of every kind of problem

The stages above (``compile``, ``decide``, ``compliance``, ``testing``, ``log``) import what they
need from here, never from the private modules; the suite reader of ``compliance`` reads its
YAML files with the same reader and reports problems with the same helpers.
"""

from .._bundled import default_policy_dir
from ._crosscheck import folded
from ._loader import (
    POLICY_PROBLEM_CODES,
    LoadedPolicy,
    duplicate_keys,
    load_policy,
    missing_beside,
    not_utf8,
    problem_at,
    pydantic_problem,
    unreadable,
    yaml_problem,
)
from ._schema import (
    CHECKS,
    INVARIANT_KINDS,
    SECTIONS,
    Chain,
    Code,
    Evidence,
    Id,
    Invariant,
    Match,
    PolicyDocument,
    Reporting,
    RuleId,
    Step,
    Text,
    grant_rows,
)
from ._yaml import (
    MAX_FILE_BYTES,
    MAX_PLAIN_BYTES,
    YamlDocument,
    dotted,
    file_too_large,
    read_yaml,
)

__all__ = [
    "CHECKS",
    "INVARIANT_KINDS",
    "MAX_FILE_BYTES",
    "MAX_PLAIN_BYTES",
    "POLICY_PROBLEM_CODES",
    "SECTIONS",
    "Chain",
    "Code",
    "Evidence",
    "Id",
    "Invariant",
    "LoadedPolicy",
    "Match",
    "PolicyDocument",
    "Reporting",
    "RuleId",
    "Step",
    "Text",
    "YamlDocument",
    "default_policy_dir",
    "dotted",
    "folded",
    "duplicate_keys",
    "file_too_large",
    "grant_rows",
    "load_policy",
    "missing_beside",
    "not_utf8",
    "problem_at",
    "pydantic_problem",
    "read_yaml",
    "unreadable",
    "yaml_problem",
]
