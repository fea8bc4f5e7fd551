"""One notebook run in its own process: `python -m shared.runner.child SPEC.json`, started by `shared.runner.execute`.

Papermill runs here, in-process, so that cell starts can be reported as structured events on a dedicated pipe (the
runner's progress display and its "timeout in cell 7" come from them) and so that the way a run ended is written to
`outcome.json` as data, not scraped from a log. Papermill and the kernel write their log to this process's stdout and
stderr, which the runner sends to a file.
"""

import json
import os
import sys
import time
from pathlib import Path

INJECTED_TAG = "injected-parameters"


class Events:
    """JSON lines on the file descriptor the runner passed in `TOKEN_PAPERS_EVENT_FD` (nothing if it passed none)."""

    def __init__(self):
        fd = os.environ.get("TOKEN_PAPERS_EVENT_FD")
        self._out = os.fdopen(int(fd), "w", buffering=1) if fd else None
        self.cell = None  # the cell running now: the one that failed, when the run stops

    def emit(self, kind: str, **data) -> None:
        if kind == "cell":
            self.cell = data["cell"]
        if self._out is None:
            return
        try:
            self._out.write(json.dumps({"event": kind, "t": time.time(), **data}) + "\n")
        except (BrokenPipeError, ValueError):
            self._out = None  # the runner stopped listening; the run itself goes on


def source_cell_number(cells, index: int) -> int | None:
    """1-based number of cell `index` in the paper's own notebook: papermill's injected parameters cell is not one of
    them, so cells after it move back by one. None for the injected cell itself."""
    injected = [i for i, c in enumerate(cells) if INJECTED_TAG in c.get("metadata", {}).get("tags", [])]
    if injected and index == injected[0]:
        return None
    return index + 1 - (1 if injected and index > injected[0] else 0)


def make_engine(events: Events):
    from papermill.engines import NBClientEngine

    class ReportingEngine(NBClientEngine):
        """The stock nbclient engine, plus one event per cell start (papermill has no callback hook for this)."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            cells = nb_man.nb.cells
            n_source = sum(INJECTED_TAG not in c.get("metadata", {}).get("tags", []) for c in cells)
            cell_start = nb_man.cell_start

            def reporting_cell_start(cell, cell_index=None, **kw):
                events.emit("cell", cell=source_cell_number(cells, cell_index), of=n_source, index=cell_index)
                return cell_start(cell, cell_index, **kw)

            nb_man.cell_start = reporting_cell_start
            events.emit("kernel", kernel=kernel_name)
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    return ReportingEngine


def run(spec: dict, events: Events) -> dict:
    """Execute the notebook `spec` describes; return the outcome as a dict (status plus details)."""
    import papermill as pm
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.engines import papermill_engines
    from papermill.exceptions import PapermillExecutionError

    from shared.runner.kernels import IPCKernelManager

    papermill_engines.register("token-papers", make_engine(events))
    try:
        pm.execute_notebook(
            spec["input"],
            spec["output"],
            parameters=spec.get("parameters") or None,
            engine_name="token-papers",
            kernel_name=spec["kernel"],
            cwd=spec["cwd"],
            progress_bar=False,
            log_output=True,
            start_timeout=spec.get("start_timeout", 120),
            request_save_on_cell_execute=True,
            autosave_cell_every=30,
            kernel_manager_class=IPCKernelManager,  # no TCP ports to race for with the kernels beside it
        )
    except PapermillExecutionError as e:
        # execution stops at the failing cell, so it is the last one that started; papermill's own `cell_index` counts
        # the injected parameters cell too
        return {"status": "cell-error", "cell": events.cell, "ename": e.ename, "evalue": str(e.evalue)}
    except DeadKernelError as e:
        return {"status": "kernel-died", "cell": events.cell, "message": str(e)}
    except CellTimeoutError as e:
        return {"status": "timeout", "cell": events.cell, "message": str(e).splitlines()[0] if str(e) else ""}
    except NoSuchKernel as e:
        return {"status": "missing-kernel", "message": f"no kernel named {e.name!r} is installed"}
    except Exception as e:  # anything else papermill raises is the runner's problem, not the notebook's
        if isinstance(e, RuntimeError) and events.cell is None and "Kernel died" in str(e):
            # nbclient's "Kernel died before replying to kernel_info": the kernel process exited while starting
            return {"status": "kernel-died", "cell": None, "message": str(e)}
        return {"status": "error", "cell": events.cell, "ename": type(e).__name__, "evalue": str(e)}
    return {"status": "ok"}


def main(argv=None) -> int:
    import logging

    # papermill logs each cell ("Executing Cell 4") and, with log_output, what the cells print: that is the run's log
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(argv[0]).read_text())
    events = Events()
    events.emit("started", pid=os.getpid())
    outcome = run(spec, events)
    tmp = Path(spec["outcome"]).with_suffix(".tmp")
    tmp.write_text(json.dumps(outcome))
    os.replace(tmp, spec["outcome"])
    events.emit("finished", status=outcome["status"])
    return 0 if outcome["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
