"""MMTok (Dong, Hu, Zhang, Yin, Fu, Qian; arXiv:2508.18264, ICLR 2026) on the project's small scene VLM: what is new
for this paper only. The VLM (DINOv2-S -> projector -> SmolLM2-135M with a merged LoRA), its LM-input pruning hook, the
text-to-image attention signal and the other selectors (random, spatial downsampling, CLS attention) live in
`shared.vision`.

MMTok's selection rule (Sec. 3 of the paper; the weights and temperatures read in a public copy of the authors' code,
`mmtok/core/semantic_selector.py` and `mmtok_core.py`, not copied): choosing `k` of the `N` vision tokens is a maximum
coverage problem whose objective adds two coverage functions,

    f(S) = sum_t max_{j in S} P[t, j]  +  alpha * sum_i max_{j in S} Q[i, j]

- `P [m, N]` (text-vision coverage): cosine similarity between each of the question's `m` text-token embeddings (the
  LM's input embeddings of the question's content words) and each projected vision token (what enters the LM),
  softmax over the vision tokens at temperature `tau_tv`, divided by `m`;
- `Q [N, N]` (vision-vision coverage): cosine similarity between the encoder's features of every pair of vision tokens
  (before the projector: the paper's CLIP features, here DINOv2-S), softmax over the candidate tokens at temperature
  `tau_vv`, divided by `N`.

Both are facility-location functions (monotone submodular), so the greedy rule (add the token with the largest
marginal gain) keeps at least `1 - 1/e` of the optimum. Defaults are the authors' code's: `alpha = 0.5`,
`tau_tv = 0.02`, `tau_vv = 0.2`. The unimodal arms drop one term: vision-only coverage is `Q` alone (the paper's V-V
ablation), text-only coverage `P` alone.

Deviations, on purpose:
- Content words: the question's words minus a short list of template words (`STOPWORDS`: what, is, in, the, how,
  many, are, there, a, an), each tokenized with a leading space as the LM reads it mid-sentence; the authors filter a
  longer English stopword list. The optional VLM "agent" that writes extra text for the coverage is not used (the
  paper's main results are without it too: it is an add-on).
- Ties go to the lowest index in both paths; the authors' `argmax` does the same on CPU.
"""

import math
from dataclasses import dataclass

import torch

from shared.vision.select import Selection, TokenSelector
from shared.vision.vlm_hooks import VLMContext

STOPWORDS = frozenset({"what", "is", "in", "the", "how", "many", "are", "there", "a", "an"})


def content_words(question: str) -> list[str]:
    """The words of `question` (lowercase, punctuation stripped) minus `STOPWORDS`; all words if none is left."""
    words = ["".join(ch for ch in w if ch.isalnum()) for w in question.lower().split()]
    words = [w for w in words if w]
    kept = [w for w in words if w not in STOPWORDS]
    return kept or words


def text_embeddings(vlm, question: str) -> torch.Tensor:
    """The LM's input embeddings `[m, D]` of the question's content words (each word's tokens, leading space)."""
    ids = [i for w in content_words(question) for i in vlm.ids(" " + w)]
    return vlm.lm.get_input_embeddings()(torch.tensor(ids)).detach()


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    b = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return a @ b.transpose(-1, -2)


def coverage_matrix(text: torch.Tensor | None, vis: torch.Tensor, enc: torch.Tensor | None, alpha: float = 0.5,
                    tau_tv: float = 0.02, tau_vv: float = 0.2) -> torch.Tensor:  # fmt: skip
    """The rows to cover, stacked: `[P; alpha * Q]` `[m + N, N]` in float64 (either block left out when its input is
    `None`): `P = softmax(cos(text, vis) / tau_tv, over vision tokens) / m`, `Q = softmax(cos(enc, enc) / tau_vv) / N`.

    Args:
        text (torch.Tensor, Optional): text-token embeddings `[m, D]`.
        vis (torch.Tensor): projected vision tokens `[N, D]`.
        enc (torch.Tensor, Optional): the encoder's features of the same tokens `[N, De]`.
    """
    blocks = []
    if text is not None:
        p = torch.softmax(_cos(text.double(), vis.double()) / tau_tv, dim=1)
        blocks.append(p / text.shape[0])
    if enc is not None:
        q = torch.softmax(_cos(enc.double(), enc.double()) / tau_vv, dim=1)
        blocks.append(alpha * q / enc.shape[0])
    if not blocks:
        raise ValueError("coverage needs text tokens, encoder features, or both")
    return torch.cat(blocks, dim=0)


def coverage_value(C: torch.Tensor, chosen) -> float:
    """The facility-location objective `sum_r max_{j in chosen} C[r, j]` (0 for the empty set), by plain loops."""
    chosen = list(chosen)
    if not chosen:
        return 0.0
    rows = C.double().tolist()
    return sum(max(r[j] for j in chosen) for r in rows)


def greedy_reference(C: torch.Tensor, k: int) -> list[int]:
    """Greedy maximum coverage by the definition: each step evaluates `f(S + {j}) - f(S)` for every unchosen column
    `j` with `coverage_value` and adds the largest (the lowest index on ties). Returns columns in selection order."""
    n = C.shape[1]
    chosen: list[int] = []
    base = 0.0
    while len(chosen) < min(k, n):
        gains = [-math.inf if j in chosen else coverage_value(C, chosen + [j]) - base for j in range(n)]
        best = gains.index(max(gains))
        chosen.append(best)
        base = coverage_value(C, chosen)
    return chosen


def greedy_fast(C: torch.Tensor, k: int) -> list[int]:
    """The same selection with the running best cover of every row: the gain of column `j` is
    `sum_r max(C[r, j] - best[r], 0)`, one matrix pass per step."""
    C = C.double()
    n = C.shape[1]
    best = torch.zeros(C.shape[0], dtype=torch.float64)
    taken = torch.zeros(n, dtype=torch.bool)
    chosen = []
    for _ in range(min(k, n)):
        gain = (C - best[:, None]).clamp_min(0).sum(dim=0).masked_fill(taken, -math.inf)
        j = int(gain.argmax())
        chosen.append(j)
        taken[j] = True
        best = torch.maximum(best, C[:, j])
    return chosen


@dataclass
class CoverageContext(VLMContext):
    """A `VLMContext` plus what coverage reads: the encoder's patch features `[B, N, De]` and, per row, the question's
    text-token embeddings `[m, D]`."""

    enc: torch.Tensor | None = None
    text: list | None = None


@dataclass
class Coverage(TokenSelector):
    """Greedy maximum coverage of the vision tokens as a `shared.vision.select` unit.

    Args:
        modes (str): `"multimodal"` (MMTok: text and vision rows), `"vision"` (vision rows only) or `"text"` (text
            rows only).
        alpha (float): weight of the vision-vision coverage.
        tau_tv, tau_vv (float): softmax temperatures.
        impl (str): `"fast"` or `"reference"`.
    """

    modes: str = "multimodal"
    alpha: float = 0.5
    tau_tv: float = 0.02
    tau_vv: float = 0.2
    impl: str = "fast"

    def matrices(self, ctx, b: int) -> torch.Tensor:
        use_text = self.modes in ("multimodal", "text")
        use_vis = self.modes in ("multimodal", "vision")
        if self.modes not in ("multimodal", "text", "vision"):
            raise ValueError(f"unknown coverage mode {self.modes!r}")
        text = ctx.text[b] if use_text else None
        enc = ctx.enc[b] if use_vis else None
        return coverage_matrix(text, ctx.hidden[b], enc, self.alpha, self.tau_tv, self.tau_vv)

    def select(self, ctx, n_keep):
        fn = greedy_reference if self.impl == "reference" else greedy_fast
        keep = [sorted(fn(self.matrices(ctx, b), n_keep)) for b in range(ctx.hidden.shape[0])]
        return Selection(torch.tensor(keep, dtype=torch.long))


def cell_of_token(n_tokens: int = 64, grid=(2, 2)) -> list[int]:
    """The scene cell (raster order) each vision token of a square patch grid lies in."""
    side = int(round(n_tokens**0.5))
    per_r, per_c = side // grid[0], side // grid[1]
    return [(t // side) // per_r * grid[1] + (t % side) // per_c for t in range(n_tokens)]


def grounding_hit(text: torch.Tensor, vis: torch.Tensor, cells, target_cells, tau_tv: float = 0.02) -> tuple[int, float]:
    """Does the text-vision coverage point at the asked item? The vision token with the largest total `P` (summed over
    the text tokens) lies in a cell holding the item (1) or not (0), and the chance of that for a uniformly random
    token (the share of tokens in such cells)."""
    P = coverage_matrix(text, vis, None, tau_tv=tau_tv)
    top = int(P.sum(dim=0).argmax())
    inside = [c in target_cells for c in cells]
    return int(inside[top]), sum(inside) / len(inside)


def t_geomean(ratios, n_unit: str = "scene seeds", unit: str = "", level: float = 0.95):
    """The geometric mean of positive per-unit ratios with a Student-t interval on their logarithms
    (`shared.claims.Measurement.t_mean`), mapped back; a ratio that is not positive gives NaN (inconclusive)."""
    import numpy as np

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
    """Prefill latency per request (batch 1) for each `(unit name, visual tokens kept)` beside the unpruned prefill
    in the same run, measured as `shared.vision.vlm_hooks.prefill_benchmark` measures it (interleaved repeats,
    medians, the selection timed on its own), for unit objects whose context needs the encoder features and the
    question's text embeddings (coverage): building those is counted in the selection time.

    Returns:
        list[dict]: one row per configuration, `all tokens` first: prefill and selection ms, and their ratios to the
        unpruned prefill.
    """
    import statistics
    import time

    from shared.vision.vlm_hooks import prune_visual

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
                ctx = None
                if unit is not None:
                    text = [text_embeddings(vlm, q.text)] if isinstance(unit, Coverage) else None
                    ctx = CoverageContext(hidden=vis, attn=attn[row : row + 1], keys=keys[row : row + 1], grid=grid,
                                          enc=feats[row : row + 1], text=text)  # fmt: skip
                kept, index = prune_visual(vis, unit, c[1] / n, ctx)
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
