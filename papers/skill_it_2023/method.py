"""Skill-It (arXiv:2307.14430): ordered skills in digit-position addition and the online skill-mixture sampler.

What is new in this paper, and only that; the model and the trainer are the shared ones (`shared.dataselect.train
.make_lm`: a tiny Llama; `shared.lm.trainer.train` with its `batches` and `callback` hooks, which is where the mixture
sampler and the online update live, so no shared change is needed).

- **The skills** (`Addition`): the paper's addition synthetic, scaled down. A prompt holds two `n_digits`-digit numbers
  in base `base` (most significant digit first), a query token naming a digit position of their sum, and the answer
  (that digit of the sum). Skill `i` is "the `i`-th digit of the sum, least significant first"; the last skill is the
  carry out of the top position. The loss is on the answer token only. The validation set of a skill is every operand
  pair once (`base ** (2 * n_digits)` prompts), so a validation loss is the exact population loss.
- **Mixtures**: every training step draws `batch` skill labels from a distribution over skills (`mixture_batch`):
  *random* samples the paper's raw pool (skills in the pool's proportions), *stratified* is uniform over skills,
  *curriculum* trains the skills one after the other in equal blocks (`curriculum_skill`), *Skill-It* updates its
  mixture online.
- **Skill-It's update** (`skillit_weights`), as in the paper's Algorithm 1 and the authors' `trainer/mw_trainer.py`
  (read, not copied): training is split into `rounds`; at the start of round `t` the mixture is
  `p_t ∝ exp(eta * A @ sum(L over the last `window` evaluations))`, where `L` holds the validation loss of every skill
  and `A` is the skills graph (`A[i, j]`: training on skill `i` helps skill `j`; 1 on the diagonal, 0.5 on a learned
  off-diagonal edge, the authors' synthetic setting). Before any evaluation the loss vector is all ones (the authors'
  initialisation), so the first mixture is `exp(eta * A @ 1)`.
- **The skills graph** (`learn_graph`), the paper's brute-force estimate: for every ordered pair `(i, j)` a model
  trained `steps` steps on the half-and-half mixture of skills `i` and `j` is compared on skill `j` with a model trained
  the same steps on `j` alone; `i -> j` is an edge when the mixture's loss on `j` is lower (the prerequisite made `j`
  learnable with half of `j`'s data).

Deviations: base 4 and 2-digit operands instead of base 10 and 3 digits, a 2-layer width-64 model from scratch instead
of a 125M GPT-Neo (continual pre-training from a random initialisation, as the authors' synthetic runs), hundreds of
steps instead of 6,000, one evaluation per round instead of every 50 steps (the window counts rounds).
"""

import math
from dataclasses import dataclass

import numpy as np
import torch

IGNORE = -100


@dataclass(frozen=True)
class Addition:
    """Digit-position addition: `n_digits`-digit operands in base `base`; skill `i` < `n_digits` is digit `i` of the
    sum (least significant first), skill `n_digits` the carry out. Token ids: digits `0..base-1`, then `+`, `?`, then
    one query token per skill."""

    base: int = 4
    n_digits: int = 2

    @property
    def skills(self) -> int:
        return self.n_digits + 1

    @property
    def plus(self) -> int:
        return self.base

    @property
    def query(self) -> int:
        return self.base + 1

    @property
    def vocab(self) -> int:
        return self.base + 2 + self.skills

    @property
    def prompt_len(self) -> int:
        """Input positions: both operands, `+`, `?`, the skill token."""
        return 2 * self.n_digits + 3

    def sum_digits(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """`[B, skills]` digits of `a + b` (least significant first, the carry out last) from digit tensors `[B,
        n_digits]` (least significant first)."""
        out = torch.zeros(a.shape[0], self.skills, dtype=torch.long)
        carry = torch.zeros(a.shape[0], dtype=torch.long)
        for i in range(self.n_digits):
            t = a[:, i] + b[:, i] + carry
            out[:, i], carry = t % self.base, t // self.base
        out[:, self.n_digits] = carry
        return out

    def examples(self, a: torch.Tensor, b: torch.Tensor, skills: torch.Tensor) -> dict:
        """`{"input_ids" [B, prompt_len], "targets" [B, prompt_len]}`: the prompts of operands `a`, `b` (digits, least
        significant first) asking for digit `skills[k]`; the loss only on the answer (the last position)."""
        skills = torch.as_tensor(skills, dtype=torch.long)
        n = a.shape[0]
        answer = self.sum_digits(a, b)[torch.arange(n), skills]
        ids = torch.cat([a.flip(1), torch.full((n, 1), self.plus), b.flip(1), torch.full((n, 1), self.query),
                         (self.base + 2 + skills)[:, None]], 1)  # fmt: skip
        targets = torch.full_like(ids, IGNORE)
        targets[:, -1] = answer
        return {"input_ids": ids, "targets": targets}

    def sample(self, skills: torch.Tensor, gen: torch.Generator) -> dict:
        """Random operands (uniform digits) for each requested skill label."""
        n = len(skills)
        a = torch.randint(0, self.base, (n, self.n_digits), generator=gen)
        b = torch.randint(0, self.base, (n, self.n_digits), generator=gen)
        return self.examples(a, b, skills)

    def validation(self, skill: int) -> dict:
        """Every operand pair once, asking for `skill`: the exact population loss of the skill."""
        n = self.base**self.n_digits
        grid = torch.arange(n)
        digits = torch.stack([(grid // self.base**i) % self.base for i in range(self.n_digits)], 1)
        a = digits.repeat_interleave(n, 0)
        b = digits.repeat(n, 1)
        return self.examples(a, b, torch.full((n * n,), skill))


def answer_loss(model, batch: dict) -> torch.Tensor:
    """Mean cross-entropy (nats) of the answer token, the only position with a target."""
    logits = model(input_ids=batch["input_ids"]).logits[:, -1]
    return torch.nn.functional.cross_entropy(logits.float(), batch["targets"][:, -1])


@torch.no_grad()
def skill_losses(model, val: list[dict]) -> np.ndarray:
    """`[skills]` validation loss of every skill."""
    was = model.training
    model.eval()
    out = np.array([float(answer_loss(model, b)) for b in val])
    model.train(was)
    return out


def mixture_batch(task: Addition, p: np.ndarray, batch: int, gen: torch.Generator) -> dict:
    """A batch whose skill labels are drawn i.i.d. from the mixture `p` `[skills]`."""
    p = torch.as_tensor(np.asarray(p, dtype=np.float64) / np.sum(p))
    skills = torch.multinomial(p, batch, replacement=True, generator=gen)
    return task.sample(skills, gen)


def curriculum_skill(step: int, steps: int, order) -> int:
    """The skill the curriculum trains at `step`: `order` in equal consecutive blocks of the `steps`."""
    return int(order[min(len(order) - 1, step * len(order) // steps)])


def skillit_weights(graph: np.ndarray, losses: list[np.ndarray], eta: float, window: int) -> np.ndarray:
    """Skill-It's mixture: `softmax(eta * graph @ sum(losses[-window:]))` (`graph[i, j]`: training on `i` helps `j`;
    `losses`: the evaluations so far, oldest first, each `[skills]`). The sum is shifted before exponentiating (the
    normalised result is unchanged)."""
    s = np.asarray(graph, dtype=np.float64) @ np.sum(np.asarray(losses[-window:], dtype=np.float64), axis=0)
    z = np.exp(eta * (s - s.max()))
    return z / z.sum()


def skillit_weights_reference(graph, losses, eta: float, window: int) -> list[float]:
    """The same mixture written out loop by loop, for the tests."""
    k = len(graph)
    recent = losses[max(0, len(losses) - window) :]
    raw = []
    for i in range(k):
        total = 0.0
        for j in range(k):
            total += graph[i][j] * sum(float(ev[j]) for ev in recent)
        raw.append(math.exp(eta * total))
    return [r / sum(raw) for r in raw]


def graph_from_edges(edges: np.ndarray, off: float = 0.5) -> np.ndarray:
    """The update's graph: 1 on the diagonal, `off` where `edges[i, j]` is set (i != j), 0 elsewhere."""
    edges = np.asarray(edges, dtype=bool)
    g = np.where(edges, off, 0.0)
    np.fill_diagonal(g, 1.0)
    return g


def shuffled_graph(graph: np.ndarray, seed: int) -> np.ndarray:
    """The control's graph: the off-diagonal entries of `graph` moved to random off-diagonal places (same number of
    edges, same weights; the diagonal kept), redrawn until the edge set differs where it can."""
    graph = np.asarray(graph, dtype=np.float64)
    k = len(graph)
    off = ~np.eye(k, dtype=bool)
    vals = graph[off]
    rng = np.random.default_rng([seed, 17])
    for _ in range(100):
        new = graph.copy()
        new[off] = rng.permutation(vals)
        if not np.array_equal(new, graph) or len(np.unique(vals)) == 1:
            return new
    return new


def make_model(task: Addition, dim: int, layers: int, heads: int, seed: int):
    from shared.dataselect.train import make_lm

    return make_lm(task.vocab, dim, layers, heads, task.prompt_len + 1, seed)


def train_arm(task: Addition, arm: str, seed: int, steps: int, batch: int, lr: float, dim: int, layers: int,
              heads: int, val: list[dict], p: np.ndarray | None = None, order=None, graph: np.ndarray | None = None,
              eta: float = 0.5, window: int = 3, rounds: int = 5) -> dict:  # fmt: skip
    """One training run of `steps` steps of `batch` prompts (the same token budget in every arm) with a fresh model
    initialised by `seed` and batches drawn by the trainer's generator seeded by `seed`.

    `arm`: `mixture` (fixed `p`), `curriculum` (`order` in equal blocks), `skillit` (online, with `graph`, `eta`,
    `window`, `rounds`). Returns `{"final": [skills] losses, "mixtures": [rounds x skills] (skillit), "curve":
    [(step, losses)]}`."""
    from shared.lm.trainer import TrainConfig, train

    model = make_model(task, dim, layers, heads, seed)
    cfg = TrainConfig(steps=steps, batch_size=batch, seq_len=task.prompt_len, lr=lr, warmup=max(1, steps // 20),
                      seed=seed, eval_every=10**9, log_every=10**9, weight_decay=0.0)  # fmt: skip
    round_len = max(1, steps // rounds)
    state = {"p": None, "losses": [], "mixtures": [], "curve": []}
    if arm == "skillit":
        state["losses"].append(np.ones(task.skills))  # the authors' initial loss vector: the first mixture
        state["p"] = skillit_weights(graph, state["losses"], eta, window)
        state["losses"] = [skill_losses(model, val)]  # the evaluation before training (step 0) joins the window
        state["mixtures"].append(state["p"])
    elif arm == "mixture":
        state["p"] = np.asarray(p, dtype=np.float64) / np.sum(p)
    elif arm != "curriculum":
        raise ValueError(f"unknown arm {arm!r}")

    def batches(step, gen):
        if arm == "curriculum":
            return task.sample(torch.full((batch,), curriculum_skill(step, steps, order)), gen)
        return mixture_batch(task, state["p"], batch, gen)

    def callback(step, row):
        if step % round_len == 0 or step == steps:
            losses = skill_losses(model, val)
            state["curve"].append((step, losses))
            if arm == "skillit" and step < steps and step // round_len < rounds:
                state["losses"].append(losses)
                state["p"] = skillit_weights(graph, state["losses"], eta, window)
                state["mixtures"].append(state["p"])

    train(model, None, cfg, log=None, batches=batches, loss_fn=answer_loss, callback=callback)
    return {"final": state["curve"][-1][1], "mixtures": np.array(state["mixtures"]), "curve": state["curve"]}


def curve_area(curve) -> float:
    """The area under the validation-loss curve per step: each evaluation's loss averaged over skills, weighted by the
    steps since the evaluation before it (the first from step 0), over the total steps (a right Riemann sum). How fast
    all skills are learned, not just where training ends; `curve` is `train_arm`'s `[(step, losses)]`."""
    steps = np.array([s for s, _ in curve], dtype=np.float64)
    if len(steps) == 0 or steps[0] <= 0 or np.any(np.diff(steps) <= 0):
        raise ValueError(f"the curve needs increasing positive steps, got {steps.tolist()}")
    losses = np.array([np.mean(ls) for _, ls in curve])
    return float(np.sum(np.diff(steps, prepend=0.0) * losses) / steps[-1])


def pair_run(task: Addition, target: int, helper: int | None, seed: int, steps: int, **kw) -> float:
    """Loss on skill `target` after `steps` steps on `target` alone (`helper` None) or on the half-and-half mixture of
    `helper` and `target` (so `target` gets half the data)."""
    p = np.zeros(task.skills)
    p[target] += 1.0
    if helper is not None:
        p[helper] += 1.0
    return float(train_arm(task, "mixture", seed, steps, p=p, **kw)["final"][target])


def learn_graph(task: Addition, seeds, steps: int, **kw) -> tuple[np.ndarray, np.ndarray]:
    """The brute-force skills graph: `gain[i, j]` = loss on `j` after `steps` steps on `j` alone minus after the same
    steps on the mixture of `i` and `j` (mean over `seeds`; the diagonal is 0), and the edges `gain > 0`."""
    k = task.skills
    gain = np.zeros((k, k))
    for seed in seeds:
        for j in range(k):
            alone = pair_run(task, j, None, seed, steps, **kw)
            for i in range(k):
                if i != j:
                    gain[i, j] += (alone - pair_run(task, j, i, seed, steps, **kw)) / len(seeds)
    return gain, gain > 0


def prerequisite_order(edges: np.ndarray) -> list[int]:
    """The skills with prerequisites first: repeatedly take the lowest-index skill none of whose remaining
    prerequisites (`edges[i, j]`: `i` helps `j`) is still untaken; a cycle is broken at its lowest index."""
    edges = np.asarray(edges, dtype=bool).copy()
    np.fill_diagonal(edges, False)
    left, order = list(range(len(edges))), []
    while left:
        free = [j for j in left if not any(edges[i, j] for i in left)]
        nxt = free[0] if free else left[0]
        order.append(nxt)
        left.remove(nxt)
    return order
