"""Helpers for tests: numerical comparisons, and small notebooks built in code."""

import textwrap

import torch

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def assert_close(name: str, ref: torch.Tensor, got: torch.Tensor, rel_rms: float, atol: float = 1e-6) -> None:
    """Pass if the max error is <= `atol`, or RMS error / RMS of `ref` <= `rel_rms`."""
    assert got.shape == ref.shape, f"{name}: shape {tuple(got.shape)} != {tuple(ref.shape)}"
    assert not torch.isnan(got).any(), f"{name}: NaN in the implementation under test"
    diff = got.double() - ref.double()
    err = diff.abs().max().item()
    ratio = diff.pow(2).mean().sqrt().item() / (ref.double().pow(2).mean().sqrt().item() + 1e-12)
    assert err <= atol or ratio <= rel_rms, f"{name}: max_abs={err:.3e} rel_rms={ratio:.3e} > {rel_rms:.1e}"


def make_notebook(cells: list[tuple[str, str, list[str]]], kernel: str = "token-papers-cpu"):
    """A notebook from `(cell_type, source, tags)` triples, with `kernel` as its kernelspec and no outputs."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, src, tags in cells:
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        cell = make(textwrap.dedent(src).strip())
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    return nb
