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
    "list": ("shared.runner.cli_list", "list papers: catalog id, title, result status, last run, verdicts"),
    "run": ("shared.runner.cli_run", "execute paper notebooks whose results are stale (papermill; local or dask)"),
    "status": ("shared.runner.cli_status", "say for each paper and profile whether its result is fresh, and why not"),
    "dvc-sync": ("shared.runner.cli_dvc", "write each paper's dvc.yaml (one stage per profile) from its imports"),
    "stability": (
        "shared.runner.stability",
        "rerun a profile under other seeds or parameters; say which verdicts moved",
    ),
    "ci-plan": ("shared.runner.ciplan", "which notebooks CI re-executes: changed papers plus a rotating sample"),
    "rekey": ("shared.runner.rekey", "verify a refactor by rerunning a cheap profile, then re-key stale results"),
    "data": ("shared.data.cli", "build, verify, pull and push data/ (corpora, tokenizers, images, task sets)"),
    "models": ("shared.models.cli", "list, install and convert zoo models; train the tiny LMs"),
    "results": ("shared.browse.index", "one row per paper and claim; writes results/index.json and README tables"),
    "site": ("shared.browse.cli", "build or serve the static results site (offline, no CDN)"),
    "cite": ("shared.citation.cite", "cite one result at one version (bibtex, cff, json, apa)"),
    "release": ("shared.citation.release", "check results, stamp CITATION.cff and tag a release"),
    "diff": ("shared.citation.diff", "claims whose value or verdict changed between two versions"),
}


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


def build_parser(argv=None) -> argparse.ArgumentParser:
    """The parser; only the chosen subcommand's module is imported (start-up time counts in every runner call)."""
    words = sys.argv[1:] if argv is None else list(argv)
    chosen = next((w for w in words if not w.startswith("-")), None)
    parser = argparse.ArgumentParser(prog="papers", description="Token Papers: replications of token-level LLM papers")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == chosen:
            importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv=None) -> int:
    # `python -m shared.cli` runs this file as `__main__`: catch the errors of the module the subcommands import
    from shared.cli import UsageError as SharedUsageError
    from shared.paper import PaperError
    from shared.results import ResultsError

    args = build_parser(argv).parse_args(argv)
    try:
        return importlib.import_module(args._module).main(args) or 0
    except (UsageError, SharedUsageError, PaperError, ResultsError) as e:
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
