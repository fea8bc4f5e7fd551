"""ssToken (arXiv:2510.18250v1): token selection for SFT by a self-modulated signal (the retrospective excess loss against
a history model) plus an attention-based semantic importance, on a synthetic instruction task whose responses mix
task tokens with noise.

The paper's score of a response token `x_i`, after its Sec. 3 and the authors' released code (jianke0604/ssToken,
`scripts/finetune_with_hook.py`, read, not copied):
- REL(x_i) = L_his(x_i) - L_cur(x_i): the token's loss under the history model (the base model before SFT) minus its
  loss under the current model, min-max normalised over the sample's response tokens;
- Attn(x_i): the attention mass the current model's last layer (mean over heads) puts on the prompt's positions;
- score = gamma * REL_norm + (1 - gamma) * Attn; the top ceil(rho * response length) tokens of each sample keep their
  loss, the rest are masked; the loss is the mean over kept tokens.

The arms (`Selector`, one `loss_fn` hook of `shared.lm.trainer.train` each): `full` (every response token), `random`
(random tokens at the same keep ratio: the trivial control), `rho1` (Rho-1-style excess loss L_cur - L_ref against a
reference model fine-tuned on clean data, top-k per sample), `rel` (self-modulated alone, gamma = 1), `attn`
(attention alone, gamma = 0) and `sstoken` (gamma = GAMMA).

The task (`NoisySFT`): prompt `BOS x_1..x_n SEP` (n data symbols); response: a boilerplate phrase (a random start token
and its fixed continuation), then the answer y_j = x_{n+1-j} (the prompt reversed), a random filler symbol after every
`fill_every` answers. In training data each answer token is corrupted (replaced by another random data symbol) with
probability `corrupt`; held-out data are clean. The base ("pretrained") model is trained on the same format with random
answers: it knows the format, the boilerplate and the fillers' distribution, not the task, as an LLM before SFT knows
the language but not the instruction data. Token kinds (`KINDS`) are recorded so each arm's kept share per kind can be
measured.

Deviations from the paper (see the README): a 2-layer from-scratch Llama (the shared `shared.lm.family` model: RoPE,
RMSNorm, SwiGLU, tied embeddings; not LLaMA-3 / Qwen-2.5 3B-14B with LoRA); a synthetic task with planted noise (not a 50k-sample DS2 pool and ten benchmarks); full fine-tuning;
per-sample top-k for every arm (Rho-1 ranks per batch); the attention score of token i is taken at the query position
that predicts it (i - 1; the released code uses the query at i itself); the history model is the fixed base (the
paper's default; its EMA variant is not run).
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

BOS, SEP = 0, 1
KINDS = ("boilerplate", "filler", "answer", "corrupted")  # kind codes 1..4 in `kind`; 0 = prompt (no loss)
ARMS = ("full", "random", "rho1", "rel", "attn", "sstoken", "oracle")


@dataclass(frozen=True)
class NoisySFT:
    """The synthetic instruction task; `sample` draws `[B, T]` inputs, targets (-100: prompt), kinds and the prompt
    length. Vocabulary: BOS, SEP, `alphabet` data symbols, `phrases * phrase_len` boilerplate tokens."""

    n: int = 8  # prompt symbols = answer tokens
    alphabet: int = 16  # data symbols
    phrases: int = 4  # boilerplate phrases
    phrase_len: int = 2  # tokens per phrase
    fill_every: int = 2  # a random filler symbol after every `fill_every` answers
    corrupt: float = 0.25  # probability that a training answer token is replaced by another symbol
    perm_seed: int = 0  # draws the task's symbol permutation pi
    pretrain_copy: float = 0.5  # base model's data: share of answer tokens that copy the prompt symbol (else random)

    @property
    def perm(self) -> torch.Tensor:
        return torch.from_numpy(np.random.default_rng(self.perm_seed).permutation(self.alphabet))

    @property
    def vocab(self) -> int:
        return 2 + self.alphabet + self.phrases * self.phrase_len

    @property
    def prompt_len(self) -> int:  # input positions 0 .. n + 1 hold BOS, x, SEP
        return self.n + 2

    def layout(self) -> list[int]:
        """Kind code of each response slot: boilerplate, then answers with a filler after every `fill_every`."""
        out = [1] * self.phrase_len
        for j in range(self.n):
            out.append(3)
            if (j + 1) % self.fill_every == 0:
                out.append(2)
        return out

    def sample(self, batch: int, gen: torch.Generator, corrupt: float | None = None, pretrain: bool = False):
        """`{"input_ids", "targets", "kind"}` `[B, T]` (the target of each input position; kind of that target) for
        `batch` examples. `corrupt` overrides the corruption rate (0: clean held-out data); `pretrain` gives the base
        model's data: the same format, each answer token a copy of its prompt symbol (y_j = x_j) or, with probability
        `1 - pretrain_copy`, a uniformly random symbol, never corrupted."""
        p = 0.0 if pretrain else self.corrupt if corrupt is None else corrupt
        a, n = self.alphabet, self.n
        x = torch.randint(0, a, (batch, n), generator=gen)
        if pretrain:
            keep = torch.rand(batch, n, generator=gen) < self.pretrain_copy
            y = torch.where(keep, x, torch.randint(0, a, (batch, n), generator=gen))
        else:
            y = self.perm[x]
        bad = torch.rand(batch, n, generator=gen) < p
        shift = torch.randint(1, a, (batch, n), generator=gen)  # another symbol, never the right one
        y_obs = torch.where(bad, (y + shift) % a, y)
        start = torch.randint(0, self.phrases, (batch,), generator=gen)
        phrase = 2 + a + start[:, None] * self.phrase_len + torch.arange(self.phrase_len)  # [B, phrase_len]
        fill = torch.randint(0, a, (batch, n // self.fill_every), generator=gen)
        resp, kind, j, f = [phrase], [torch.ones(batch, self.phrase_len, dtype=torch.long)], 0, 0
        for code in self.layout()[self.phrase_len :]:
            if code == 3:
                resp.append(2 + y_obs[:, j : j + 1])
                kind.append(torch.where(bad[:, j : j + 1], 4, 3))
                j += 1
            else:
                resp.append(2 + fill[:, f : f + 1])
                kind.append(torch.full((batch, 1), 2))
                f += 1
        seq = torch.cat([torch.full((batch, 1), BOS), 2 + x, torch.full((batch, 1), SEP)] + resp, dim=1)
        kinds = torch.cat([torch.zeros(batch, n + 1, dtype=torch.long)] + kind, dim=1)  # kind of each target
        targets = seq[:, 1:].clone()
        targets[kinds == 0] = -100
        return {"input_ids": seq[:, :-1], "targets": targets, "kind": kinds}


def make_model(task: NoisySFT, dim: int, layers: int, heads: int, seed: int):
    """A fresh `shared.lm.family` Llama for `task` (RoPE, RMSNorm, SwiGLU, tied embeddings), initialised by `seed`.
    Its forward returns `.logits` `[B, T, V]` and, with `output_attentions=True`, `.attentions` (one `[B, H, T, T]` per
    layer)."""
    from shared.lm.family import ModelSpec
    from shared.lm.family import make_model as family_model

    spec = ModelSpec(vocab_size=task.vocab, hidden_size=dim, layers=layers, heads=heads,
                     context=task.prompt_len + len(task.layout()))  # fmt: skip
    return family_model(spec, seed=seed)


def copy_model(model):
    """A deep copy of a family model. The family keeps the last forward's tensors (`_state`, non-leaf after a training
    step), which `copy.deepcopy` refuses; every forward clears and refills it, so it is cleared first."""
    import copy

    model._state.clear()
    return copy.deepcopy(model)


def token_losses(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-position cross-entropy `[B, T]` (nats; 0 where the target is -100)."""
    ce = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=-100, reduction="none")
    return ce.view(targets.shape)


def prompt_attention(attn: torch.Tensor, prompt_len: int) -> torch.Tensor:
    """`[B, T]`: the attention mass each query position puts on the prompt's key positions `0 .. prompt_len - 1`,
    mean over heads (`attn`: one layer's `[B, H, T, T]` weights). Position t is the query that predicts target t."""
    return attn.mean(1)[:, :, :prompt_len].sum(-1)


def minmax_rows(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """`x` min-max normalised to [0, 1] over each row's `mask` positions (1e-8 in the denominator, as the authors')."""
    big = torch.finfo(x.dtype).max
    lo = torch.where(mask, x, big).min(1, keepdim=True).values
    hi = torch.where(mask, x, -big).max(1, keepdim=True).values
    return torch.where(mask, (x - lo) / (hi - lo + 1e-8), 0.0)


def topk_mask(score: torch.Tensor, mask: torch.Tensor, rho: float) -> torch.Tensor:
    """Keep the top `ceil(rho * n_i)` of each row's `mask` positions by `score` (n_i: the row's masked count)."""
    n = mask.sum(1)
    k = torch.ceil(rho * n.double()).long()
    s = torch.where(mask, score.double(), -math.inf)
    order = torch.sort(s, dim=1, descending=True, stable=True).indices
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(s.shape[1]).expand_as(order).contiguous())
    return mask & (rank < k[:, None])


@torch.no_grad()
def frozen_losses(model, batch: dict) -> torch.Tensor:
    return token_losses(model(input_ids=batch["input_ids"]).logits, batch["targets"])


class Selector:
    """One arm's `loss_fn(model, batch)`: the mean loss over the kept response tokens, and a record of what it keeps
    (`kept[kind]`, `seen[kind]`: token counts per kind over training)."""

    def __init__(self, arm: str, task: NoisySFT, rho: float, gamma: float = 0.5, history=None, reference=None,
                 seed: int = 0):  # fmt: skip
        if arm not in ARMS:
            raise ValueError(f"unknown arm {arm!r}; choose one of {ARMS}")
        if arm in ("rel", "sstoken") and history is None:
            raise ValueError(f"arm {arm!r} needs the history model")
        if arm == "rho1" and reference is None:
            raise ValueError("arm 'rho1' needs the reference model")
        self.arm, self.task, self.rho, self.gamma = arm, task, rho, gamma
        self.history, self.reference = history, reference
        self.gen = torch.Generator().manual_seed(seed + 7919)
        self.kept, self.seen = np.zeros(len(KINDS)), np.zeros(len(KINDS))

    def scores(self, cur_losses: torch.Tensor, attn: torch.Tensor | None, batch: dict, resp: torch.Tensor):
        """Each response token's selection score `[B, T]` (larger = kept first)."""
        if self.arm == "random":
            return torch.rand(resp.shape, generator=self.gen)
        if self.arm == "rho1":
            return cur_losses - frozen_losses(self.reference, batch)
        rel = minmax_rows(frozen_losses(self.history, batch) - cur_losses, resp) if self.arm != "attn" else 0.0
        att = prompt_attention(attn, self.task.prompt_len) if self.arm != "rel" else 0.0
        g = {"rel": 1.0, "attn": 0.0}.get(self.arm, self.gamma)
        return g * rel + (1 - g) * att

    def mask(self, model, batch: dict):
        """The forward pass, the kept-token mask `[B, T]` and the per-token losses `[B, T]`."""
        need_attn = self.arm in ("attn", "sstoken")
        out = model(input_ids=batch["input_ids"], output_attentions=need_attn)
        losses = token_losses(out.logits, batch["targets"])
        resp = batch["targets"] != -100
        if self.arm == "full":
            return resp, losses
        if self.arm == "oracle":  # the positive control: every response token but the corrupted ones
            return resp & (batch["kind"] != 4), losses
        with torch.no_grad():
            score = self.scores(losses.detach(), out.attentions[-1] if need_attn else None, batch, resp)
        return topk_mask(score, resp, self.rho), losses

    def __call__(self, model, batch: dict) -> torch.Tensor:
        keep, losses = self.mask(model, batch)
        kind = batch["kind"]
        for c in range(1, len(KINDS) + 1):
            self.seen[c - 1] += int((kind == c).sum())
            self.kept[c - 1] += int(((kind == c) & keep).sum())
        return (losses * keep).sum() / keep.sum()

    def kept_share(self) -> dict:
        """Share of each kind's tokens the arm kept over training."""
        return {k: float(self.kept[i] / self.seen[i]) if self.seen[i] else float("nan") for i, k in enumerate(KINDS)}


def train_on(model, task: NoisySFT, steps: int, batch: int, lr: float, seed: int, loss_fn=None, corrupt=None,
             pretrain: bool = False):  # fmt: skip
    """Train `model` with the shared trainer on fresh task batches drawn by the trainer's generator (seeded by
    `seed`), warmup + cosine, no weight decay; `loss_fn` is an arm's `Selector` (None: every response token)."""
    from shared.lm.trainer import TrainConfig, loss_on, train

    cfg = TrainConfig(steps=steps, batch_size=batch, seq_len=task.prompt_len + len(task.layout()) - 1, lr=lr,
                      warmup=max(1, steps // 10), seed=seed, weight_decay=0.0, eval_every=10**9, log_every=10**9)  # fmt: skip

    def batches(step, gen):
        return task.sample(batch, gen, corrupt=corrupt, pretrain=pretrain)

    def plain(m, b):
        return loss_on(m, {"input_ids": b["input_ids"], "targets": b["targets"]})

    train(model, None, cfg, log=None, batches=batches, loss_fn=loss_fn or plain)
    return model


@torch.no_grad()
def evaluate(model, task: NoisySFT, n: int, seed: int) -> dict:
    """Teacher-forced scores on `n` clean held-out examples (drawn by `seed`): answer-token accuracy (argmax), exact
    match (every answer token of the example right), and the mean answer-token loss (nats)."""
    gen = torch.Generator().manual_seed(seed)
    b = task.sample(n, gen, corrupt=0.0)
    logits = model(input_ids=b["input_ids"]).logits
    ans = b["kind"] == 3
    right = (logits.argmax(-1) == b["targets"]) & ans
    per_ex = right.sum(1) == ans.sum(1)
    losses = token_losses(logits, b["targets"])
    return {"acc": float(right.sum() / ans.sum()), "exact": float(per_ex.float().mean()),
            "n_exact": int(per_ex.sum()), "answer_loss": float(losses[ans].mean())}  # fmt: skip


def prepare(task: NoisySFT, seed: int, dim: int, layers: int, heads: int, base_steps: int, ref_steps: int,
            batch: int, lr: float):  # fmt: skip
    """The base ("pretrained") model: trained by `seed` on the task's format with random answers; and the Rho-1
    reference: the base fine-tuned on clean task data (no corrupted answers) for `ref_steps`."""

    base = train_on(make_model(task, dim, layers, heads, seed), task, base_steps, batch, lr, seed + 1000,
                    pretrain=True).eval()  # fmt: skip
    ref = train_on(copy_model(base), task, ref_steps, batch, lr, seed + 2000, corrupt=0.0).eval()
    return base, ref


def run_seed(task: NoisySFT, seed: int, arms, base, ref, rho: float, gamma: float, steps: int, batch: int, lr: float,
             n_eval: int, eval_seed: int) -> list[dict]:  # fmt: skip
    """One unit: every arm fine-tunes a copy of `base` on the same noisy batches (drawn by `seed`) with its token
    selection, and is scored on the same clean held-out examples. One row per arm."""

    rows = []
    for arm in arms:
        sel = Selector(arm, task, rho, gamma, history=base, reference=ref, seed=seed)
        model = train_on(copy_model(base), task, steps, batch, lr, seed, loss_fn=sel)
        rows.append({"seed": seed, "arm": arm, **evaluate(model, task, n_eval, eval_seed),
                     **{f"kept_{k}": v for k, v in sel.kept_share().items()}})  # fmt: skip
    return rows
