"""What "Critical Tokens Matter" (Lin et al. 2024, arXiv:2411.19943v3) needs beyond `shared/align`: sampled
trajectories of the shared running-sums task, a positive and a negative copy of the policy fine-tuned on its correct
and incorrect samples, the contrastive-estimation (CE) score of every token of an incorrect trajectory, resampling
verification of a token's criticality (force an alternative there, or keep it, and roll out), and cDPO: DPO whose
rejected tokens are weighted by the CE score.

The CE score (the authors' public code, `calculate_ce_score` and `CDPOTrainer.dpo_loss`; no code copied): at each
token y_t of a trajectory, the contrastive distribution is softmax over the vocabulary of
(1 + b) log p_pos(. | x, y_<t) - b log p_neg(. | x, y_<t) with b = 1, and p_ce(y_t) its probability of the token that
was written. A low p_ce marks a token the negative model wants and the positive one does not: the critical token is
the argmin of p_ce over the response. cDPO weights each rejected token's log-ratio by 1 - p_ce(y_t) and leaves the
chosen tokens at weight 1 (the code's default `only_neg=True`); the DPO loss itself is the engine's
(`shared.align.losses.preference_loss`, token weights).

Deviations from the paper, on purpose:
- the project's `tiny-lm-small` (2.1M parameters) SFT'd on running sums of 5 terms (`shared.align.arith`) instead of
  Llama-3-8B/70B and deepseek-math-7B on GSM8K and MATH500: the task makes the outcome of every rollout checkable
  and the first erroneous token known, in seconds on a CPU;
- full fine-tuning of the positive and negative copies and of the DPO arms (the paper: LoRA adapters), a few dozen
  steps each;
- criticality is verified on the CE-top token and on a random token of each trajectory with N rollouts each (the
  paper rolls out 64 samples at every token of a trajectory to *define* critical tokens, then checks pass@k with the
  critical token replaced); the forced alternative is drawn from the policy's own distribution at that position with
  the written token removed;
- evaluation is greedy exact-answer accuracy on held-out problems (never sampled for training), as the paper's
  greedy GSM8K/MATH500 accuracy;
- logits are computed only at the response positions (the loss never needs the prompt's; the numbers are those of a
  full forward, checked in `test_method.py`), which halves the cost of a step of this 8k-vocabulary model.
"""

import torch

from shared.align import arith
from shared.align.losses import preference_loss
from shared.lm.trainer import TrainConfig, train


def prompt_len(k: int) -> int:
    """Tokens of a prompt of `k` terms: BOS, the terms, the k - 1 plus signs, the equals sign."""
    return 2 * k + 1


def width(k: int) -> int:
    """Tokens of a correct response of `k` terms: the k - 1 running sums and EOS."""
    return k


def prompts_tensor(problems, v) -> torch.Tensor:
    return torch.tensor([arith.prompt_ids(p, v) for p in problems])


def pad_response(resp: list[int], w: int, v) -> tuple[list[int], list[int]]:
    """A response padded with EOS to `w` tokens, and its mask (1 on the response's own tokens)."""
    if len(resp) > w:
        raise ValueError(f"response of {len(resp)} tokens is wider than {w}")
    return list(resp) + [v.eos] * (w - len(resp)), [1] * len(resp) + [0] * (w - len(resp))


def response_logits(model, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
    """Logits `[B, W, V]` of the response tokens (position t predicts response token t) for prompts `[B, P]` and
    responses `[B, W]`: the head is applied only at the W positions that predict them."""
    ids = torch.cat([prompts, responses], dim=1)
    hidden = model.model(input_ids=ids).last_hidden_state  # [B, P + W, d]
    p, w = prompts.shape[1], responses.shape[1]
    return model.lm_head(hidden[:, p - 1 : p + w - 1])


def response_logps(model, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
    """log p(response token t | prompt, earlier tokens), `[B, W]`."""
    logits = response_logits(model, prompts, responses).float()
    return logits.gather(-1, responses.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def sft_loss(model, batch: dict) -> torch.Tensor:
    """Mean cross-entropy over the masked response tokens of `{"prompts", "responses", "mask"}` (the trainer's
    `loss_fn`)."""
    lp = response_logps(model, batch["prompts"], batch["responses"])
    m = batch["mask"].to(lp.dtype)
    return -(lp * m).sum() / m.sum().clamp(min=1.0)


def sft_sampler(k: int, batch: int, v, max_term: int = 4):
    """`batches(step, gen)`: fresh problems and their correct responses each step (the SFT base's task stream)."""

    def batches(step, gen):
        probs = arith.make_problems(batch, k, gen, max_term)
        resp = torch.tensor([arith.response_ids(arith.running_sums(p), v) for p in probs])
        return {"prompts": prompts_tensor(probs, v), "responses": resp, "mask": torch.ones_like(resp)}

    return batches


def sft_base(model, v, k: int, steps: int, batch: int, lr: float, seed: int, threads: int = 1):
    """The SFT base: the shared recipe (AdamW, cosine, 10 warmup steps, fresh problems each step), with the loss on the
    response positions only (`sft_loss`, the same loss as `arith.sft_batch` through the trainer)."""
    cfg = TrainConfig(steps=steps, lr=lr, warmup=10, seed=seed, log_every=10**9, threads=threads)
    train(model, None, cfg, batches=sft_sampler(k, batch, v), loss_fn=sft_loss, log=None)
    return model


def trajectory_batch(items: list[dict], v, w: int) -> dict:
    """`{"prompts", "responses", "mask"}` for trajectories `{"terms", "response"}` (responses padded to `w`)."""
    padded = [pad_response(it["response"], w, v) for it in items]
    return {"prompts": prompts_tensor([it["terms"] for it in items], v),
            "responses": torch.tensor([r for r, _ in padded]), "mask": torch.tensor([m for _, m in padded])}  # fmt: skip


def finetune_on(model, items: list[dict], v, w: int, steps: int, batch: int, lr: float, seed: int,
                threads: int = 1):  # fmt: skip
    """SFT `model` in place on fixed trajectories (the positive or negative copy): batches drawn with replacement."""
    data = trajectory_batch(items, v, w)

    def batches(step, gen):
        idx = torch.randint(0, len(items), (batch,), generator=gen)
        return {key: t[idx] for key, t in data.items()}

    cfg = TrainConfig(steps=steps, lr=lr, warmup=0, schedule="constant", weight_decay=0.0, seed=seed,
                      log_every=10**9, threads=threads)  # fmt: skip
    train(model, None, cfg, batches=batches, loss_fn=sft_loss, log=None)
    return model


@torch.no_grad()
def continue_sampling(model, prefixes: torch.Tensor, n_new: int, gen: torch.Generator, eos: int,
                      exclude: torch.Tensor | None = None, temperature: float = 1.0) -> torch.Tensor:  # fmt: skip
    """Sample `n_new` tokens after equal-length prefixes `[B, L]` (KV cache, multinomial draws from `gen`); after a
    row's EOS the row is EOS. `exclude [B]`: a token each row may not draw at its first step (the forced alternative
    of a replaced token: the distribution renormalised without it). Returns `[B, n_new]`."""
    model.eval()
    if n_new == 0:
        return prefixes.new_zeros((prefixes.shape[0], 0))
    out = model(input_ids=prefixes, use_cache=True)
    past, logits = out.past_key_values, out.logits[:, -1].float()
    alive = torch.ones(prefixes.shape[0], dtype=torch.bool)
    tokens = []
    for step in range(n_new):
        logits = logits / temperature
        if step == 0 and exclude is not None:
            logits = logits.scatter(1, exclude.unsqueeze(1), float("-inf"))
        nxt = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=gen).squeeze(1)
        nxt = torch.where(alive, nxt, torch.full_like(nxt, eos))
        tokens.append(nxt)
        alive = alive & (nxt != eos)
        if step + 1 == n_new or not alive.any():
            break
        out = model(input_ids=nxt[:, None], past_key_values=past, use_cache=True)
        past, logits = out.past_key_values, out.logits[:, -1].float()
    toks = torch.stack(tokens, dim=1)
    if toks.shape[1] < n_new:
        toks = torch.cat([toks, toks.new_full((toks.shape[0], n_new - toks.shape[1]), eos)], dim=1)
    return toks


def cut_at_eos(row: list[int], eos: int) -> list[int]:
    """Tokens up to and including the first EOS (all of them when there is none)."""
    return row[: row.index(eos) + 1] if eos in row else list(row)


def sample_trajectories(model, problems, v, n: int, gen: torch.Generator, temperature: float = 1.0) -> list[dict]:
    """`n` sampled responses per problem (all prompts of one K have one length: one batch), each
    `{"problem", "terms", "response", "correct"}`."""
    k = len(problems[0])
    prompts = prompts_tensor(problems, v).repeat_interleave(n, dim=0)
    toks = continue_sampling(model, prompts, width(k), gen, v.eos, temperature=temperature)
    out = []
    for i, row in enumerate(toks.tolist()):
        terms = problems[i // n]
        resp = cut_at_eos(row, v.eos)
        out.append({"problem": i // n, "terms": terms, "response": resp, "correct": arith.is_correct(terms, resp, v)})
    return out


def first_error(terms, response: list[int], v) -> int:
    """Index of the first response token that differs from the correct response (its length when the response is a
    strict prefix of it, e.g. stopped early without EOS)."""
    correct = arith.response_ids(arith.running_sums(terms), v)
    for i, (a, b) in enumerate(zip(response, correct)):
        if a != b:
            return i
    return min(len(response), len(correct))


@torch.no_grad()
def ce_probs(pos, neg, batch: dict, b: float = 1.0) -> torch.Tensor:
    """p_ce(y_t) `[B, W]`: the probability of each written token under softmax((1 + b) log p_pos - b log p_neg)."""
    lp_pos = torch.log_softmax(response_logits(pos, batch["prompts"], batch["responses"]).float(), dim=-1)
    lp_neg = torch.log_softmax(response_logits(neg, batch["prompts"], batch["responses"]).float(), dim=-1)
    ce = torch.log_softmax((1 + b) * lp_pos - b * lp_neg, dim=-1)
    return ce.gather(-1, batch["responses"].unsqueeze(-1)).squeeze(-1).exp()


def masked_argmin(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per row, the index of the smallest value among the masked positions (first one on ties)."""
    return torch.where(mask.bool(), values, torch.full_like(values, float("inf"))).argmin(dim=1)


def random_positions(mask: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Per row, a uniformly drawn masked position (the trivial control's token)."""
    n = mask.sum(dim=1)
    return (torch.rand(mask.shape[0], generator=gen) * n).long().clamp(max=n - 1)


def permute_within(weights: torch.Tensor, mask: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """The same weight values placed at random within each row's masked positions (same multiset, same sparsity)."""
    out = weights.clone()
    for i in range(weights.shape[0]):
        idx = mask[i].nonzero().squeeze(1)
        out[i, idx] = weights[i, idx[torch.randperm(len(idx), generator=gen)]]
    return out


@torch.no_grad()
def rollout_success(model, items: list[dict], positions: list[int], v, n: int, gen: torch.Generator,
                    replace: bool, temperature: float = 1.0) -> list[float]:  # fmt: skip
    """Resampling verification, per trajectory: the share of `n` rollouts that end correct when the token at
    `positions[i]` is kept (`replace=False`: sample after it) or replaced (`True`: the policy draws another token
    there, never the written one, then continues). Rollouts run to the response width; trajectories are grouped by
    position so each group is one batch."""
    k = len(items[0]["terms"])
    w = width(k)
    rates = [0.0] * len(items)
    for t in sorted(set(positions)):
        group = [i for i, p in enumerate(positions) if p == t]
        cut = t if replace else t + 1
        prefixes, excl, done = [], [], {}
        for i in group:
            resp = items[i]["response"]
            if not replace and resp[t] == v.eos:  # the kept token ends the response: its outcome is fixed
                done[i] = float(arith.is_correct(items[i]["terms"], resp, v))
                continue
            prefixes.append(arith.prompt_ids(items[i]["terms"], v) + resp[:cut])
            excl.append(resp[t])
        live = [i for i in group if i not in done]
        for i, r in done.items():
            rates[i] = r
        if not live:
            continue
        pre = torch.tensor(prefixes).repeat_interleave(n, dim=0)
        ex = torch.tensor(excl).repeat_interleave(n) if replace else None
        toks = continue_sampling(model, pre, w - cut, gen, v.eos, exclude=ex, temperature=temperature).tolist()
        for j, i in enumerate(live):
            head = items[i]["response"][:cut]
            ok = sum(arith.is_correct(items[i]["terms"], cut_at_eos(head + toks[j * n + r], v.eos), v)
                     for r in range(n))  # fmt: skip
            rates[i] = ok / n
    return rates


def modal(responses: list[list[int]], gen: torch.Generator) -> list[int]:
    """The most frequent response of a list (ties broken at random with `gen`)."""
    counts: dict[tuple, int] = {}
    for r in responses:
        counts[tuple(r)] = counts.get(tuple(r), 0) + 1
    top = max(counts.values())
    tied = sorted(r for r, c in counts.items() if c == top)
    return list(tied[int(torch.randint(len(tied), (1,), generator=gen))])


def select_data(trajs: list[dict], gen: torch.Generator) -> tuple[list[dict], list[dict], list[dict]]:
    """The paper's selection by answer frequency (the authors' `select_data_for_sft_and_dpo`), per problem: the
    positive copy's data is one correct response; the negative copy's, the most frequent incorrect responses until they
    cover half of the incorrect samples (top-p 0.5); a preference pair, where a problem has both, is the correct
    response (chosen) and the most frequent incorrect one (rejected: the policy's typical mistake, not a rare draw).

    Returns:
        tuple: (positive data, negative data, pairs); data items `{"terms", "response"}`, pairs `{"terms", "chosen",
        "rejected"}`.
    """
    by_problem: dict[int, list[dict]] = {}
    for t in trajs:
        by_problem.setdefault(t["problem"], []).append(t)
    pos, neg, pairs = [], [], []
    for pid in sorted(by_problem):
        terms = by_problem[pid][0]["terms"]
        good = [t["response"] for t in by_problem[pid] if t["correct"]]
        bad = [t["response"] for t in by_problem[pid] if not t["correct"]]
        if good:
            pos.append({"terms": terms, "response": good[0]})
        if bad:
            left, covered = list(bad), 0
            while covered < 0.5 * len(bad):
                r = modal(left, gen)
                neg.append({"terms": terms, "response": r})
                covered += sum(x == r for x in left)
                left = [x for x in left if x != r]
        if good and bad:
            pairs.append({"terms": terms, "chosen": good[0], "rejected": modal(bad, gen)})
    return pos, neg, pairs


def pair_tensors(pairs: list[dict], v, w: int) -> dict:
    """Stacked preference tensors (chosen rows first, then rejected, as the engine's layout): `prompts [2B, P]`,
    `responses [2B, W]`, `mask [2B, W]`."""
    chosen = trajectory_batch([{"terms": p["terms"], "response": p["chosen"]} for p in pairs], v, w)
    rejected = trajectory_batch([{"terms": p["terms"], "response": p["rejected"]} for p in pairs], v, w)
    return {key: torch.cat([chosen[key], rejected[key]]) for key in chosen}


def cdpo_weights(p_ce_rejected: torch.Tensor, n_pairs: int, w: int) -> torch.Tensor:
    """Token weights `[2B, W]` of cDPO: 1 on the chosen tokens, 1 - p_ce on the rejected ones."""
    return torch.cat([torch.ones(n_pairs, w), 1.0 - p_ce_rejected])


def weighted_dpo_loss(model, batch: dict, beta: float) -> torch.Tensor:
    """DPO (token-weighted when the batch has `weights`) on a stacked batch with precomputed `ref_logps`: the
    engine's `preference_loss` on the response positions' log-probabilities."""
    lp = response_logps(model, batch["prompts"], batch["responses"])
    loss, _ = preference_loss(lp, batch["ref_logps"], batch["mask"], beta, weights=batch.get("weights"))
    return loss


def dpo_arm(model, data: dict, weights: torch.Tensor | None, steps: int, batch: int, lr: float, beta: float,
            seed: int, threads: int = 1):  # fmt: skip
    """Train `model` in place with (token-weighted) DPO on the stacked pair tensors `data` (with `ref_logps`), `batch`
    pairs a step drawn with the trainer's generator (the same stream for every arm of one seed)."""
    n = data["prompts"].shape[0] // 2

    def batches(step, gen):
        idx = torch.randint(0, n, (batch,), generator=gen)
        rows = torch.cat([idx, idx + n])
        out = {key: t[rows] for key, t in data.items()}
        if weights is not None:
            out["weights"] = weights[rows]
        return out

    cfg = TrainConfig(steps=steps, lr=lr, warmup=0, schedule="constant", weight_decay=0.0, seed=seed,
                      log_every=10**9, threads=threads)  # fmt: skip
    train(model, None, cfg, batches=batches, loss_fn=lambda m, b: weighted_dpo_loss(m, b, beta), log=None)
    return model


@torch.no_grad()
def pair_margins(model, data: dict, beta: float) -> torch.Tensor:
    """DPO's implicit-reward margin `[B]` of each pair (chosen minus rejected, unweighted sums of beta log pi/pi_ref
    over the response tokens) on stacked pair tensors with `ref_logps`."""
    lp = response_logps(model, data["prompts"], data["responses"])
    m = data["mask"].to(lp.dtype)
    r = beta * ((lp - data["ref_logps"]) * m).sum(dim=1)
    chosen, rejected = r.chunk(2)
    return chosen - rejected
