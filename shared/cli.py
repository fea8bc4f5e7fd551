"""The `papers` command line: one entry point, one module per subcommand.

Each subcommand module defines `add_arguments(parser)` and `main(args) -> int` and keeps heavy imports inside
functions, so that `papers --help` and quick commands stay fast.
"""

import argparse
import importlib
import sys

# name -> (module, one-line help)
COMMANDS = {
    "new": ("shared.scaffold", "create a paper folder from the template"),
    "validate": ("shared.checks", "check paper folders against the project's contract"),
    "catalog": ("shared.catalog.cli", "search the 195-paper catalog"),
    "doctor": ("shared.doctor", "check the environment: Python, torch build, kernels, packages"),
}


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="papers", description="Token Papers: replications of token-level LLM papers")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv=None) -> int:
    from shared.paper import PaperError
    from shared.results import ResultsError

    args = build_parser().parse_args(argv)
    try:
        return importlib.import_module(args._module).main(args) or 0
    except (UsageError, PaperError, ResultsError) as e:
        print(f"papers {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyError as e:  # unknown catalog ids and the like carry their message as the key
        print(f"papers {args.command}: error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"papers {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
