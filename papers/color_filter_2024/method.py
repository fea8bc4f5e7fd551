"""CoLoR-Filter (Brandfonbrener, Zhang, Kirsch, Schwarz & Kakade, "CoLoR-Filter: Conditional Loss Reduction Filtering
for Targeted Language Model Pre-training", arXiv:2406.10670): the conditional-loss-reduction selector on the interface
of the shared engine `shared.dataselect` (`select(task, k, seed) -> indices into task.raw`), and what this replication
runs on top of it.

- `doc_losses_reference(model, docs, ctx)`: the plain definition of a document's loss: the mean next-token loss (nats)
  over all its tokens, one document and one window of at most `ctx + 1` tokens at a time;
- `doc_losses`: the same for many documents at once (every window of every document in padded batches), tested equal;
- `train_aux`: the two auxiliary models: a *prior* LM trained on random windows of the raw pool (the paper's prior,
  trained on C4) and a *conditional* LM, a copy of the prior fine-tuned on the target sample (the paper's "down" or
  Books data);
- `candidates(task, n, seed)`: the first `n` of one seeded permutation of the raw pool: a random candidate pool of
  `tau * k` documents (nested across tau: the candidates of a smaller tau are a prefix of a larger tau's);
- `CoLoRFilter`: score = `loss_prior(x) - loss_conditional(x)` (the conditional loss reduction), the `k` highest among
  `tau * k` candidates (what the authors' `scripts/select_index_np.py` does: `priors - conds`, top `len / tau`);
  `score="conditional"` ranks by the lowest conditional loss alone (the ablation without the prior);
- `dsir_among`: the engine's DSIR restricted to the same candidates (its raw model fitted on them);
- `run_group`: one group (target domain x seed): aux models, then the engine's `run_arms` (every arm selected, a target
  LM trained on each at the same token budget, the auxiliary size where the arm says so, scored on the target's
  held-out split).

Deviations from the paper, on purpose: documents are ~64-word chunks of seven offline corpora (not C4 sequences of 512
tokens) and the target is one of those domains (not Books or eight multiple-choice tasks); the auxiliary and target
models are tiny Llama-style LMs trained from scratch with the shared trainer (150m / 1.2b OLMo models in the paper);
the target model is about 4x the auxiliary models' parameters (8x in the paper); tau is 4 and 16 (7 to 64 in the
paper); the score is held-out next-token loss at one fixed token budget (the paper also reports learning curves and
downstream accuracy).
"""

import copy

import numpy as np
import torch

from shared.dataselect import selectors as S
from shared.dataselect import train as T


def doc_losses_reference(model, docs: list[np.ndarray], ctx: int) -> np.ndarray:
    """Mean next-token loss of each document (a token-id array): windows `[s, s + ctx]` at `s = 0, ctx, 2 ctx, ...`
    (each predicts up to `ctx` tokens; together every token after the first once), summed and divided by
    `len(doc) - 1`. One document, one window at a time `[len(docs)]`."""
    out = []
    with torch.no_grad():
        for d in docs:
            d = torch.as_tensor(np.asarray(d), dtype=torch.long)
            total, n = 0.0, 0
            for s in range(0, len(d) - 1, ctx):
                w = d[s : s + ctx + 1][None]
                logits = model(input_ids=w[:, :-1]).logits
                ce = torch.nn.functional.cross_entropy(logits[0].float(), w[0, 1:], reduction="sum")
                total += float(ce)
                n += w.shape[1] - 1
            out.append(total / n if n else float("nan"))
    return np.array(out, dtype=np.float64)


@torch.no_grad()
def doc_losses(model, docs: list[np.ndarray], ctx: int, batch: int = 256) -> np.ndarray:
    """`doc_losses_reference` for many documents at once: every window of every document, padded to `ctx + 1` tokens
    (padding ignored in the loss), in batches of `batch` windows `[len(docs)]`."""
    wins, owner = [], []
    for j, d in enumerate(docs):
        d = np.asarray(d, dtype=np.int64)
        for s in range(0, len(d) - 1, ctx):
            wins.append(d[s : s + ctx + 1])
            owner.append(j)
    owner = np.asarray(owner, dtype=np.int64)
    ids = np.zeros((len(wins), ctx + 1), dtype=np.int64)
    tgt = np.full((len(wins), ctx), -100, dtype=np.int64)
    for i, w in enumerate(wins):
        ids[i, : len(w)] = w
        tgt[i, : len(w) - 1] = w[1:]
    ids_t, tgt_t = torch.from_numpy(ids), torch.from_numpy(tgt)
    sums = np.zeros(len(wins), dtype=np.float64)
    for i in range(0, len(wins), batch):
        logits = model(input_ids=ids_t[i : i + batch, :-1]).logits  # [B, ctx, V]
        ce = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), tgt_t[i : i + batch].flatten(),
                                               ignore_index=-100, reduction="none")  # fmt: skip
        sums[i : i + batch] = ce.view(-1, ctx).sum(1).double().numpy()
    counts = (tgt != -100).sum(1)
    total = np.bincount(owner, weights=sums, minlength=len(docs))
    n = np.bincount(owner, weights=counts, minlength=len(docs))
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / n


def train_aux(task, tokens, vocab: int, seed: int, aux_kw: dict, ft_steps: int, ft_lr: float):
    """The prior (a fresh LM trained on random windows of the whole raw pool) and the conditional model (a copy of the
    prior fine-tuned for `ft_steps` on the target sample, constant learning rate after a short warmup). Returns
    `(prior, conditional)`, both in eval mode."""
    from shared.lm.trainer import TrainConfig, train

    prior = T.train_lm(T.stream(tokens, task.raw, seed), vocab, seed, **aux_kw)
    cond = copy.deepcopy(prior)
    cond.train()
    cfg = TrainConfig(steps=ft_steps, batch_size=aux_kw["batch"], seq_len=aux_kw["ctx"], lr=ft_lr,
                      warmup=max(1, ft_steps // 10), seed=seed + 1000, eval_every=10**9, log_every=10**9,
                      weight_decay=0.0, schedule="constant")  # fmt: skip
    train(cond, T.stream(tokens, task.sample, seed), cfg, log=None)
    prior.eval()
    cond.eval()
    return prior, cond


def candidates(task, n: int, seed: int) -> np.ndarray:
    """The first `n` positions (into `task.raw`) of one seeded permutation of the raw pool, sorted."""
    if not 0 < n <= len(task.raw):
        raise ValueError(f"cannot draw {n} candidates from {len(task.raw)} raw documents")
    return np.sort(np.random.default_rng([seed, 145]).permutation(len(task.raw))[:n])


class CoLoRFilter:
    """CoLoR-Filter: among `tau * k` random candidates, the `k` of largest conditional loss reduction
    `loss_prior(x) - loss_conditional(x)` (`score="reduction"`), or of lowest conditional loss
    (`score="conditional"`, the ablation without the prior). `losses(task)` gives `(prior, conditional)` per raw
    document position, or NaN where not needed."""

    def __init__(self, tau: int, prior, conditional, tokens, ctx: int, score: str = "reduction"):
        if score not in ("reduction", "conditional"):
            raise ValueError(f"score must be 'reduction' or 'conditional', got {score!r}")
        self.tau, self.prior, self.conditional, self.score = tau, prior, conditional, score
        self.tokens, self.ctx = tokens, ctx
        self.name = f"CoLoR-Filter tau={tau}" if score == "reduction" else f"conditional loss only tau={tau}"
        self._losses = {}

    def losses(self, task, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Prior and conditional document losses of the candidates `cand` (positions in `task.raw`), cached per model
        pair across selectors sharing the dict."""
        todo = [int(c) for c in cand if int(c) not in self._losses]
        if todo:
            docs = [self.tokens[task.raw[c]] for c in todo]
            lp = doc_losses(self.prior, docs, self.ctx)
            lc = doc_losses(self.conditional, docs, self.ctx)
            self._losses.update({c: (a, b) for c, a, b in zip(todo, lp, lc)})
        lp, lc = np.array([[self._losses[int(c)][0], self._losses[int(c)][1]] for c in cand]).T
        return lp, lc

    def scores(self, task, cand: np.ndarray) -> np.ndarray:
        lp, lc = self.losses(task, cand)
        return lp - lc if self.score == "reduction" else -lc

    def select(self, task, k: int, seed: int) -> np.ndarray:
        cand = candidates(task, self.tau * k, seed)
        return np.sort(cand[S.top_k(self.scores(task, cand), k)])


def share_losses(*selectors) -> None:
    """Let selectors over the same auxiliary models and task share one cache of document losses."""
    cache = {}
    for s in selectors:
        s._losses = cache


def dsir_among(task, cand: np.ndarray, k: int, seed: int, buckets: int) -> np.ndarray:
    """DSIR over the candidates only (its raw bag-of-ngrams model fitted on them; Gumbel top-k by the engine's seed
    convention), positions in `task.raw`."""
    x = S.pool_features(task, buckets)
    logw = S.log_importance(x[task.raw[cand]], x[task.sample])
    return np.sort(cand[S.gumbel_top_k(logw, k, np.random.default_rng([seed, 2]))])


class DSIRAmong:
    """The engine's DSIR on the same `tau * k` candidates as CoLoR-Filter."""

    def __init__(self, tau: int, buckets: int):
        self.tau, self.buckets = tau, buckets
        self.name = f"DSIR tau={tau}"

    def select(self, task, k: int, seed: int) -> np.ndarray:
        return dsir_among(task, candidates(task, self.tau * k, seed), k, seed, self.buckets)


def arms(prior, cond, tokens, ctx: int, tau_hi: int, tau_lo: int, buckets: int) -> dict:
    """Arm name -> (selector, target size): the larger target model trained on CoLoR-Filter at both taus, the
    conditional-loss-only ablation, DSIR on the same candidates and random (the trivial control: tau = 1); the
    auxiliary-sized target model on CoLoR-Filter at the larger tau and on random."""
    hi = CoLoRFilter(tau_hi, prior, cond, tokens, ctx)
    lo = CoLoRFilter(tau_lo, prior, cond, tokens, ctx)
    only = CoLoRFilter(tau_hi, prior, cond, tokens, ctx, score="conditional")
    share_losses(hi, lo, only)
    rnd = S.RandomSelection()
    return {"CoLoR hi": (hi, "large"), "CoLoR lo": (lo, "large"), "conditional only": (only, "large"),
            "DSIR": (DSIRAmong(tau_hi, buckets), "large"), "random": (rnd, "large"),
            "CoLoR hi (aux size)": (hi, "small"), "random (aux size)": (rnd, "small")}  # fmt: skip


def run_group(task, tokens, k: int, vocab: int, aux_kw: dict, ft_steps: int, ft_lr: float, target_kw: dict,
              tau_hi: int, tau_lo: int, buckets: int, seed: int) -> tuple[list[dict], dict]:  # fmt: skip
    """One group: train the auxiliary pair, select with every arm, train the target models (seed `seed`, same
    initialisation per size, same token budget), score the target's held-out split. Returns the arm rows and the
    auxiliary models' held-out target losses (`prior`, `conditional`)."""
    import time

    ctx = target_kw["ctx"]
    ev = T.stream(tokens, task.evaluation)
    t = time.perf_counter()
    prior, cond = train_aux(task, tokens, vocab, seed, aux_kw, ft_steps, ft_lr)
    aux = {"target": task.target, "seed": seed, "prior": float(T.window_losses(prior, ev, ctx).mean()),
           "conditional": float(T.window_losses(cond, ev, ctx).mean()), "aux_s": time.perf_counter() - t}  # fmt: skip
    small = {"dim": aux_kw["dim"], "layers": aux_kw["layers"], "heads": aux_kw["heads"]}
    units = arms(prior, cond, tokens, aux_kw["ctx"], tau_hi, tau_lo, buckets)
    rows = T.run_arms(task, tokens, {name: sel for name, (sel, _) in units.items()}, k, vocab, target_kw, seed,
                      extra=lambda name, *_: {"size": units[name][1]},
                      arm_kw={name: small for name, (_, size) in units.items() if size == "small"})  # fmt: skip
    return rows, aux


def n_params(dim: int, layers: int, vocab: int) -> int:
    """Parameters of `train.make_lm`'s model (tied embeddings): embedding, per layer 4 attention and 3 MLP matrices
    (intermediate 4 x dim) and 2 norms, a final norm."""
    return vocab * dim + layers * (4 * dim * dim + 3 * dim * 4 * dim + 2 * dim) + dim
