"""``python -m panda_env.bench.tune``: the ``tune`` command (``panda_env.commands.tune``) as a module.

The search itself is :mod:`panda_env.bench.tune_search`; this module only runs the command, so the search
never imports the command that imports it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m panda_env.bench.tune``: the ``tune`` command (``panda_env.commands.tune``)."""
    from panda_env.commands.common import show_output
    from panda_env.commands.tune import add_arguments, run

    parser = argparse.ArgumentParser(prog="python -m panda_env.bench.tune", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    show_output()
    args.command_line = "python -m panda_env.bench.tune " + " ".join(sys.argv[1:] if argv is None else argv)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
