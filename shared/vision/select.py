"""Selection units for visual tokens, on one interface: a `TokenContext` and a budget in, a `Selection` out.

A *scorer* gives one importance per token and the base keeps the top `n_keep` (CLS attention, weighted PageRank); a
*selector* chooses the set itself (k-center, MMR, bipartite merging, Zero-TPrune, random, spatial downsampling).
Merging units also say where each dropped token goes (`Selection.merge_into`); `apply_selection` then averages
features by size, the way ToMe does. The CLS token is never a candidate: units see patch tokens only.

Units with a fast path keep a plain reference (`impl="reference"`: loops, float64) that tests compare against.
"""

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

SELECTORS: dict[str, type["TokenSelector"]] = {}


def register(name: str):
    def wrap(cls):
        if name in SELECTORS:
            raise KeyError(f"selector {name!r} is registered twice")
        cls.name = name
        SELECTORS[name] = cls
        return cls

    return wrap


def build_selector(name: str, **kwargs) -> "TokenSelector":
    if name not in SELECTORS:
        raise KeyError(f"unknown selector {name!r}; known: {sorted(SELECTORS)}")
    return SELECTORS[name](**kwargs)


def n_keep_for(keep_ratio: float, n: int) -> int:
    """Tokens kept out of `n` at `keep_ratio` in (0, 1]: ceil, at least one."""
    if not 0.0 < keep_ratio <= 1.0:
        raise ValueError(f"keep_ratio must be in (0, 1], got {keep_ratio}")
    # round first: 0.3 * 70 is 21.000000000000004 in floating point, and ceil alone would keep 22
    return min(n, max(1, math.ceil(round(keep_ratio * n, 6))))


@dataclass
class TokenContext:
    """What a unit may look at, for the `N` patch tokens entering the block where pruning happens.

    Args:
        hidden (torch.Tensor): patch hidden states `[B, N, D]` (CLS excluded).
        attn (torch.Tensor, Optional): the previous block's attention probabilities `[B, H, 1 + N, 1 + N]`, CLS first.
        keys (torch.Tensor, Optional): the previous block's keys of the patch tokens, averaged over heads `[B, N, Dh]`.
        grid (tuple[int, int], Optional): rows and columns of the original patch grid.
        positions (torch.Tensor, Optional): raster index of each token in that grid `[B, N]` (default: `0..N-1`).
        size (torch.Tensor, Optional): original patches each token stands for `[B, N]` (default: ones).
    """

    hidden: torch.Tensor
    attn: torch.Tensor | None = None
    keys: torch.Tensor | None = None
    grid: tuple[int, int] | None = None
    positions: torch.Tensor | None = None
    size: torch.Tensor | None = None

    @property
    def n(self) -> int:
        return self.hidden.shape[1]

    def metric(self, source: str) -> torch.Tensor:
        """The features similarity is measured on: `keys` (ToMe, Zero-TPrune) or `hidden` (DivPrune-style)."""
        x = self.keys if source == "keys" else self.hidden
        if x is None:
            raise ValueError(f"this unit compares {source}, and the context has none")
        return x


@dataclass
class Selection:
    """Kept tokens, and for merging units where the dropped ones go.

    Args:
        keep (torch.Tensor): indices of the kept patch tokens, sorted, `[B, K]`.
        merge_into (torch.Tensor, Optional): for every token, the slot `0..K-1` of `keep` its features are averaged
            into, or -1 for a token dropped outright, `[B, N]`; `None` for plain pruning.
    """

    keep: torch.Tensor
    merge_into: torch.Tensor | None = None


def apply_selection(hidden: torch.Tensor, sel: Selection, size: torch.Tensor | None = None):
    """The tokens after selection, `[B, K, D]`, and their sizes `[B, K]`: kept rows for pruning, size-weighted means
    of each kept token and the tokens merged into it for merging."""
    B, N, D = hidden.shape
    size = torch.ones(B, N, dtype=hidden.dtype, device=hidden.device) if size is None else size.to(hidden.dtype)
    if sel.merge_into is None:
        return hidden.gather(1, sel.keep.unsqueeze(-1).expand(-1, -1, D)), size.gather(1, sel.keep)
    K = sel.keep.shape[1]
    slot = sel.merge_into
    w = size * (slot >= 0)  # [B, N] dropped tokens weigh nothing
    slot = slot.clamp(min=0)
    total = torch.zeros(B, K, dtype=hidden.dtype, device=hidden.device).scatter_add(1, slot, w)  # [B, K]
    acc = torch.zeros(B, K, D, dtype=hidden.dtype, device=hidden.device)
    acc.scatter_add_(1, slot.unsqueeze(-1).expand(-1, -1, D), hidden * w.unsqueeze(-1))
    return acc / total.unsqueeze(-1), total


def _sorted_selection(keep: torch.Tensor) -> Selection:
    return Selection(keep.sort(dim=-1).values)


@dataclass
class TokenSelector:
    """A unit: `select(ctx, n_keep)` returns the `Selection` of `n_keep` of the context's `N` patch tokens."""

    name: ClassVar[str] = ""

    def select(self, ctx: TokenContext, n_keep: int) -> Selection:
        raise NotImplementedError


@dataclass
class Scorer(TokenSelector):
    """A unit that scores tokens (higher = keep); the base keeps the top `n_keep` (ties: the lower index)."""

    def score(self, ctx: TokenContext) -> torch.Tensor:
        """Importance `[B, N]` of each patch token."""
        raise NotImplementedError

    def select(self, ctx, n_keep):
        s = self.score(ctx).double()
        # a stable descending sort keeps the lower index on ties, on every machine
        order = torch.sort(s, dim=-1, descending=True, stable=True).indices
        return _sorted_selection(order[:, :n_keep])


@register("cls_attention")
@dataclass
class CLSAttention(Scorer):
    """Attention the CLS token pays to each patch, averaged over heads (EViT, ATS-style importance)."""

    def score(self, ctx):
        return ctx.attn[:, :, 0, 1:].mean(dim=1)


def pagerank_reference(attn: torch.Tensor, iterations: int) -> torch.Tensor:
    """Weighted PageRank per head, the textbook loop in float64: `s_i <- sum_j A[j, i] s_j` from the uniform `s`.

    `attn` is `[B, H, T, T]` with rows that sum to one (row j: where query j looks); returns `[B, H, T]`."""
    A = attn.double().tolist()  # plain Python floats: the loop below is the definition, nothing else
    B, H, T = len(A), len(A[0]), len(A[0][0])
    out = torch.empty(B, H, T, dtype=torch.float64)
    for b in range(B):
        for h in range(H):
            a = A[b][h]
            s = [1.0 / T] * T
            for _ in range(iterations):
                s = [sum(a[j][i] * s[j] for j in range(T)) for i in range(T)]
            out[b, h] = torch.tensor(s, dtype=torch.float64)
    return out


def pagerank_fast(attn: torch.Tensor, iterations: int) -> torch.Tensor:
    """The same iteration batched over images and heads (one matrix-vector product per step)."""
    B, H, T, _ = attn.shape
    s = torch.full((B, H, T), 1.0 / T, dtype=attn.dtype, device=attn.device)
    for _ in range(iterations):
        s = torch.einsum("bhji,bhj->bhi", attn, s)
    return s


@register("pagerank")
@dataclass
class PageRank(Scorer):
    """Zero-TPrune's I-stage importance: weighted PageRank on each head's attention graph (a token is important when
    important tokens attend to it), the heads combined by root-sum-of-squares (their "emphasizing informative
    region" aggregation) or by the mean; CLS takes part in the graph but is not scored.

    Args:
        iterations (int): power-iteration steps (the paper uses 30-50 in early layers).
        heads (str): `"rms"` or `"mean"`.
        impl (str): `"fast"` or `"reference"`.
    """

    iterations: int = 30
    heads: str = "rms"
    impl: str = "fast"

    def score(self, ctx):
        fn = pagerank_reference if self.impl == "reference" else pagerank_fast
        s = fn(ctx.attn, self.iterations)[:, :, 1:]  # [B, H, N]
        if self.heads == "rms":
            return s.pow(2).sum(dim=1).sqrt()
        if self.heads == "mean":
            return s.mean(dim=1)
        raise ValueError(f"unknown head aggregation {self.heads!r}")


@register("random")
@dataclass
class RandomSelect(Scorer):
    """Uniformly random tokens: the floor every unit must beat. The draw is seeded per call (`[B, N]` uniforms from
    `seed`), so one image position in a batch gets the same draw on every machine."""

    seed: int = 0

    def score(self, ctx):
        g = torch.Generator().manual_seed(self.seed)
        return torch.rand(ctx.hidden.shape[:2], generator=g, dtype=torch.float64)


@register("downsample")
@dataclass
class SpatialDownsample(TokenSelector):
    """Plain spatial downsampling: the tokens nearest to a regular `r x c` lattice over the patch grid, and with
    `merge=True` every other token averaged into the nearest kept one (average pooling on an irregular grid)."""

    merge: bool = True

    def select(self, ctx, n_keep):
        R, C = ctx.grid
        B, N = ctx.hidden.shape[:2]
        pos = ctx.positions if ctx.positions is not None else torch.arange(N).expand(B, N)
        rows = min(R, max(1, round(math.sqrt(n_keep * R / C))))
        cols = min(C, math.ceil(n_keep / rows))
        while rows * cols < n_keep:
            rows += 1
        cy = [(i + 0.5) * R / rows - 0.5 for i in range(rows)]
        cx = [(j + 0.5) * C / cols - 0.5 for j in range(cols)]
        lattice = [(y, x) for y in cy for x in cx]
        # spread the n_keep points evenly over the lattice when it has a few more points than needed
        pick = [lattice[round(i * (len(lattice) - 1) / max(1, n_keep - 1))] for i in range(n_keep)] if n_keep > 1 \
            else [(sum(cy) / rows, sum(cx) / cols)]  # fmt: skip
        pts = torch.tensor(pick, dtype=torch.float64)  # [K, 2]
        keep = torch.empty(B, n_keep, dtype=torch.long)
        merge_into = torch.empty(B, N, dtype=torch.long) if self.merge else None
        for b in range(B):
            yx = torch.stack([pos[b] // C, pos[b] % C], dim=-1).double()  # [N, 2]
            d = torch.cdist(pts, yx)  # [K, N]
            taken = torch.zeros(N, dtype=torch.bool)
            chosen = []
            for k in range(n_keep):
                dk = d[k].masked_fill(taken, float("inf"))
                i = int(dk.argmin())
                taken[i] = True
                chosen.append(i)
            chosen = torch.tensor(sorted(chosen))
            keep[b] = chosen
            if self.merge:
                merge_into[b] = torch.cdist(yx, yx[chosen]).argmin(dim=-1)
        return Selection(keep, merge_into)


def best_match_reference(a: torch.Tensor, b: torch.Tensor):
    """For each row of `a` `[Na, D]`, its highest cosine similarity to a row of `b` `[Nb, D]` and which row
    (the first on ties), by loops in float64."""
    a, b = a.double(), b.double()
    best, idx = [], []
    for i in range(a.shape[0]):
        sims = [float(a[i] @ b[j] / (a[i].norm() * b[j].norm())) for j in range(b.shape[0])]
        m = max(sims)
        best.append(m)
        idx.append(sims.index(m))
    return torch.tensor(best, dtype=torch.float64), torch.tensor(idx, dtype=torch.long)


def best_match_fast(a: torch.Tensor, b: torch.Tensor):
    """The same for a batch: `a` `[B, Na, D]`, `b` `[B, Nb, D]` -> best similarity and index, `[B, Na]` each."""
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    return (a @ b.transpose(-1, -2)).max(dim=-1)


def _best_match(a, b, impl):
    if impl == "reference":
        pairs = [best_match_reference(a[i], b[i]) for i in range(a.shape[0])]
        return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])
    return best_match_fast(a, b)


def _merge_round(metric, size, n_remove, impl):
    """One round of ToMe's bipartite soft matching on `metric` `[B, M, D]` (alternate tokens: set A = even, B = odd):
    the `n_remove` A tokens whose best cosine match in B is highest merge into it. Returns, per image, the surviving
    positions (sorted) and for every position the surviving position it went to."""
    Bsz, M, _ = metric.shape
    a_pos, b_pos = torch.arange(0, M, 2), torch.arange(1, M, 2)
    best, idx = _best_match(metric[:, a_pos], metric[:, b_pos], impl)
    order = torch.sort(best.double(), dim=-1, descending=True, stable=True).indices  # [B, Na]
    target = torch.arange(M).expand(Bsz, M).clone()
    for b in range(Bsz):
        src = a_pos[order[b, :n_remove]]
        target[b, src] = b_pos[idx[b, order[b, :n_remove]]]
    return target


def _compose(pos_target: torch.Tensor):
    """Survivors (sorted positions that map to themselves) and each position's slot among them."""
    Bsz, M = pos_target.shape
    keep = torch.stack([torch.nonzero(pos_target[b] == torch.arange(M)).squeeze(-1) for b in range(Bsz)])
    slot_of = torch.full((Bsz, M), -1, dtype=torch.long)
    for b in range(Bsz):
        slot_of[b, keep[b]] = torch.arange(keep.shape[1])
    return keep, slot_of.gather(1, pos_target)


@register("bipartite_merge")
@dataclass
class BipartiteMerge(TokenSelector):
    """ToMe's bipartite soft matching (Bolya et al. 2023): alternate tokens form sets A and B, each A token finds its
    most similar B token (cosine on keys), and the most similar pairs merge (size-weighted mean). At most half the
    tokens can merge in one round, so deeper cuts run several rounds on the merged tokens.

    Args:
        source (str): `"keys"` (ToMe) or `"hidden"`.
        impl (str): `"fast"` or `"reference"` (the similarity search).
    """

    source: str = "keys"
    impl: str = "fast"

    def select(self, ctx, n_keep):
        metric = ctx.metric(self.source)
        Bsz, N, _ = metric.shape
        size = torch.ones(Bsz, N, dtype=metric.dtype) if ctx.size is None else ctx.size.to(metric.dtype)
        keep_orig = torch.arange(N).expand(Bsz, N)  # original index of each current token
        slot = torch.arange(N).expand(Bsz, N).clone()  # current slot of each original token
        while metric.shape[1] > n_keep:
            M = metric.shape[1]
            r = min(M - n_keep, (M + 1) // 2)
            keep, slot_of = _compose(_merge_round(metric, size, r, self.impl))
            metric, size = apply_selection(metric, Selection(keep, slot_of), size)
            keep_orig = keep_orig.gather(1, keep)
            slot = slot_of.gather(1, slot)
        return Selection(keep_orig, slot)


@register("zero_tprune")
@dataclass
class ZeroTPrune(TokenSelector):
    """Zero-TPrune (Wang et al., CVPR 2024): the I-stage drops the tokens of lowest weighted-PageRank importance; the
    S-stage splits the rest by importance (the more important half B, the less important half A) and drops the A
    tokens most similar (cosine on keys) to some B token, so a redundant token goes even when it is important enough
    to survive the I-stage.

    Args:
        iterations (int): PageRank steps.
        i_share (float): share of the dropped tokens the I-stage removes; the S-stage removes the rest (at most |A|).
        merge (bool): average each S-stage token into its match instead of dropping it.
        impl (str): `"fast"` or `"reference"` for both stages.
    """

    iterations: int = 30
    i_share: float = 0.5
    merge: bool = False
    impl: str = "fast"

    def select(self, ctx, n_keep):
        N = ctx.n
        imp = PageRank(self.iterations, "rms", self.impl).score(ctx).double()  # [B, N]
        n_drop = N - n_keep
        # the S-stage drops only from the less important half of the m = n_keep + n_s survivors: n_s <= n_keep
        n_s = min(n_drop - round(self.i_share * n_drop), n_keep)
        m = n_keep + n_s
        order = torch.sort(imp, dim=-1, descending=True, stable=True).indices[:, :m]  # I-stage survivors, best first
        half = (m + 1) // 2
        b_idx, a_idx = order[:, :half], order[:, half:]  # B: more important, A: less important
        metric = ctx.metric("keys")
        D = metric.shape[-1]
        best, match = _best_match(metric.gather(1, a_idx.unsqueeze(-1).expand(-1, -1, D)),
                                  metric.gather(1, b_idx.unsqueeze(-1).expand(-1, -1, D)), self.impl)  # fmt: skip
        s_order = torch.sort(best.double(), dim=-1, descending=True, stable=True).indices  # [B, |A|]
        dropped_a = s_order[:, :n_s]
        kept_a = a_idx.gather(1, s_order[:, n_s:])
        keep = torch.cat([b_idx, kept_a], dim=1).sort(dim=-1).values  # [B, K]
        if not self.merge:
            return Selection(keep)
        Bsz = keep.shape[0]
        slot_of = torch.full((Bsz, N), -1, dtype=torch.long)
        for b in range(Bsz):
            slot_of[b, keep[b]] = torch.arange(keep.shape[1])
        merge_into = slot_of.clone()
        src = a_idx.gather(1, dropped_a)
        dst = b_idx.gather(1, match.gather(1, dropped_a))
        merge_into.scatter_(1, src, slot_of.gather(1, dst))
        return Selection(keep, merge_into)


def _cosine_matrix_reference(x: torch.Tensor) -> torch.Tensor:
    x = x.double()
    N = x.shape[0]
    return torch.tensor([[float(x[i] @ x[j] / (x[i].norm() * x[j].norm())) for j in range(N)] for i in range(N)],
                        dtype=torch.float64)  # fmt: skip


def _cosine_matrix_fast(x: torch.Tensor) -> torch.Tensor:
    x = x / x.norm(dim=-1, keepdim=True)
    return x @ x.transpose(-1, -2)


@register("kcenter")
@dataclass
class KCenter(TokenSelector):
    """Max-min diversity (greedy k-center, DivPrune-style): start from the token farthest (cosine distance) from the
    mean token, then repeatedly add the token whose nearest kept token is farthest away.

    Args:
        source (str): `"hidden"` (default) or `"keys"`.
        impl (str): `"fast"` (incremental nearest distance) or `"reference"` (recomputed each step, float64 loops).
    """

    source: str = "hidden"
    impl: str = "fast"

    def select(self, ctx, n_keep):
        x = ctx.metric(self.source)
        out = []
        for b in range(x.shape[0]):
            xb = x[b].double() if self.impl == "reference" else x[b]
            sim = _cosine_matrix_reference(xb) if self.impl == "reference" else _cosine_matrix_fast(xb)
            mean = xb.mean(dim=0, keepdim=True)
            d0 = 1 - (xb @ mean.T).squeeze(-1) / (xb.norm(dim=-1) * mean.norm())
            chosen = [int(d0.argmax())]
            if self.impl == "reference":
                while len(chosen) < n_keep:
                    mind = [min(1 - float(sim[i, j]) for j in chosen) for i in range(xb.shape[0])]
                    for j in chosen:
                        mind[j] = -math.inf
                    chosen.append(mind.index(max(mind)))
            else:
                mind = 1 - sim[chosen[0]]
                mind[chosen[0]] = -math.inf
                while len(chosen) < n_keep:
                    i = int(mind.argmax())
                    chosen.append(i)
                    mind = torch.minimum(mind, 1 - sim[i])
                    mind[chosen] = -math.inf
            out.append(torch.tensor(sorted(chosen)))
        return Selection(torch.stack(out))


@register("mmr")
@dataclass
class MMRSelect(TokenSelector):
    """Maximal marginal relevance: greedily add the token maximising `lam * importance - (1 - lam) * (highest cosine
    similarity to a kept token)`, importance (CLS attention by default) scaled to [0, 1] per image.

    Args:
        lam (float): weight of importance against redundancy; `1` is top-k importance.
        importance (Scorer, Optional): the relevance scorer. Default: `CLSAttention()`.
        source (str): features the similarity is measured on.
        impl (str): `"fast"` (incremental) or `"reference"` (recomputed, float64 loops).
    """

    lam: float = 0.5
    importance: Scorer | None = None
    source: str = "hidden"
    impl: str = "fast"

    def select(self, ctx, n_keep):
        rel = (self.importance or CLSAttention()).score(ctx).double()
        rel = rel / rel.amax(dim=-1, keepdim=True).clamp_min(1e-300)
        x = ctx.metric(self.source)
        out = []
        for b in range(x.shape[0]):
            sim = _cosine_matrix_reference(x[b]) if self.impl == "reference" else _cosine_matrix_fast(x[b].double())
            N = x.shape[1]
            chosen: list[int] = []
            if self.impl == "reference":
                while len(chosen) < n_keep:
                    gains = [-math.inf if i in chosen else self.lam * float(rel[b, i])
                             - (1 - self.lam) * max((float(sim[i, j]) for j in chosen), default=0.0)
                             for i in range(N)]  # fmt: skip
                    chosen.append(gains.index(max(gains)))
            else:
                red = torch.zeros(N, dtype=torch.float64)
                while len(chosen) < n_keep:
                    gain = self.lam * rel[b] - (1 - self.lam) * red
                    gain[chosen] = -math.inf
                    i = int(gain.argmax())
                    chosen.append(i)
                    red = sim[i].clone() if len(chosen) == 1 else torch.maximum(red, sim[i])
            out.append(torch.tensor(sorted(chosen)))
        return Selection(torch.stack(out))
