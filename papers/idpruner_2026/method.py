"""IDPruner (Tan, Sun, Huang, Liu, Yu, Zhu, Deng 2026; arXiv:2602.13315v1) on the project's scene VLM: what is new.

IDPruner is Maximal Marginal Relevance over the visual tokens at the LM input (the paper's Algorithm 1): importance
`w` is min-max normalised to `Imp = (w - min w) / (max w - min w + eps)`; the first token kept is the most important
one; every later step keeps the token maximising `lam * Imp(v) - (1 - lam) * max_{s in S} cos(v, s)`, with the running
maximum similarity `m` updated once per step (O(KN)). The shared `mmr` unit (`shared.vision.select.MMRSelect`) is
not this rule: it divides importance by its maximum (no min-max), so the same `lam` weighs importance differently, and
its first step maximises `lam * importance`, which at `lam = 0` picks token 0 instead of the most important one.
`IDPruner` is the paper's rule, batched; `idpruner_reference` is Algorithm 1 itself, plain Python in float64, which
the tests hold the unit to.

Also here: the blind answerer of the precondition per question (`blind_correct`, the rule of
`shared.vision.scenes.majority_baseline` applied to each sampled question), the evaluation of one scene set under
every arm (`evaluate_arms`), the geometric mean of per-seed ratios with a Student-t interval on the log scale
(`t_ratio`, over `shared.claims.Measurement.t_mean`), and a context manager that lends `IDPruner` a registry name for
the duration of the shared prefill benchmark (`shared.vision.vlm_hooks.prefill_benchmark` builds units by name).

Deviations from the paper, on purpose:
- Importance: the paper uses VisionSelector's learned scorer (a trained module with a differentiable top-k, its
  DiffTopK output as `w`). The project has no such scorer; `w` is the attention the encoder's CLS token pays to each
  patch in DINOv2-S's last block (VisionZip-style importance, the `cls_attention` unit), so IDPruner against
  `cls_attention` top-k is the paper's own ablation (the same importance with and without MMR). It reads the
  encoder's attention map, not the LM's, so the LM stays FlashAttention-compatible as in the paper.
- Similarity: cosine on the projected visual tokens that enter the LM (the official code uses the LM's input
  embeddings of the visual tokens, the same place).
- Model and data: SmolLM2-135M behind a DINOv2-S encoder with 64 visual tokens, composed 2 x 2 scenes and four
  templated question types with exact one-word answers, instead of 7B MLLMs and ten benchmarks. Keep 25% and about
  10% (16 and 6 of 64 tokens) stand for the paper's 25% / 10% retention on Qwen2.5-VL; 3 of 64 (4.7%) for LLaVA's
  32 of 576 (5.6%).
"""

import contextlib
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from shared.vision.select import SELECTORS, CLSAttention, Scorer, Selection, TokenSelector

EPS = 1e-6  # the paper's stabilising constant in the min-max normalisation (the official code's 1e-6)


@dataclass
class MinMaxImportance(Scorer):
    """Another scorer's importance, min-max normalised per image to [0, 1] (the paper's Eq. for `Imp`).

    Args:
        base (Scorer): the raw importance `w`. Default: CLS attention of the encoder's last block.
        eps (float): the paper's stabilising constant.
    """

    base: Scorer = field(default_factory=CLSAttention)
    eps: float = EPS

    def score(self, ctx):
        return self.normalise(self.base.score(ctx).double(), self.eps)

    @staticmethod
    def normalise(w: torch.Tensor, eps: float = EPS) -> torch.Tensor:
        """`(w - min w) / (max w - min w + eps)` per row of `w` `[B, N]`."""
        lo, hi = w.amin(dim=-1, keepdim=True), w.amax(dim=-1, keepdim=True)
        return (w - lo) / (hi - lo + eps)


@dataclass
class IDPruner(TokenSelector):
    """IDPruner (Algorithm 1): the most important token first, then greedy MMR on min-max normalised importance and
    cosine similarity of the visual tokens (`hidden`), the maximum similarity to the kept set updated once per step.

    Args:
        lam (float): weight of importance against redundancy (the paper's default 0.5; 1 is top-k importance).
        importance (Scorer, Optional): the raw importance `w`, min-max normalised here. Default: CLS attention.
        source (str): features the similarity is measured on.
        impl (str): `"fast"` (batched, incremental) or `"reference"` (`idpruner_reference`, float64 loops).
    """

    lam: float = 0.5
    importance: Scorer | None = None
    source: str = "hidden"
    impl: str = "fast"

    def select(self, ctx, n_keep):
        base = self.importance if self.importance is not None else CLSAttention()
        w = base.score(ctx).double()  # [B, N]
        x = ctx.metric(self.source)
        if self.impl == "reference":
            keep = [sorted(idpruner_reference(w[b], x[b], n_keep, self.lam)) for b in range(x.shape[0])]
            return Selection(torch.tensor(keep, dtype=torch.long))
        imp = MinMaxImportance.normalise(w)  # [B, N]
        xn = x.double() / x.double().norm(dim=-1, keepdim=True)
        sim = xn @ xn.transpose(-1, -2)  # [B, N, N]
        B, N = w.shape
        rows = torch.arange(B)
        taken = torch.zeros(B, N, dtype=torch.bool)
        m = torch.full((B, N), -1.0, dtype=torch.float64)
        chosen = []
        for t in range(n_keep):
            gain = imp.clone() if t == 0 else self.lam * imp - (1 - self.lam) * m
            gain[taken] = -math.inf
            i = gain.argmax(dim=-1)  # [B] the first maximum: ties go to the lower index
            taken[rows, i] = True
            chosen.append(i)
            m = torch.maximum(m, sim[rows, :, i])
        return Selection(torch.stack(chosen, dim=-1).sort(dim=-1).values)


def idpruner_reference(w, x, k: int, lam: float, eps: float = EPS) -> list[int]:
    """The paper's Algorithm 1 for one image, plain Python in float64: raw importance `w` `[N]`, token features `x`
    `[N, D]`, budget `k`. Returns the kept indices in the order chosen (ties: the lower index)."""
    w = [float(v) for v in w]
    xs = [[float(v) for v in row] for row in x]
    N = len(w)
    lo, hi = min(w), max(w)
    imp = [(v - lo) / (hi - lo + eps) for v in w]
    norms = [math.sqrt(sum(v * v for v in row)) for row in xs]

    def cos(i, j):
        return sum(a * b for a, b in zip(xs[i], xs[j])) / (norms[i] * norms[j])

    chosen: list[int] = []
    m = [-1.0] * N
    for t in range(k):
        if t == 0:
            gain = imp[:]
        else:
            gain = [lam * imp[i] - (1 - lam) * m[i] for i in range(N)]
        best, best_i = -math.inf, -1
        for i in range(N):
            if i not in chosen and gain[i] > best:
                best, best_i = gain[i], i
        chosen.append(best_i)
        m = [max(m[i], cos(i, best_i)) for i in range(N)]
    return chosen


def blind_correct(train_scenes, items) -> list[bool]:
    """Whether a blind answerer gets each `(scene index, question)` right: for each question text, the most frequent
    answer to that text among the training scenes' questions (the type's most frequent answer for a text never seen);
    the rule of `shared.vision.scenes.majority_baseline`, per sampled question."""
    by_text: dict[str, dict[str, int]] = {}
    by_kind: dict[str, dict[str, int]] = {}
    for s in train_scenes:
        for q in s.questions:
            for table, key in ((by_text, q.text), (by_kind, q.kind)):
                table.setdefault(key, {}).setdefault(q.answer, 0)
                table[key][q.answer] += 1

    def top(counts):
        return max(sorted(counts), key=counts.get)

    return [q.answer == top(by_text.get(q.text) or by_kind[q.kind]) for _, q in items]


def evaluate_arms(vlm, feats, attn, keys, items, arms: dict, ratios, batch: int = 32):
    """Exact-answer correctness of every item with all visual tokens (key `("all tokens", 1.0)`) and under every arm
    (`{name: TokenSelector}`) at every keep ratio (key `(name, ratio)`), each a list of bools in item order."""
    from shared.vision import vlm_stage as st
    from shared.vision.vlm_hooks import context_for, prune_visual

    grid = (int(feats.shape[1] ** 0.5),) * 2
    out = {("all tokens", 1.0): st.evaluate(vlm, feats, items, batch)}
    for name, unit in arms.items():
        for r in ratios:

            def select(rows, vis, unit=unit, r=r):
                return prune_visual(vis, unit, r, context_for(vis, attn[rows], keys[rows], grid))

            out[(name, r)] = st.evaluate(vlm, feats, items, batch, select=select)
    return out


def t_ratio(numerator, denominator, n_unit: str = "seeds", unit: str = "", level: float = 0.95):
    """The geometric mean of paired per-unit ratios with a Student-t interval on the log scale
    (`shared.claims.Measurement.t_mean` on the log ratios, mapped back)."""
    from shared.claims import Measurement

    num, den = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    if num.shape != den.shape or (num <= 0).any() or (den <= 0).any():
        raise ValueError("t_ratio needs paired positive values")
    m = Measurement.t_mean(np.log(num / den), n_unit=n_unit, level=level)
    if not m.has_interval:
        return Measurement(float(np.exp(m.value)), n=m.n, unit=unit, n_unit=n_unit, interval=m.interval)
    return Measurement(float(np.exp(m.value)), float(np.exp(m.low)), float(np.exp(m.high)), n=m.n, unit=unit,
                       n_unit=n_unit, interval="log-scale Student t")  # fmt: skip


@contextlib.contextmanager
def lent_name(name: str, cls):
    """`cls` under `name` in the selector registry while the block runs (the shared prefill benchmark builds its
    units by name); the registry is left as it was, so nothing else ever sees the paper's unit."""
    if name in SELECTORS:
        raise KeyError(f"selector {name!r} is already registered")
    SELECTORS[name] = cls
    try:
        yield
    finally:
        del SELECTORS[name]
