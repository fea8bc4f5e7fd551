"""What "Token Hidden Reward" (Deng, Ren, Li, Gong, Sutherland, Li, Thrampoulidis 2025, arXiv:2510.03669v4) adds to
`shared/align`'s GRPO: the token hidden reward (THR) of every completion token of a rollout batch, the dominant-token
threshold, THR-guided advantage reweighting (p > 0 exploitation, p < 0 exploration), and the trivial control (the
same weights on random tokens at the same counts), plus a GRPO loop that takes per-token weights.

THR, as read here (the learning-dynamics view the paper builds on: the last layer's update with the hidden states
held fixed). A GRPO step moves the unembedding W by eta * sum_t A_t grad_W log pi(y_t), and
grad_W log pi(y_t) = g_t h_t^T with h_t the final hidden state that predicts token y_t (after the final norm) and
g_t = e_{y_t} - pi(. | prefix) its prediction error. To first order, the change of the summed log-likelihood of the
group's correct responses P is eta * sum_t THR_t with

    THR_t = A_t * sum_{(i, k) in P} <g_{i,k}, g_t> <h_{i,k}, h_t>

(the token's own term included when it is itself in a correct response). THR_t > 0: the token's update raises the
correct responses' likelihood (exploitation); THR_t < 0: it lowers it (keeps mass for other outputs: exploration).
Groups with no correct response, or no signal (all rewards equal: A = 0), have THR = 0.

- `thr_reference`: the double sum, one pair of tokens at a time (plain and slow); `thr_fast`: per group
  M = sum_{P} g h^T (V x d), THR_t = A_t g_t^T M h_t (the matrix form); the tests hold them to each other and to
  autograd gradients of per-token log-probabilities with respect to W.
- Dominant tokens: |THR_t| > tau, tau = beta * min over the group's correct responses of their mean THR (the anchor of
  the authors' earlier NTHR, arXiv:2505.18830: how strongly the correct responses reinforce each other), beta = 1.
- Reweighting (`thr_weights`): w_t = 1 + p * sign(THR_t) on dominant tokens, 1 elsewhere; the loss is GRPO's with A_t
  replaced by w_t A_t (the engine's `token_weights`). p > 0 amplifies positive-THR tokens and weakens negative ones.
- Trivial control (`random_weights`): in each group, the same numbers of tokens get 1 + p and 1 - p as under
  `thr_weights`, but placed on random completion tokens of the group (same share of tokens, same weights, blind to
  THR).

Deviations from the paper, on purpose or by necessity (only the abstract, the public ICLR 2026 reviews and the
authors' NTHR method could be read offline, not the THR paper's method section):
- the THR formula, the threshold and the weight form 1 + p * sign(THR) are reconstructed from the abstract ("a
  token-level metric that quantifies each token's influence on the likelihood of correct responses"), the reviews
  (dominant-token masking by |THR| > tau with the earlier paper's threshold; sign-based amplification with a scalar
  p) and the NTHR method (the same hidden-state/prediction-error inner products); the paper's exact normalisation may
  differ;
- the full vocabulary is used for g (the NTHR note restricts it to the tokens sampled for the prompt; with 8,192
  tokens and d = 128 the full product is cheap);
- a 2.1M-parameter tiny LM SFT'd on running sums (`shared.align.arith`) instead of Qwen2.5 0.5B-7B / Llama on math
  benchmarks; one optimiser step per rollout batch (no old-policy ratio, no KL), the engine's "dapo" aggregation.
"""

from collections.abc import Callable

import torch

from shared.align.batches import grpo_batch_loss
from shared.align.loops import rollout_batch
from shared.lm.trainer import TrainConfig, TrainResult, train


@torch.no_grad()
def completion_features(model, batch: dict, temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Final hidden states and next-token distributions at the positions that predict each completion token.

    Args:
        model: a causal LM (HF Llama) whose `lm_head` reads the last entry of `hidden_states`.
        batch (dict): a rollout batch (`prompt_ids`/`prompt_mask` `[B, P]`, `completion_ids`/`completion_mask` `[B, C]`).

    Returns:
        tuple: `h [B, C, d]` (float32) and `q [B, C, V]` (softmax of the logits / temperature), column j predicting
        completion token j.
    """
    was_training = model.training
    model.eval()
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    att = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    out = model(input_ids=ids, attention_mask=att, output_hidden_states=True, use_cache=False)
    model.train(was_training)
    c, p = batch["completion_ids"].shape[1], batch["prompt_ids"].shape[1]
    h = out.hidden_states[-1][:, p - 1 : p - 1 + c].float()
    q = torch.softmax(out.logits[:, p - 1 : p - 1 + c].float() / temperature, dim=-1)
    return h, q


def _groups(n: int, group_size: int):
    if n % group_size:
        raise ValueError(f"{n} completions are not whole groups of {group_size}")
    return [range(s, s + group_size) for s in range(0, n, group_size)]


def thr_reference(h, q, tokens, mask, advantages, rewards, group_size: int) -> torch.Tensor:
    """THR `[B, C]` by the double sum, one (correct token, token) pair at a time: the plain reference (slow).

    Args:
        h (torch.Tensor): `[B, C, d]` final hidden states; q: `[B, C, V]` next-token distributions;
        tokens, mask: `[B, C]` completion ids and mask; advantages: `[B]`; rewards: `[B]` (1 = correct).
    """
    thr = torch.zeros(tokens.shape, dtype=h.dtype)
    for grp in _groups(len(tokens), group_size):
        correct = [(i, k) for i in grp if rewards[i] > 0 for k in range(tokens.shape[1]) if mask[i, k]]
        for j in grp:
            for t in range(tokens.shape[1]):
                if not mask[j, t]:
                    continue
                g_t = -q[j, t].clone()
                g_t[tokens[j, t]] += 1.0
                total = 0.0
                for i, k in correct:
                    g_ik = -q[i, k].clone()
                    g_ik[tokens[i, k]] += 1.0
                    total += float(g_ik @ g_t) * float(h[i, k] @ h[j, t])
                thr[j, t] = advantages[j] * total
    return thr


def thr_fast(h, q, tokens, mask, advantages, rewards, group_size: int) -> torch.Tensor:
    """THR `[B, C]` in matrix form: per group, M = G_P^T H_P (the correct tokens' summed last-layer gradient,
    `[V, d]`) and THR_t = A_t * g_t^T M h_t. The same arguments and values as `thr_reference`."""
    g = -q.clone()
    g.scatter_add_(-1, tokens.unsqueeze(-1), torch.ones_like(tokens, dtype=g.dtype).unsqueeze(-1))  # e_y - q
    m = mask.to(g.dtype)
    thr = torch.zeros(tokens.shape, dtype=g.dtype)
    for grp in _groups(len(tokens), group_size):
        rows = torch.tensor(list(grp))
        correct = rows[rewards[rows] > 0]
        if len(correct) == 0:
            continue
        gp = (g[correct] * m[correct].unsqueeze(-1)).flatten(0, 1)  # [nP * C, V], masked tokens zeroed
        hp = h[correct].flatten(0, 1)  # [nP * C, d]
        big_m = gp.T @ hp  # [V, d]
        score = ((g[rows] @ big_m) * h[rows]).sum(-1)  # [G, C]
        thr[rows] = advantages[rows].to(g.dtype).unsqueeze(1) * score * m[rows]
    return thr


def dominant_mask(thr, mask, rewards, group_size: int, beta: float = 1.0) -> torch.Tensor:
    """Dominant tokens `[B, C]` (bool): |THR| > tau, tau = beta * the smallest mean THR of a correct response of the
    group (floored at 0). Groups without a correct and an incorrect response have none."""
    out = torch.zeros(thr.shape, dtype=torch.bool)
    m = mask.bool()
    for grp in _groups(len(thr), group_size):
        rows = torch.tensor(list(grp))
        r = rewards[rows]
        if (r > 0).all() or not (r > 0).any():
            continue
        means = [thr[i][m[i]].mean() for i in rows[r > 0].tolist()]
        tau = max(beta * float(torch.stack(means).min()), 0.0)
        out[rows] = (thr[rows].abs() > tau) & m[rows] & (thr[rows] != 0)
    return out


def thr_weights(thr, dominant, p: float) -> torch.Tensor:
    """THR-guided weights `[B, C]`: 1 + p * sign(THR) on dominant tokens, 1 elsewhere (p > 0: exploitation)."""
    w = torch.ones(thr.shape, dtype=torch.float32)
    return torch.where(dominant, 1.0 + p * torch.sign(thr).float(), w)


def random_weights(thr, dominant, mask, group_size: int, p: float, gen: torch.Generator) -> torch.Tensor:
    """The trivial control `[B, C]`: per group, as many tokens get 1 + p (and 1 - p) as `thr_weights` gives, but on
    tokens drawn at random among the group's completion tokens; 1 elsewhere."""
    w = torch.ones(thr.shape, dtype=torch.float32)
    for grp in _groups(len(thr), group_size):
        rows = torch.tensor(list(grp))
        dom = dominant[rows]
        n_up, n_down = int((dom & (thr[rows] > 0)).sum()), int((dom & (thr[rows] < 0)).sum())
        if n_up + n_down == 0:
            continue
        cells = mask[rows].bool().nonzero()  # [n, 2] (row in group, column)
        pick = cells[torch.randperm(len(cells), generator=gen)[: n_up + n_down]]
        vals = torch.tensor([1.0 + p] * n_up + [1.0 - p] * n_down)
        w[rows[pick[:, 0]], pick[:, 1]] = vals
    return w


def top_share(values: torch.Tensor, frac: float) -> float:
    """Share of sum |values| carried by the top `frac` of them (at least one), by magnitude: 1/n..1 (frac for equal
    values)."""
    a = values.abs().flatten().double()
    if a.sum() == 0:
        return float("nan")
    k = max(1, int(round(frac * len(a))))
    return float(a.topk(k).values.sum() / a.sum())


def batch_thr(model, batch: dict, group_size: int, temperature: float = 1.0) -> torch.Tensor:
    """THR `[B, C]` of a rollout batch under `model` (the policy that sampled it), by the fast path."""
    h, q = completion_features(model, batch, temperature)
    return thr_fast(h, q, batch["completion_ids"], batch["completion_mask"], batch["advantages"], batch["rewards"],
                    group_size)  # fmt: skip


def grpo_weighted_train(model, prompts: list[list[int]], reward_fn: Callable, cfg: TrainConfig, arm: str,
                        p: float = 0.0, group_size: int = 8, prompts_per_step: int = 4, max_new_tokens: int = 5,
                        eos_token_id: int = 2, pad_token_id: int = 0, temperature: float = 1.0,
                        control_seed: int = 0) -> tuple[TrainResult, list[dict]]:  # fmt: skip
    """GRPO (the engine's rollouts and loss, one step per rollout batch) with per-token weights chosen by `arm`:
    "grpo" (none), "thr" (`thr_weights` with p), "random" (`random_weights` with p, drawn from a generator seeded by
    `control_seed`, so the rollouts use the same draws as the other arms'). THR is computed for every batch (all arms)
    and logged: the share of dominant tokens and the concentration of |THR|.

    Returns:
        tuple: the trainer's `TrainResult` and one row per step (reward, groups with signal, dominant share, weights).
    """
    if arm not in ("grpo", "thr", "random"):
        raise ValueError(f"arm={arm!r}")
    rows: list[dict] = []
    cgen = torch.Generator().manual_seed(control_seed)

    def batches(step, gen):
        idx = torch.randint(0, len(prompts), (prompts_per_step,), generator=gen).tolist()
        batch = rollout_batch(model, [prompts[i] for i in idx], reward_fn, group_size, max_new_tokens, gen,
                              eos_token_id, pad_token_id, temperature)  # fmt: skip
        thr = batch_thr(model, batch, group_size, temperature)
        mask = batch["completion_mask"]
        dom = dominant_mask(thr, mask, batch["rewards"], group_size)
        if arm == "thr":
            batch["token_weights"] = thr_weights(thr, dom, p)
        elif arm == "random":
            batch["token_weights"] = random_weights(thr, dom, mask, group_size, p, cgen)
        grouped = batch["rewards"].view(-1, group_size)
        signal = (grouped.std(dim=1) > 0).repeat_interleave(group_size)
        live = mask.bool() & signal.unsqueeze(1)
        rows.append({"step": step + 1, "reward": batch["rewards"].mean().item(),
                     "groups_with_signal": (grouped.std(dim=1) > 0).float().mean().item(),
                     "live_tokens": int(live.sum()), "dominant": int(dom.sum()),
                     "dominant_pos": int((dom & (thr > 0)).sum()), "dominant_neg": int((dom & (thr < 0)).sum()),
                     "thr": thr[live].tolist(),
                     "adv": batch["advantages"].unsqueeze(1).expand_as(thr)[live].tolist()})  # fmt: skip
        return batch

    def loss_fn(m, batch):
        return grpo_batch_loss(m, batch, aggregation="dapo", temperature=temperature,
                               max_completion_length=max_new_tokens)  # fmt: skip

    result = train(model, None, cfg, batches=batches, loss_fn=loss_fn, log=None)
    return result, rows


@torch.no_grad()
def sample_correct_batched(model, problems, v, n: int, gen: torch.Generator, temperature: float = 1.0,
                           chunk: int = 256) -> list[int]:  # fmt: skip
    """`shared.align.arith.sample_correct` for many problems at once (all prompts of one K have one length): `n`
    samples of every problem in one KV-cached loop per chunk of prompts; correct counts per problem."""
    from shared.align import arith

    was_training = model.training
    model.eval()
    k = len(problems[0])
    out = []
    for s in range(0, len(problems), chunk):
        part = problems[s : s + chunk]
        ids = torch.tensor([arith.prompt_ids(t, v) for t in part]).repeat_interleave(n, dim=0)  # [P * n, L]
        res = model(input_ids=ids, use_cache=True)
        past, logits = res.past_key_values, res.logits[:, -1]
        alive = torch.ones(len(ids), dtype=torch.bool)
        toks, masks = [], []
        for _ in range(k):
            probs = torch.softmax(logits.float() / temperature, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=gen).squeeze(1)
            nxt = torch.where(alive, nxt, torch.full_like(nxt, v.eos))
            toks.append(nxt)
            masks.append(alive.clone())
            alive = alive & (nxt != v.eos)
            if not alive.any():
                break
            res = model(input_ids=nxt[:, None], past_key_values=past, use_cache=True)
            past, logits = res.past_key_values, res.logits[:, -1]
        comp, cmask = torch.stack(toks, 1), torch.stack(masks, 1)
        for i, terms in enumerate(part):
            c = 0
            for r in range(i * n, (i + 1) * n):
                c += arith.is_correct(terms, comp[r][cmask[r]].tolist(), v)
            out.append(c)
    model.train(was_training)
    return out
