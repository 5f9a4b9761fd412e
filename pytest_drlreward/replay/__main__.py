"""``python -m pytest_drlreward.replay CASE --model DIR --backend NAME``: print what replaying a saved failure finds.

The command line of :mod:`pytest_drlreward.replay` (the only place it prints).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Sequence
from typing import Any

from pytest_drlreward.replay import load_case, replay


def _option(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--option {text!r}: give KEY=VALUE, e.g. --option precision='f32'")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: print what replaying the saved case finds; 0 when it ran, 2 on a usage error."""
    parser = argparse.ArgumentParser(prog="python -m pytest_drlreward.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("case", help="the .npz a failure saved (its message prints this command)")
    parser.add_argument("--model", required=True, help="the classifier directory the run verified")
    parser.add_argument("--backend", required=True, help="the backend that failed (e.g. openvino)")
    parser.add_argument("--reference", help="the reference it was compared with (parity and decisions)")
    parser.add_argument("--trust-code", action="store_true", help="as drl_trust_code: run a torch_factory kept "
                        "inside the directory")
    parser.add_argument("--option", type=_option, action="append", default=[], help="a backend option KEY=VALUE")
    args = parser.parse_args(argv)
    try:
        lines = replay(load_case(args.case), args.model, args.backend, args.reference, trust_code=args.trust_code,
                       options=dict(args.option))
    except (OSError, ValueError, ImportError) as error:  # a missing engine: ImportError naming its extra
        print(f"replay: {error}", file=sys.stderr)
        return 2
    except AssertionError as error:  # a check that cannot judge the case (e.g. non-finite logits): its message
        print(f"replay: {error}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
