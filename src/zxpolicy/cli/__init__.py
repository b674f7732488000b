"""The ``zxpolicy`` command. Each command wires its flags to the library, prints, and sets the
exit code; one module per command.

Exit codes: 0 allowed (or valid, or passed), 1 denied (or invalid, or failed), 2 usage error or a
policy that does not load.
"""

from __future__ import annotations

import click

from .. import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="zxpolicy")
def main() -> None:
    """zxpolicy: authorization for credit-information (征信) access, with reasons.

    \b
    Example:
      zxpolicy check examples/query-allowed.json
      zxpolicy explain --lang en examples/query-denied.json
      zxpolicy validate policies
      zxpolicy test policies --coverage
      zxpolicy diff main:policies policies
      zxpolicy verify policies
    """


# Each module adds its command to `main`.
from . import _check, _diff, _explain, _lint, _log, _reverse, _test, _validate, _verify  # noqa: E402,F401

__all__ = ["main"]
