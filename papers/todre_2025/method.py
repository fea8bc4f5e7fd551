"""What is new in ToDRE on the scene VLM: evaluating with the visual tokens removed inside the LM from a layer on, the
choice of the migration layer on calibration scenes, and the retained share of the above-blind accuracy.

Stage 1 (k-center after the encoder) is the shared `shared.vision.select.KCenter`; the removal inside the decoder is
`shared.vision.lm_layers` (a sliced fast path held to a masked reference there).
"""

from __future__ import annotations

import statistics
import time

import torch

from shared.vision.lm_layers import answer_logits_from_layer, n_layers
from shared.vision.vlm import VLM


@torch.no_grad()
def evaluate_removal(vlm: VLM, feats: torch.Tensor, items, layer: int, select=None, batch: int = 32) -> list[bool]:
    """Exact-answer correctness of each `(scene index, question)` item when the visual tokens at the LM input (all of
    them, or those `select(rows, vis) -> (kept, index)` keeps, as in `shared.vision.vlm_stage.evaluate`) are removed
    from decoder layer `layer` on. `layer` = the LM's depth is the plain evaluation, computed by hand."""
    ok = []
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        rows = torch.tensor([r for r, _ in chunk])
        vis = vlm.project(feats[rows])
        index = None
        if select is not None:
            vis, index = select(rows, vis)
        b = vlm.embed(vis, [q.text for _, q in chunk], [q.answer for _, q in chunk], index=index,
                      n_total=feats.shape[1])  # fmt: skip
        ok += VLM.correct(answer_logits_from_layer(vlm, b, layer), b.targets)
    return ok


def retained_share(units) -> float:
    """Share of the image's contribution kept, from per-unit pairs `(arm accuracy - blind, unpruned - blind)`: a ratio
    of means (sums), 0 where the unpruned model is not above blind in a resample. Per-unit ratios would explode on a
    unit whose unpruned margin is small."""
    units = list(units)
    if not units:
        raise ValueError("no units")
    num, den = sum(u[0] for u in units), sum(u[1] for u in units)
    return num / den if den > 0 else 0.0


def migration_layer(shares: dict[int, float], bar: float) -> int:
    """The calibrated migration layer: the shallowest candidate whose retained share reaches `bar`, else the deepest
    candidate (the claims are then judged there, and fail if it does not hold)."""
    if not shares:
        raise ValueError("no candidate layers")
    ok = [layer for layer in sorted(shares) if shares[layer] >= bar]
    return ok[0] if ok else max(shares)


@torch.no_grad()
def prefill_times(vlm: VLM, feats: torch.Tensor, items, configs: dict, repeats: int = 5) -> list[dict]:
    """Prefill latency per request (batch 1: the prompt through the LM and the answer logits) for each config
    `{name: (select or None, removal layer)}`, medians of interleaved repeats, as ratios to the first config (the
    unpruned prefill, measured in the same run); the selection's own time is timed apart and included in
    `with_selection_ratio`. A benchmark: machine-dependent, never a claim."""
    names = list(configs)
    pre = {n: [] for n in names}
    sel = {n: [] for n in names}
    for rep in range(repeats):
        for name in names if rep % 2 == 0 else names[::-1]:
            select, layer = configs[name]
            t_sel = t_pre = 0.0
            for row, q in items:
                vis = vlm.project(feats[row : row + 1])
                t0 = time.perf_counter()
                kept, index = select(torch.tensor([row]), vis) if select is not None else (vis, None)
                t1 = time.perf_counter()
                b = vlm.embed(kept, [q.text], index=index, n_total=feats.shape[1])
                t2 = time.perf_counter()
                answer_logits_from_layer(vlm, b, layer)
                t_pre += time.perf_counter() - t2
                t_sel += t1 - t0
            pre[name].append(t_pre / len(items))
            sel[name].append(t_sel / len(items))
    base = statistics.median(pre[names[0]])
    depth = n_layers(vlm)
    return [{"config": n, "removed from layer": configs[n][1] if configs[n][1] < depth else None,
             "prefill_ms": 1e3 * statistics.median(pre[n]), "selection_ms": 1e3 * statistics.median(sel[n]),
             "prefill_ratio": statistics.median(pre[n]) / base,
             "with_selection_ratio": (statistics.median(pre[n]) + statistics.median(sel[n])) / base}
            for n in names]  # fmt: skip
