"""Notebook files: the jupytext pair (`<slug>.py` <-> `<slug>.ipynb`), tagged cells, and cleaning executed notebooks.

The `.ipynb` is what users open (it carries the outputs of the default run); the percent-format `.py` holds the same
cells as plain text, for review. `pair_status` says whether the two agree.
"""

import json
from pathlib import Path

import nbformat

CHECK_TAG = "nbval-check-output"
# metadata that changes on every execution and would only add noise to a committed notebook's diff
VOLATILE_CELL_KEYS = ("papermill", "execution")


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def text_to_notebook(py: Path, kernel: str) -> nbformat.NotebookNode:
    """The notebook a percent-format script describes, with `kernel` as its kernelspec (no outputs)."""
    import jupytext
    from jupyter_client.kernelspec import KernelSpecManager

    nb = jupytext.read(py)
    try:
        spec = KernelSpecManager().get_kernel_spec(kernel)
        display = spec.display_name
    except Exception:
        display = kernel
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": display, "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def _cells_signature(nb) -> list[tuple[str, str, tuple]]:
    return [(c.cell_type, c.source.strip(), tuple(c.get("metadata", {}).get("tags", []))) for c in nb.cells]


def pair_status(ipynb: Path) -> str | None:
    """None when `<stem>.py` and `ipynb` hold the same cells (source, type, tags); else what differs, in words."""
    import jupytext

    py = ipynb.with_suffix(".py")
    if not py.exists():
        return f"{py.name} is missing (create it with `jupytext --to py:percent {ipynb.name}`)"
    a, b = _cells_signature(read(ipynb)), _cells_signature(jupytext.read(py))
    if a == b:
        return None
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"cell {i} differs between {ipynb.name} and {py.name} (sync with `jupytext --sync {ipynb.name}`)"
    return f"{ipynb.name} has {len(a)} cells, {py.name} {len(b)} (sync with `jupytext --sync {ipynb.name}`)"


def tagged_cells(nb, tag: str = CHECK_TAG) -> list[tuple[int, nbformat.NotebookNode]]:
    return [(i, c) for i, c in enumerate(nb.cells) if tag in c.get("metadata", {}).get("tags", [])]


def clean_executed(nb: nbformat.NotebookNode, keep_parameters: bool = True) -> nbformat.NotebookNode:
    """Drop timing metadata papermill and Jupyter add on every run, so that re-running an unchanged notebook changes
    only what it computes."""
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.get("metadata", {}).pop(key, None)
        if cell.cell_type == "code":
            cell.metadata.pop("collapsed", None)
    pm = nb.metadata.pop("papermill", None)
    if keep_parameters and pm and pm.get("parameters"):
        nb.metadata["papermill"] = {"parameters": pm["parameters"]}
    nb.metadata.pop("widgets", None)
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write atomically (temporary file, then rename)."""
    from shared.results import write_json_atomic

    write_json_atomic(Path(path), json.loads(nbformat.writes(nb)))
