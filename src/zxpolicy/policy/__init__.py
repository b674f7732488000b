"""Stage 1 — policy files → a validated ``PolicyDocument``, whole or not at all.

    _yaml        YAML with the position of every value (file, line, column), read within bounds:
                 no aliases or tags, a limited size, depth and number of values, decimal integers
    _schema      the shape of the files, as pydantic models
    _crosscheck  what the entries say about each other: references, duplicates, the org tree,
                 the roles of the console's rights
    _typing      typing mistakes (full-width punctuation, tabs) found in a file's text before parsing
    _json_schema JSON Schemas of the policy and suite files for editors, from the models
    _labels      the Chinese and English label of every id, and how an id is shown to people
    _loader      a directory of files → ``LoadedPolicy`` (document, version, where each section
                 stands), or ``PolicyError`` naming every problem; ``POLICY_PROBLEM_CODES``
                 lists the code of every kind of problem

The stages above (``compile``, ``decide``, ``compliance``, ``testing``, ``log``) import what they
need from here, never from the private modules; the suite reader of ``compliance`` reads its
YAML files with the same reader and reports problems with the same helpers.
"""

from .._bundled import default_policy_dir
from ._crosscheck import folded
from ._json_schema import (
    POLICY_FILES,
    SCHEMA_FOLDER,
    SCHEMA_LINE,
    editor_schema,
    policy_schemas,
    schema_name,
    schema_text,
)
from ._labels import LABELLED_SECTIONS, Labels, labelled
from ._loader import (
    POLICY_PROBLEM_CODES,
    LoadedPolicy,
    duplicate_keys,
    is_policy_file,
    load_policy,
    missing_beside,
    not_utf8,
    problem_at,
    policy_version,
    pydantic_problem,
    unreadable,
    yaml_problem,
)
from ._schema import (
    CHECKS,
    CONSOLE_RIGHTS,
    INVARIANT_KINDS,
    SECTIONS,
    Chain,
    Code,
    Console,
    ConsoleRights,
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
    "CONSOLE_RIGHTS",
    "INVARIANT_KINDS",
    "LABELLED_SECTIONS",
    "Labels",
    "MAX_FILE_BYTES",
    "MAX_PLAIN_BYTES",
    "POLICY_FILES",
    "POLICY_PROBLEM_CODES",
    "SCHEMA_FOLDER",
    "SCHEMA_LINE",
    "SECTIONS",
    "Chain",
    "Code",
    "Console",
    "ConsoleRights",
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
    "editor_schema",
    "file_too_large",
    "grant_rows",
    "labelled",
    "is_policy_file",
    "load_policy",
    "missing_beside",
    "not_utf8",
    "policy_schemas",
    "problem_at",
    "policy_version",
    "pydantic_problem",
    "read_yaml",
    "schema_name",
    "schema_text",
    "unreadable",
    "yaml_problem",
]
