"""What "Sparse but Critical" (Meng et al. 2026, arXiv:2603.22446v1) needs beyond `shared/align`: the per-position
divergence between a base and an RL policy along a policy's own responses, how concentrated it is, a greedy
cross-decoder that lets one policy drive and hands single decisions to the other where the two differ most (or at
random positions: the control), and a weight-noise placebo whose shift is spread by construction.

The task and the RL are the engine's: `shared.align.arith` (running sums of K small terms, exact-answer reward, the
SFT recipe that makes a middling base) and `shared.align.loops.grpo_train`; the per-position KL and entropies come from
`shared.align.evaluate.per_position_divergence`.

Deviations from the paper, on purpose:
- a 2.1M-parameter tiny LM (`tiny-lm-small`) SFT'd on running sums and GRPO'd on their exact-answer reward, instead
  of Qwen2.5-32B / Qwen2.5-Math models RL'd with DAPO and SimpleRL on math (AIME 2024/25): the task's reward is exact
  and the whole pipeline trains in seconds, so the seed (one SFT + one GRPO run) is the unit;
- divergence is KL(base || RL) per position (the engine's measure), not the paper's Jensen-Shannon divergence (JS is
  computed too and reported, not judged), between the policies at GRPO's sampling temperature (0.7): GRPO samples
  from and optimises softmax(logits / 0.7), and at temperature 1 the RL model's entropy rises at every position (seed
  1 of the first default record: 1.1-1.5 -> 1.5-2.2 nats), a dense change of scale that greedy decoding never sees.
  The temperature-1 concentration is reported, not judged (a change made after the first default record, before any
  run with 5 or more seeds: see the README);
- responses are 5 tokens (4 running sums and EOS), so "a small fraction of positions" has a granularity of one
  decision in five per response; the sparsity statistic pools (prompt, position) cells over held-out prompts;
- cross-sampling is greedy (argmax of the chosen policy at each step) and online: at each step both policies score
  the current prefix, and where KL(base || RL) exceeds a threshold the other policy's token is taken. The threshold is
  the (1 - budget) quantile of that KL along the driving policy's own greedy responses, so the swapped share of
  positions is close to the budget; the random control swaps each position with the realised share as probability.
  The paper samples (temperature 1) and averages accuracy over samples.
"""

import copy
import math

import torch

from shared.align import arith
from shared.align.evaluate import next_token_logprobs, per_position_divergence


def sequences(problems, responses: list[list[int]], v: arith.Vocab) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Prompt + response ids `[N, P + K]` (responses padded with EOS to K tokens), the response mask `[N, K]` (1 up to
    and including the first EOS) and the prompt length P. All prompts of one K have one length."""
    k = len(problems[0])
    rows, masks = [], []
    for terms, r in zip(problems, responses):
        r = list(r)[:k]
        n = r.index(v.eos) + 1 if v.eos in r else len(r)
        masks.append([1] * n + [0] * (k - n))
        rows.append(arith.prompt_ids(terms, v) + r + [v.eos] * (k - len(r)))
    return torch.tensor(rows), torch.tensor(masks), len(arith.prompt_ids(problems[0], v))


def js_divergence(lp: torch.Tensor, lq: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence (nats) between two log-distributions over the last axis."""
    m = torch.logsumexp(torch.stack([lp, lq]), dim=0) - math.log(2.0)
    return 0.5 * (lp.exp() * (lp - m)).sum(-1) + 0.5 * (lq.exp() * (lq - m)).sum(-1)


class Tempered:
    """A causal LM whose logits are divided by `temperature`: the policy that sampling at that temperature draws from
    (and that GRPO at that temperature optimises). Greedy decisions are unchanged."""

    def __init__(self, model, temperature: float):
        self.model, self.temperature = model, temperature

    def __call__(self, **kwargs):
        out = self.model(**kwargs)
        out.logits = out.logits / self.temperature
        return out


@torch.no_grad()
def response_divergence(base, rl, problems, responses, v: arith.Vocab, temperature: float = 1.0) -> dict:
    """Per response position (the K next-token decisions of each response): KL(base || RL) and the entropies of both
    (the engine's `per_position_divergence`), JS, each `[N, K]`, and the response `mask` `[N, K]`; both policies at
    `temperature` (their logits divided by it)."""
    ids, mask, p = sequences(problems, responses, v)
    k = mask.shape[1]
    if temperature != 1.0:
        base, rl = Tempered(base, temperature), Tempered(rl, temperature)
    d = per_position_divergence(base, rl, ids)
    cols = slice(p - 1, p - 1 + k)  # column t predicts token t + 1: the response tokens are p .. p + k - 1
    js = js_divergence(next_token_logprobs(base, ids)[:, cols], next_token_logprobs(rl, ids)[:, cols])
    out = {"kl": d["kl"][:, cols], "entropy_base": d["entropy_p"][:, cols], "entropy_rl": d["entropy_q"][:, cols],
           "js": js, "mask": mask}  # fmt: skip
    return {name: t.float() for name, t in out.items()}


def concentration(values, share: float = 0.8) -> float:
    """The smallest fraction of cells whose values sum to `share` of the total (values >= 0): 0 < c <= 1; `share`
    (0.8) for values spread evenly, 1/n for one cell holding everything."""
    x = torch.as_tensor(values, dtype=torch.float64).flatten().clamp_min(0.0)
    if x.numel() == 0 or float(x.sum()) <= 0.0:
        raise ValueError("concentration needs at least one positive value")
    c = torch.sort(x, descending=True).values.cumsum(0) / x.sum()
    k = int(torch.searchsorted(c, torch.tensor(share - 1e-12, dtype=torch.float64))) + 1
    return min(k, x.numel()) / x.numel()


@torch.no_grad()
def cross_decode(base, rl, problems, v: arith.Vocab, drive: str = "base", tau: float = math.inf,
                 swap_prob: float = 0.0, gen: torch.Generator | None = None, temperature: float = 1.0) -> dict:  # fmt: skip
    """Greedy decoding by one policy (`drive`: "base" or "rl") that takes the *other* policy's argmax token at the
    positions where KL(base || RL) on the current prefix exceeds `tau` (targeted), or, with `swap_prob` > 0, at
    positions drawn independently with that probability from `gen` (the random control). `tau=inf, swap_prob=0` is
    the driving policy's own greedy decoding. The KL is between the two policies at `temperature` (the tokens are
    argmaxes, which it does not change).

    Returns:
        dict: `responses` (ids up to and including the first EOS), per-position `scores` (KL(base || RL) at each
        generated step, list per response), `swapped` (0/1 per generated step: the other policy's token was taken),
        `changed` (0/1: it differed from the driving policy's own token).
    """
    if drive not in ("base", "rl"):
        raise ValueError(f"drive must be 'base' or 'rl', got {drive!r}")
    base.eval()
    rl.eval()
    k = len(problems[0])
    ids = torch.tensor([arith.prompt_ids(p, v) for p in problems])
    n = ids.shape[0]
    ob, orl = base(input_ids=ids, use_cache=True), rl(input_ids=ids, use_cache=True)  # KV caches of both policies
    alive = torch.ones(n, dtype=torch.bool)
    toks, scores, swapped, changed, masks = [], [], [], [], []
    for step in range(k):
        lb = torch.log_softmax(ob.logits[:, -1].float() / temperature, dim=-1)
        lr = torch.log_softmax(orl.logits[:, -1].float() / temperature, dim=-1)
        kl = (lb.exp() * (lb - lr)).sum(-1)
        own, other = (lb, lr) if drive == "base" else (lr, lb)
        if swap_prob > 0.0:
            swap = torch.rand(n, generator=gen) < swap_prob
        else:
            swap = kl > tau
        a_own, a_other = own.argmax(-1), other.argmax(-1)
        nxt = torch.where(swap, a_other, a_own)
        nxt = torch.where(alive, nxt, torch.full_like(nxt, v.eos))
        toks.append(nxt)
        masks.append(alive.clone())
        scores.append(kl)
        swapped.append(swap & alive)
        changed.append(swap & alive & (a_other != a_own))
        alive = alive & (nxt != v.eos)
        if not alive.any() or step == k - 1:
            break
        ob = base(input_ids=nxt[:, None], past_key_values=ob.past_key_values, use_cache=True)
        orl = rl(input_ids=nxt[:, None], past_key_values=orl.past_key_values, use_cache=True)
    m = torch.stack(masks, 1)
    out = {"responses": [], "scores": [], "swapped": [], "changed": []}
    for i in range(n):
        keep = m[i]
        out["responses"].append(torch.stack(toks, 1)[i][keep].tolist())
        out["scores"].append(torch.stack(scores, 1)[i][keep].tolist())
        out["swapped"].append(torch.stack(swapped, 1)[i][keep].int().tolist())
        out["changed"].append(torch.stack(changed, 1)[i][keep].int().tolist())
    return out


def threshold_for_budget(scores: list[list[float]], budget: float) -> float:
    """The KL threshold above which a share `budget` of the positions lies: the (1 - budget) quantile of the scores
    along the driving policy's own greedy responses."""
    flat = torch.tensor([s for row in scores for s in row], dtype=torch.float64)
    return float(torch.quantile(flat, 1.0 - budget))


def accuracy(problems, responses, v: arith.Vocab) -> list[int]:
    return [int(arith.is_correct(p, r, v)) for p, r in zip(problems, responses)]


def share(rows: list[list[int]]) -> float:
    """The share of all positions flagged 1 (pooled over responses)."""
    total = sum(len(r) for r in rows)
    return sum(sum(r) for r in rows) / total if total else 0.0


@torch.no_grad()
def noisy_copy(model, scale: float, seed: int):
    """A copy of `model` with Gaussian noise of `scale` times each weight tensor's own standard deviation added to
    every weight: a shift spread over the whole network, the sparsity claim's placebo."""
    g = torch.Generator().manual_seed(seed)
    out = copy.deepcopy(model)
    for p in out.parameters():
        if p.numel() > 1:
            p.add_(scale * p.std() * torch.randn(p.shape, generator=g))
    return out


def mean_kl(base, other, problems, v: arith.Vocab, temperature: float = 1.0) -> float:
    """Mean KL(base || other) per position (both at `temperature`) along `other`'s own greedy responses."""
    responses = arith.decode(other, problems, v)
    d = response_divergence(base, other, problems, responses, v, temperature)
    return float((d["kl"] * d["mask"]).sum() / d["mask"].sum())


def matched_noise(base, target_kl: float, problems, v: arith.Vocab, seed: int, iters: int = 7,
                  temperature: float = 1.0) -> tuple[object, float]:  # fmt: skip
    """The noise placebo whose mean per-position KL(base || noisy) along its own greedy responses matches
    `target_kl` (bisection on the log of the noise scale): the model and its mean KL."""
    lo, hi = 1e-3, 1.0
    for _ in range(iters):
        mid = math.sqrt(lo * hi)
        if mean_kl(base, noisy_copy(base, mid, seed), problems, v, temperature) < target_kl:
            lo = mid
        else:
            hi = mid
    model = noisy_copy(base, math.sqrt(lo * hi), seed)
    return model, mean_kl(base, model, problems, v, temperature)


def run_seed(seed: int, model_name: str, k: int, n_test: int, sft_steps: int, sft_batch: int, sft_lr: float,
             grpo_steps: int, grpo_lr: float, temperature: float, group_size: int, prompts_per_step: int,
             budgets: list[float], judged_budget: float, random_draws: int, kl_share: float, noise_prompts: int,
             threads: int = 1) -> dict:  # fmt: skip
    """One unit: SFT the base, GRPO the RL policy from it, then on `n_test` held-out problems of the seed's split:
    accuracies, the per-position divergence along RL's greedy responses, cross-decoding at each budget (targeted and
    random), and the noise placebo's concentration at RL's mean KL.

    Returns:
        dict: `unit` (one row of per-seed numbers), `positions` (one row per (problem, position) of RL's responses),
        `curve` (one row per budget and direction), `grpo` (GRPO's per-step rows).
    """
    from shared.align.loops import grpo_train
    from shared.lm.trainer import TrainConfig
    from shared.models import load

    torch.manual_seed(seed)
    base, tok = load(model_name)
    v = arith.Vocab.from_tokenizer(tok)
    arith.sft_base(base, v, k, steps=sft_steps, batch=sft_batch, lr=sft_lr, seed=seed, threads=threads)
    test, pool = arith.split_problems(k, n_test, torch.Generator().manual_seed(10_000 + seed))
    rl = copy.deepcopy(base)
    cfg = TrainConfig(steps=grpo_steps, lr=grpo_lr, warmup=5, schedule="constant", weight_decay=0.0, seed=seed,
                      log_every=10**9, threads=threads)  # fmt: skip
    _, grpo_rows = grpo_train(rl, [arith.prompt_ids(p, v) for p in pool], arith.reward_fn(v), cfg,
                              group_size=group_size, prompts_per_step=prompts_per_step, max_new_tokens=k,
                              eos_token_id=v.eos, pad_token_id=v.pad, temperature=temperature)  # fmt: skip
    base.requires_grad_(False).eval()
    rl.requires_grad_(False).eval()
    t = temperature  # divergences between the policies GRPO sampled from and optimised (logits / temperature)
    own = {d: cross_decode(base, rl, test, v, d, temperature=t) for d in ("base", "rl")}
    acc = {d: sum(accuracy(test, own[d]["responses"], v)) / len(test) for d in own}
    div = response_divergence(base, rl, test, own["rl"]["responses"], v, t)
    m = div["mask"].bool()
    div1 = response_divergence(base, rl, test, own["rl"]["responses"], v)  # at temperature 1: reported only
    kl = div["kl"][m]
    hi = div["kl"] >= div["kl"][m].quantile(1.0 - judged_budget)
    unit = {"seed": seed, "acc_base": acc["base"], "acc_rl": acc["rl"], "mean_kl": float(kl.mean()),
            "mean_js": float(div["js"][m].mean()), "conc_rl": concentration(kl, kl_share),
            "conc_rl_t1": concentration(div1["kl"][m], kl_share), "mean_kl_t1": float(div1["kl"][m].mean()),
            "share_kl_gt_0.1": float((kl > 0.1).float().mean()),
            "entropy_base_top": float(div["entropy_base"][m & hi].mean()),
            "entropy_base_rest": float(div["entropy_base"][m & ~hi].mean())}  # fmt: skip
    positions = [{"seed": seed, "problem": i, "position": j, "kl": float(div["kl"][i, j]), "js": float(div["js"][i, j]),
                  "entropy_base": float(div["entropy_base"][i, j]), "entropy_rl": float(div["entropy_rl"][i, j])}
                 for i in range(len(test)) for j in range(k) if m[i, j]]  # fmt: skip
    curve = []
    for b in budgets:
        for d in ("base", "rl"):
            tau = threshold_for_budget(own[d]["scores"], b)
            tg = cross_decode(base, rl, test, v, d, tau=tau, temperature=t)
            realised = share(tg["swapped"])
            rand_acc, rand_changed = [], []
            for r in range(random_draws):
                g = torch.Generator().manual_seed(1_000 * seed + r)
                rd = cross_decode(base, rl, test, v, d, swap_prob=realised, gen=g, temperature=t)
                rand_acc.append(sum(accuracy(test, rd["responses"], v)) / len(test))
                rand_changed.append(share(rd["changed"]))
            curve.append({"seed": seed, "budget": b, "drive": d, "tau": tau, "swapped": realised,
                          "changed": share(tg["changed"]), "acc_targeted": sum(accuracy(test, tg["responses"], v)) / len(test),
                          "acc_random": sum(rand_acc) / random_draws,
                          "changed_random": sum(rand_changed) / random_draws})  # fmt: skip
    calib = test[:noise_prompts]
    noisy, noise_kl = matched_noise(base, unit["mean_kl"], calib, v, seed, temperature=t)
    nresp = arith.decode(noisy, test, v)
    nd = response_divergence(base, noisy, test, nresp, v, t)
    nkl = nd["kl"][nd["mask"].bool()]
    unit.update({"noise_mean_kl": float(nkl.mean()), "conc_noise": concentration(nkl, kl_share),
                 "acc_noise": sum(accuracy(test, nresp, v)) / len(test)})  # fmt: skip
    return {"unit": unit, "positions": positions, "curve": curve, "grpo": [{"seed": seed, **r} for r in grpo_rows]}
