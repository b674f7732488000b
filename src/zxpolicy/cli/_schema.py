"""``zxpolicy schema``: write the JSON Schemas of a policy's files and its suite files, for editors."""

from __future__ import annotations

from pathlib import Path

import click

from ..compliance import suite_schema
from ..policy import SCHEMA_FOLDER, policy_schemas, schema_name, schema_text
from . import main
from ._common import fail, lang_option, load_engine, policy_line


@main.command()
@click.argument("directory", required=False, type=click.Path())
@click.option("--out", "out", type=click.Path(file_okay=False), help=f"Folder to write to. Default: DIRECTORY/{SCHEMA_FOLDER}.")
@lang_option
def schema(directory: str | None, out: str | None, lang: str) -> None:
    """Write a JSON Schema (draft 2020-12) for each policy file and for suite files.

    One per file of the default layout (vocabulary, orgs, rules, purposes, grants, approvals,
    classification, assignments, invariants, reporting, console), `policy.schema.json` for a file of any
    sections, and `suite.schema.json` for `tests/*.yaml` and `fixtures.yaml`. Titles and
    descriptions are in Chinese and English; a field that names a role, action, kind, level,
    purpose, org, obligation, rule or reason code lists the policy's ids. An editor with the YAML
    language server checks a file as it is typed when its first line names the schema:

    \b
      # yaml-language-server: $schema=schema/grants.schema.json

    Prints each file written. Exit 0, 2 when the policy does not load or a file cannot be
    written. DIRECTORY defaults as for validate.

    \b
    Example:
      zxpolicy schema policies
      zxpolicy schema policies --out /tmp/schemas
    """
    engine = load_engine(directory, lang=lang)
    folder = Path(out) if out is not None else engine.policy_dir / SCHEMA_FOLDER
    schemas = {**policy_schemas(engine.document), "suite": suite_schema(engine.document)}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, one in schemas.items():
            target = folder / schema_name(name)
            target.write_text(schema_text(one), encoding="utf-8")
            click.echo(str(target))
        click.echo(policy_line(lang))
    except OSError as exc:
        why = exc.strerror or str(exc)
        fail(f"无法写入`{folder}`：{why}", f"cannot write to `{folder}`: {why}", lang)
