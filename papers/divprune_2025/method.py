"""DivPrune (Alvar, Singh, Akbari, Zhang; CVPR 2025; arXiv:2503.02175) on the project's small scene VLM: what is new for
this paper only. The VLM (DINOv2-S -> projector -> SmolLM2-135M with a merged LoRA), its LM-input pruning hook, the
text-to-image attention signal and the other selectors (random, spatial downsampling, CLS attention, k-center) live in
`shared.vision`.

DivPrune's selection rule (Sec. 3 of the paper; read in the authors' `llava_arch.py`, not copied): the visual tokens
that enter the LLM are compared by cosine distance `d(i, j) = 1 - cos(v_i, v_j)`; the first token is the one whose
nearest other token is farthest away (the most isolated token), and every next token is the one whose nearest
already-selected token is farthest away (greedy max-min). `shared.vision.select.KCenter` is the same greedy step with
another first token (the one farthest from the mean token); `DivPrune` here differs from it only in that seed.

Deviations from the authors' code, on purpose:
- Already-selected tokens are masked out of the argmax. The authors rely on `d(i, i) = 0`; with float rounding
  `1 - cos(v, v)` can be a tiny positive number, and with duplicate tokens every score can be 0, so their loop may pick
  a token twice. Whenever some unselected token has a positive distance to the selected set the two agree.
- The budget is a token count (`32, 16, 6, 3` of 64); the authors' `round(ratio * n)` gives the same counts at
  ratios `0.5, 0.25, 6 / 64, 3 / 64`.
"""

import math
import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch

from shared.vision.select import Selection, TokenSelector


def cosine_distance_reference(x: torch.Tensor) -> torch.Tensor:
    """`1 - cos` between every pair of rows of `x` `[N, D]`, by loops in float64 (the definition)."""
    x = x.double()
    n = x.shape[0]
    out = torch.empty(n, n, dtype=torch.float64)
    for i in range(n):
        for j in range(n):
            out[i, j] = 1.0 - float(x[i] @ x[j]) / (float(x[i].norm()) * float(x[j].norm()))
    return out


def cosine_distance_fast(x: torch.Tensor) -> torch.Tensor:
    """The same, batched: `x` `[..., N, D]` -> `[..., N, N]`."""
    z = x / x.norm(dim=-1, keepdim=True)
    return 1.0 - z @ z.transpose(-1, -2)


def divprune_reference(x: torch.Tensor, k: int) -> list[int]:
    """DivPrune's greedy max-min selection of `k` rows of `x` `[N, D]`, in selection order, by plain loops in float64:
    the first row has the largest distance to its nearest other row; each next row has the largest distance to its
    nearest selected row (first index on ties)."""
    d = cosine_distance_reference(x).tolist()
    n = len(d)
    if n == 1:
        return [0]
    first = [min(d[i][j] for j in range(n) if j != i) for i in range(n)]
    chosen = [first.index(max(first))]
    while len(chosen) < k:
        score = [-math.inf if j in chosen else min(d[i][j] for i in chosen) for j in range(n)]
        chosen.append(score.index(max(score)))
    return chosen


def divprune_fast(x: torch.Tensor, k: int) -> list[int]:
    """The same selection with an incrementally updated nearest-selected distance (one row update per step)."""
    d = cosine_distance_fast(x.double())
    n = d.shape[0]
    if n == 1:
        return [0]
    off = d.clone()
    off.fill_diagonal_(math.inf)
    first = int(off.min(dim=0).values.argmax())
    chosen = [first]
    near = d[first].clone()
    near[first] = -math.inf
    while len(chosen) < k:
        j = int(near.argmax())
        chosen.append(j)
        near = torch.minimum(near, d[j])
        near[chosen] = -math.inf
    return chosen


@dataclass
class DivPrune(TokenSelector):
    """DivPrune as a `shared.vision.select` unit: greedy max-min diversity on the cosine distance of `ctx.hidden` (at
    the LM input: the projected visual tokens, as the paper prunes them), seeded by the most isolated token.

    Args:
        source (str): `"hidden"` (the paper) or `"keys"`.
        impl (str): `"fast"` or `"reference"`.
    """

    source: str = "hidden"
    impl: str = "fast"

    def select(self, ctx, n_keep):
        x = ctx.metric(self.source)
        fn = divprune_reference if self.impl == "reference" else divprune_fast
        keep = [sorted(fn(x[b], n_keep)) for b in range(x.shape[0])]
        return Selection(torch.tensor(keep, dtype=torch.long))


def min_pairwise_distance(x: torch.Tensor) -> float:
    """Diversity of a set of tokens `[K, D]` (K >= 2), the MMDP objective: the smallest cosine distance between two
    of them."""
    if x.shape[0] < 2:
        raise ValueError("diversity needs at least two tokens")
    d = cosine_distance_fast(x.double())
    d.fill_diagonal_(math.inf)
    return float(d.min())


def t_geomean(ratios, n_unit: str = "scene seeds", unit: str = "", level: float = 0.95):
    """The geometric mean of positive per-unit ratios with a Student-t interval on their logarithms
    (`shared.claims.Measurement.t_mean`), mapped back. A ratio that is not positive or not finite gives NaN (the claim
    is then inconclusive)."""
    from shared.claims import Measurement

    rs = np.asarray(ratios, dtype=float)
    if not np.all(np.isfinite(rs)) or np.any(rs <= 0):
        return Measurement(float("nan"), n=len(rs), unit=unit, n_unit=n_unit, interval="none (a ratio <= 0 or NaN)")
    lm = Measurement.t_mean(np.log(rs), n_unit=n_unit, level=level)
    if not lm.has_interval:
        return Measurement(float(np.exp(lm.value)), n=lm.n, unit=unit, n_unit=n_unit, interval=lm.interval)
    return Measurement(float(np.exp(lm.value)), float(np.exp(lm.low)), float(np.exp(lm.high)), n=lm.n, unit=unit,
                       n_unit=n_unit, interval=f"geometric mean; {lm.interval} on the log ratios")  # fmt: skip


@torch.no_grad()
def prefill_times(vlm, feats, attn, keys, items, units: dict, budgets, repeats: int = 5, grid=(8, 8)):
    """Prefill latency per request (batch 1) for each `(unit name, visual tokens kept)`, beside the unpruned prefill
    in the same run, as `shared.vision.vlm_hooks.prefill_benchmark` measures it (interleaved repeats, medians; the
    selection timed on its own), but for any unit object (DivPrune is not in the shared registry).

    Args:
        units (dict[str, TokenSelector]): the arms; their selection must need no text attention.
        budgets (Sequence[int]): visual tokens kept out of `feats.shape[1]`.
    Returns:
        list[dict]: one row per configuration, `all tokens` first: prefill and selection ms, and their ratios to the
        unpruned prefill.
    """
    from shared.vision.vlm_hooks import context_for, prune_visual

    n = feats.shape[1]
    configs = [("all tokens", n)] + [(u, k) for u in units for k in budgets]
    prefill = {c: [] for c in configs}
    selection = {c: [] for c in configs}
    vis_all = [vlm.project(feats[r : r + 1]) for r, _ in items]
    for rep in range(repeats):
        for c in configs if rep % 2 == 0 else configs[::-1]:
            unit = None if c[0] == "all tokens" else units[c[0]]
            t_sel = t_pre = 0.0
            for (row, q), vis in zip(items, vis_all):
                t0 = time.perf_counter()
                kept, index = prune_visual(vis, unit, c[1] / n, context_for(vis, attn[row : row + 1],
                                                                          keys[row : row + 1], grid))  # fmt: skip
                t1 = time.perf_counter()
                b = vlm.embed(kept, [q.text], index=index, n_total=n)
                t2 = time.perf_counter()
                vlm.answer_logits(b)
                t3 = time.perf_counter()
                t_sel += t1 - t0
                t_pre += t3 - t2
            prefill[c].append(t_pre / len(items))
            selection[c].append(t_sel / len(items))
    base = statistics.median(prefill[configs[0]])
    rows = []
    for c in configs:
        p, s = statistics.median(prefill[c]), statistics.median(selection[c])
        rows.append({"unit": c[0], "visual_tokens": c[1], "prefill_ms": 1e3 * p, "selection_ms": 1e3 * s,
                     "prefill_ratio": p / base, "with_selection_ratio": (p + s) / base})  # fmt: skip
    return rows
