"""The `papers` runner: executes paper notebooks with papermill, skips unchanged ones, records results and DVC stages.

How the pieces fit:
- `freshness` decides, per paper and profile, whether the recorded result still matches its inputs, and says why not;
- `execute` runs one notebook in its own papermill subprocess (`child`) and kernel, under a wall-clock timeout and a
  memory limit, and classifies what went wrong;
- `executors` run many of those at once, on this machine (`local`) or on a Dask cluster (`dask`);
- `record` moves a successful run's outputs into the paper folder atomically, or keeps a failed notebook for debugging;
- `dvcstages` writes each paper's `dvc.yaml` and records finished runs with `dvc commit`, serially;
- `orchestrate` ties them together for `papers run`; `cli_*` are the subcommands.
"""

# the folder, per run, that holds the Unix sockets of the run's kernels (`kernels`); the runner removes it afterwards
IPC_DIR_ENV = "TOKEN_PAPERS_IPC_DIR"
