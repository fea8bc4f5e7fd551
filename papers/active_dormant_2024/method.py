"""The Bigram-Backcopy task, a small pre-norm transformer with inspectable internals, and extreme-token statistics.

Guo, Pai, Bai, Jiao, Jordan & Mei, *Active-Dormant Attention Heads: Mechanistically Demystifying Extreme-Token
Phenomena in LLMs* (arXiv:2410.13835). A Bigram-Backcopy (BB) sequence starts with a BOS token and follows a fixed
character-bigram Markov chain, except right after one of the `k` most frequent characters (the *triggers*), where the
next token is a copy of the token before the trigger. A transformer trained on it learns an attention head that is
*active* after triggers (it attends to the previous token and copies it) and *dormant* otherwise, by attending to BOS,
whose value state shrinks towards zero (the value-state drain) while the BOS residual state grows (the residual peak).

Deviations from the paper, on purpose:
- the bigram chain is estimated from the King James Bible (`data/text/kjv`), not from tiny-Shakespeare: the offline
  corpus we have; triggers are again its `k` most frequent characters (space, e, t for k = 3);
- much smaller scale for a CPU: width 64 (paper 256), sequences of 64 tokens (paper 256), batches of 64 (paper 512),
  hundreds to a few thousand steps (paper 10,000-100,000) with a larger Adam learning rate (paper 3e-4);
- our own trainer (fresh BB batches every step, AdamW or SGD with momentum, constant step): `shared.lm.trainer` draws
  windows from a fixed token stream and has no SGD, and the dynamics claim needs the internals logged during training.
  A per-batch task sampler and an optimizer switch would let the shared trainer serve this paper.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class BigramBackcopy:
    """The BB task over characters `0..V-1` plus a BOS token with id `V`.

    Args:
        transition (torch.Tensor): row-stochastic bigram matrix `[V, V]`, float64.
        marginal (torch.Tensor): unigram frequencies `[V]`; the first token after BOS is drawn from it, triggers removed.
        triggers (list[int]): the trigger tokens (after one of them the next token copies the one before it).
        itos (list[str]): the character of each id, for display.
    """

    transition: torch.Tensor
    marginal: torch.Tensor
    triggers: list[int]
    itos: list[str]

    @classmethod
    def from_text(cls, text: str, k: int = 3) -> "BigramBackcopy":
        """Estimate the bigram chain from `text`; the `k` most frequent characters become the triggers."""
        itos = sorted(set(text))
        stoi = {c: i for i, c in enumerate(itos)}
        ids = torch.tensor([stoi[c] for c in text])
        v = len(itos)
        counts = torch.zeros(v * v, dtype=torch.float64).index_add_(0, ids[:-1] * v + ids[1:],
                                                                     torch.ones(len(ids) - 1, dtype=torch.float64))  # fmt: skip
        counts = counts.view(v, v)
        # a character seen only at the very end has no successor: let it continue uniformly
        counts[counts.sum(1) == 0] = 1.0
        marginal = torch.bincount(ids, minlength=v).double()
        marginal /= marginal.sum()
        triggers = marginal.argsort(descending=True)[:k].tolist()
        return cls(counts / counts.sum(1, keepdim=True), marginal, sorted(triggers), itos)

    @property
    def vocab_size(self) -> int:
        """Characters plus BOS."""
        return len(self.itos) + 1

    @property
    def bos(self) -> int:
        return len(self.itos)

    def is_trigger(self, tokens: torch.Tensor) -> torch.Tensor:
        """Boolean mask of the same shape as `tokens`."""
        return torch.isin(tokens, torch.tensor(self.triggers))

    def sample(self, batch: int, length: int, gen: torch.Generator) -> torch.Tensor:
        """`[batch, length + 1]` int64 sequences: BOS, then `length` tokens (inputs are `[:, :-1]`, targets `[:, 1:]`)."""
        first = self.marginal.clone()
        first[self.triggers] = 0
        cdf_first = first.cumsum(0) / first.sum()
        cdf = self.transition.cumsum(1)
        cdf[:, -1] = 1.0  # guards against rounding leaving the last bucket short
        seq = torch.empty(batch, length + 1, dtype=torch.long)
        seq[:, 0] = self.bos
        seq[:, 1] = torch.searchsorted(cdf_first, torch.rand(batch, 1, generator=gen, dtype=torch.float64)).squeeze(1)
        for t in range(2, length + 1):
            x, prev = seq[:, t - 1], seq[:, t - 2]
            u = torch.rand(batch, 1, generator=gen, dtype=torch.float64)
            bigram = torch.searchsorted(cdf[x], u).squeeze(1).clamp_max(len(self.itos) - 1)  # [B]
            seq[:, t] = torch.where(self.is_trigger(x), prev, bigram)
        return seq


class Attention(nn.Module):
    """Causal multi-head attention, softmax or the paper's ReLU variant (`relu(logits) / number of visible keys`)."""

    def __init__(self, dim: int, heads: int, kind: str = "softmax"):
        super().__init__()
        if kind not in ("softmax", "relu"):
            raise ValueError(f"attention kind must be softmax or relu, got {kind!r}")
        self.heads, self.head_dim, self.kind = heads, dim // heads, kind
        self.wq, self.wk, self.wv = (nn.Linear(dim, dim, bias=False) for _ in range(3))
        self.wo = nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor, trace: dict | None = None) -> torch.Tensor:
        """`x` `[B, T, D]` -> `[B, T, D]`; `trace` (if given) receives logits and weights `[B, H, T, T]`, values
        `[B, H, T, D/H]`."""
        b, t, _ = x.shape
        q, k, v = (w(x).view(b, t, self.heads, self.head_dim).transpose(1, 2) for w in (self.wq, self.wk, self.wv))
        logits = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)  # [B, H, T, T]
        future = torch.ones(t, t, dtype=torch.bool).triu(1)
        if self.kind == "softmax":
            weights = logits.masked_fill(future, float("-inf")).softmax(-1)
        else:
            # query i sees i + 1 keys; dividing by that keeps the output scale independent of the position
            visible = torch.arange(1, t + 1, dtype=x.dtype).view(t, 1)
            weights = F.relu(logits).masked_fill(future, 0.0) / visible
        if trace is not None:
            trace.update(logits=logits.masked_fill(future, float("nan")), weights=weights, values=v)
        out = (weights @ v).transpose(1, 2).reshape(b, t, -1)
        return self.wo(out)


class Block(nn.Module):
    """Pre-norm block: `h + attn(LN(h))`, then `+ MLP(LN(.))` with a 4x ReLU MLP, as in the paper's code."""

    def __init__(self, dim: int, heads: int, attention: str):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, attention)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim, bias=False), nn.ReLU(), nn.Linear(4 * dim, dim, bias=False))

    def forward(self, h: torch.Tensor, trace: dict | None = None) -> torch.Tensor:
        h = h + self.attn(self.ln1(h), trace)
        return h + self.mlp(self.ln2(h))


class BBTransformer(nn.Module):
    """Token + learned position embeddings, `layers` pre-norm blocks, a final LayerNorm and an untied readout.

    Args:
        vocab_size (int): characters + BOS.
        dim (int): residual width D.
        layers (int): number of blocks L.
        heads (int): heads per block (the paper's BB models use 1).
        max_len (int): longest input.
        attention (str): `softmax` or `relu`.
    """

    def __init__(self, vocab_size: int, dim: int, layers: int, heads: int = 1, max_len: int = 64,
                 attention: str = "softmax"):  # fmt: skip
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab_size, dim), nn.Embedding(max_len, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, attention) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim)
        self.out = nn.Linear(dim, vocab_size, bias=False)

    def forward(self, tokens: torch.Tensor, traces: list | None = None) -> torch.Tensor:
        """`tokens` `[B, T]` -> logits `[B, T, V]`. With `traces` (a list), appends per layer a dict with the attention
        `logits`/`weights`/`values` and the `residual` `[B, T, D]` after the block."""
        h = self.tok(tokens) + self.pos(torch.arange(tokens.shape[1]))
        for block in self.blocks:
            trace = None if traces is None else {}
            h = block(h, trace)
            if trace is not None:
                trace["residual"] = h
                traces.append(trace)
        return self.out(self.ln_f(h))


@torch.no_grad()
def extreme_token_stats(model: BBTransformer, task: BigramBackcopy, tokens: torch.Tensor, head: int = 0) -> list[dict]:
    """Per-layer extreme-token statistics of one head on BB inputs `tokens` `[B, T]` (position 0 is BOS).

    Query positions 1..T-1 are split into *trigger* positions (the head should be active and copy) and *non-trigger*
    positions (dormant). Returns, per layer:
        sink_nontrigger: mean attention weight on BOS from non-trigger queries (the attention sink);
        sink_trigger: the same from trigger queries;
        prev_trigger: mean attention weight on the previous token from trigger queries (the active copy);
        sink_share_nontrigger: BOS share of the attention mass from non-trigger queries (equals sink_nontrigger for
            softmax; for ReLU attention, whose rows need not sum to 1, the ratio of the row sums);
        logit_gap: mean over non-trigger queries of the BOS logit minus the mean logit of the other visible keys;
        value_ratio: norm of the BOS value state over the mean norm of the other value states (the drain);
        residual_ratio: norm of the BOS residual state after the block over the median norm of the others (the peak).
    """
    traces = []
    model(tokens, traces)
    mask = task.is_trigger(tokens)[:, 1:]  # [B, T-1], query positions 1..T-1
    rows = []
    for layer, tr in enumerate(traces):
        w = tr["weights"][:, head, 1:]  # [B, T-1, T]
        lg = tr["logits"][:, head, 1:]  # [B, T-1, T], NaN above the diagonal
        to_bos = w[..., 0]
        to_prev = w[..., :-1].diagonal(dim1=1, dim2=2)  # query i (position i+1) -> key i
        others = lg[..., 1:].nanmean(-1)
        others = torch.where(torch.isnan(others), lg[..., 0], others)  # position 1 sees only BOS and itself
        vnorm = tr["values"][:, head].norm(dim=-1)  # [B, T]
        rnorm = tr["residual"].norm(dim=-1)  # [B, T]
        rows.append({
            "layer": layer,
            "sink_nontrigger": to_bos[~mask].mean().item(),
            "sink_trigger": to_bos[mask].mean().item(),
            "prev_trigger": to_prev[mask].mean().item(),
            "sink_share_nontrigger": (to_bos[~mask].sum() / w.sum(-1)[~mask].sum().clamp_min(1e-12)).item(),
            "logit_gap": (lg[..., 0] - others)[~mask].mean().item(),
            "value_ratio": (vnorm[:, 0].mean() / vnorm[:, 1:].mean()).item(),
            "residual_ratio": (rnorm[:, 0].mean() / rnorm[:, 1:].median()).item(),
        })  # fmt: skip
    return rows


@dataclass
class TrainConfig:
    layers: int = 1
    dim: int = 64
    length: int = 64  # tokens after BOS
    batch: int = 64
    steps: int = 600
    lr: float = 3e-3
    optimizer: str = "adam"  # "adam" (AdamW) or "sgd" (momentum 0.9, as in the paper's code)
    attention: str = "softmax"
    weight_decay: float = 1e-4
    log_every: int = 20


def train_bb(task: BigramBackcopy, cfg: TrainConfig, seed: int, probe: torch.Tensor | None = None):
    """Train a `BBTransformer` on fresh BB batches; every `cfg.log_every` steps (and at the end) record the loss and the layer-0 head's
    `extreme_token_stats` on `probe` `[B, T]` (a fixed batch), the dynamics the paper analyses.

    Returns:
        (BBTransformer, list[dict]): the trained model (eval mode) and the logged rows (step, loss, stats of layer 0).
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = BBTransformer(task.vocab_size, cfg.dim, cfg.layers, max_len=cfg.length + 1, attention=cfg.attention)
    if cfg.optimizer == "adam":
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    else:
        raise ValueError(f"optimizer must be adam or sgd, got {cfg.optimizer!r}")
    history = []
    for step in range(cfg.steps + 1):
        if probe is not None and (step % cfg.log_every == 0 or step == cfg.steps):
            model.eval()
            with torch.no_grad():
                loss = F.cross_entropy(model(probe[:, :-1]).flatten(0, 1), probe[:, 1:].flatten()).item()
            history.append({"step": step, "loss": loss, **extreme_token_stats(model, task, probe[:, :-1])[0]})
            model.train()
        if step == cfg.steps:
            break
        batch = task.sample(cfg.batch, cfg.length, gen)
        loss = F.cross_entropy(model(batch[:, :-1]).flatten(0, 1), batch[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval(), history


@torch.no_grad()
def split_loss(model: BBTransformer, task: BigramBackcopy, batch: torch.Tensor) -> dict:
    """Mean cross-entropy (nats) at trigger positions (copy) and at the others (bigram), next to the Bayes-optimal
    bigram loss on those positions (the copy positions' optimum is 0)."""
    inputs, targets = batch[:, :-1], batch[:, 1:]
    ce = F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten(), reduction="none").view_as(targets)
    mask = task.is_trigger(inputs)
    # position 0 predicts the first character from BOS: its optimum is the trigger-free marginal, not a bigram row
    body = ~mask
    body[:, 0] = False
    optimal = -task.transition[inputs[:, 1:], targets[:, 1:]].log()  # [B, T-1]
    return {"copy_loss": ce[mask].mean().item(), "bigram_loss": ce[body].mean().item(),
            "bigram_optimum": optimal[body[:, 1:]].mean().item()}  # fmt: skip
