"""
Adaptive weighted rejection sampling (AWRS), after Lipkin, LeBrun, Vigly, Loula, MacIver, Du, Eisner, Cotterell,
Mansinghka, O'Donnell, Lew & Vieira, "Fast Controlled Generation from Language Models with Adaptive Weighted Rejection
Sampling" (arXiv:2504.05410).

The samplers live in the shared engine (`shared.speculative.constrained`: `masked_step`, `awrs_step`, `smc_sample`).
This module holds the paper's measurements: on a real LM (the zoo's `tiny-lm-large` on held-out BPE-8k contexts,
under lipogram constraints), the cost of AWRS per step against the divergence between the LM and its constrained
version; on toy models, locally constrained decoding and the exact global constrained distribution of short strings.

Deviations from the paper, on purpose:
- an 8.4M-parameter LM trained by this project and lipogram constraints ("no token containing the letter e", up to
  six banned letters) instead of text-to-SQL, molecule, goal-inference, pattern and JSON tasks with Llama models;
- the distortion study keeps random n-gram LMs (`shared.speculative.TableLM`) and a synthetic token-level constraint,
  so that the global constrained distribution can be enumerated exactly; each toy model is drawn conditionally on the
  paper's premise (LCD distorts it by at least a stated exact TV, `distorting_lm`), a selection on an exact quantity
  made before any sampling;
- SMC resamples after every step (multinomial); the paper's SMC variants and their resampling schedules are not
  reproduced.
"""

import itertools

import numpy as np
import torch


def no_repeat_mod(k: int):
    """Constraint: a token may not follow a token with the same residue mod `k` (about 1/k of the mass is banned)."""

    def allowed(prefix: list[int], x: int) -> bool:
        return not prefix or prefix[-1] % k != x % k

    return allowed


def global_distribution(lm, prompt: list[int], length: int, allowed) -> dict[tuple, float]:
    """Exact `p(x | prompt) 1[x allowed] / Z` over all continuations of `length` tokens (`V^length` of them)."""
    out = {}
    for seq in itertools.product(range(lm.vocab_size), repeat=length):
        prob, ctx = 1.0, list(prompt)
        for x in seq:
            if not allowed(ctx, x):
                prob = 0.0
                break
            prob *= float(lm.probs(ctx)[x])
            ctx.append(x)
        if prob > 0:
            out[seq] = prob
    z = sum(out.values())
    return {k: v / z for k, v in out.items()}


def lcd_distribution(lm, prompt: list[int], length: int, allowed) -> dict[tuple, float]:
    """Exact distribution of locally constrained decoding: each step samples `p` renormalised over allowed tokens."""
    out = {}
    for seq in itertools.product(range(lm.vocab_size), repeat=length):
        prob, ctx = 1.0, list(prompt)
        for x in seq:
            p = lm.probs(ctx)
            mask = torch.tensor([allowed(ctx, y) for y in range(lm.vocab_size)])
            if not mask[x]:
                prob = 0.0
                break
            prob *= float(p[x] / p[mask].sum())
            ctx.append(x)
        if prob > 0:
            out[seq] = prob
    return out


def total_variation(counts: dict, exact: dict[tuple, float]) -> float:
    """TV distance between the empirical distribution of `counts` and `exact`."""
    n = sum(counts.values())
    keys = set(counts) | set(exact)
    return 0.5 * sum(abs(counts.get(k, 0) / n - exact.get(k, 0.0)) for k in keys)


def encode(seq, vocab: int) -> int:
    """A string of tokens as one integer (base `vocab`), so that samples can be counted with `np.bincount`."""
    return sum(int(x) * vocab**i for i, x in enumerate(seq))


def exact_vector(dist: dict[tuple, float], vocab: int, length: int) -> np.ndarray:
    """`dist` over strings of `length` tokens as a vector indexed by `encode`."""
    out = np.zeros(vocab**length)
    for seq, pr in dist.items():
        out[encode(seq, vocab)] = pr
    return out


def exact_tv(a: dict[tuple, float], b: dict[tuple, float]) -> float:
    """TV distance between two exact distributions over strings."""
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))


def distorting_lm(seed: int, vocab: int, mod: int, length: int, min_tv: float, scale: float = 2.0, max_draws: int = 50):
    """The toy model of `seed`, drawn conditionally on LCD distorting it: the first of the order-1 `TableLM`s with seeds
    `100 + seed + 1000 k` (k = 0, 1, ...) whose exact LCD distribution over `length`-token strings (prompt `[0]`,
    constraint `no_repeat_mod(mod)`) is at least `min_tv` in TV from the global constrained distribution.

    The selection uses exact enumerations only (no sampling), so it cannot see how SMC will do. Returns
    `(lm, k, exact, lcd_exact, tv)`: `k` counts the rejected draws.
    """
    from shared.speculative import TableLM

    allowed = no_repeat_mod(mod)
    for k in range(max_draws):
        lm = TableLM(vocab, order=1, scale=scale, seed=100 + seed + 1000 * k)
        exact = global_distribution(lm, [0], length, allowed)
        lcd = lcd_distribution(lm, [0], length, allowed)
        tv = exact_tv(exact, lcd)
        if tv >= min_tv:
            return lm, k, exact, lcd, tv
    raise RuntimeError(f"no toy model with LCD distortion >= {min_tv} in {max_draws} draws (seed {seed})")


def tv_noise_floor(exact: np.ndarray, n: int, reps: int = 200, seed: int = 0) -> float:
    """The sampling noise of TV: the mean TV between the empirical distribution of `n` i.i.d. draws from `exact` and
    `exact` itself (`reps` simulated replicates). A perfect sampler's TV at `n` draws is about this large."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, exact / exact.sum(), size=reps)
    return float(np.mean(0.5 * np.abs(counts / n - exact).sum(axis=1)))


def tv_ratio(units, exacts: list[np.ndarray]) -> float:
    """Mean over models of TV(SMC samples, exact) / TV(LCD samples, exact).

    Each unit is one draw index: `(lcd_0, smc_0, lcd_1, smc_1, ...)`, the encoded LCD and SMC strings drawn for model
    `j` at that index, so that a bootstrap over units resamples every model's draws together.
    """
    arr = np.asarray(units, dtype=np.int64)
    n, ratios = len(arr), []
    for j, exact in enumerate(exacts):
        tv = [0.5 * np.abs(np.bincount(arr[:, 2 * j + m], minlength=len(exact)) / n - exact).sum() for m in (0, 1)]
        ratios.append(tv[1] / tv[0])
    return float(np.mean(ratios))


def heldout_windows(n: int, length: int, seed: int) -> list[list[int]]:
    """`n` windows of `length` tokens at independent random offsets of the held-out BPE-8k stream (seeded)."""
    from shared.models import stage_dir

    stream = np.load(stage_dir("bpe-8k") / "val.npy").astype(np.int64)
    offsets = np.random.default_rng(seed).integers(0, len(stream) - length, n)
    return [stream[o : o + length].tolist() for o in offsets]


@torch.no_grad()
def next_token_probs(model, contexts: list[list[int]], batch: int = 250) -> torch.Tensor:
    """`p(. | context)` at temperature 1 for each context, `[n, V]` float64."""
    out = []
    for i in range(0, len(contexts), batch):
        logits = model(input_ids=torch.tensor(contexts[i : i + batch]), logits_to_keep=1).logits[:, -1]
        out.append(torch.softmax(logits.double(), -1))
    return torch.cat(out)


def lipogram(tokenizer, letters: str) -> torch.Tensor:
    """Allowed-token mask `[V]` of the lipogram on `letters`: a token is allowed iff its decoded text contains none of
    the letters (either case). More letters, a stronger constraint."""
    v = len(tokenizer.get_vocab())
    texts = [tokenizer.decode([i]).lower() for i in range(v)]
    return torch.tensor([not any(c in t for c in letters) for t in texts])


def _first_allowed(order: torch.Tensor, allowed: torch.Tensor) -> int:
    hit = allowed[order]
    return int(hit.to(torch.int8).argmax()) if bool(hit.any()) else -1


def awrs_costs(p: torch.Tensor, allowed: torch.Tensor, n_rep: int, generator: torch.Generator):
    """`n_rep` independent AWRS steps from `p` `[V]` under the allowed-token mask `allowed` `[V]`.

    The same algorithm and the same random stream as `shared.speculative.constrained.awrs_step` (Gumbel-max order
    over the support, stop at the first allowed token; a second round that skips round 1's rejections), with the
    constraint given as a mask so that one step costs a few vectorised operations instead of a Python loop over the
    vocabulary. Returns `(evaluations, weights)`, two lists of length `n_rep`.
    """
    logp = p.double().log()
    support = p > 0
    evals, weights = [], []
    for _ in range(n_rep):
        rejected = torch.zeros_like(allowed)
        n_rej, ev, mass1 = 0, 0, 0.0
        for round_ in range(2):
            u = torch.rand(p.shape, generator=generator, dtype=torch.float64).clamp_min(1e-300)
            order = (logp - (-u.log()).log()).argsort(descending=True)
            order = order[support[order] & ~rejected[order]]
            first = _first_allowed(order, allowed)
            if first < 0:  # nothing allowed: round 1 exhausted the support
                raise ValueError("no allowed token has positive probability")
            ev += first + 1
            n_rej += first
            if round_ == 0:
                mass1 = float(p[order[:first]].sum())
                rejected[order[:first]] = True
        evals.append(ev)
        weights.append((1 - mass1) / (n_rej + 1))
    return evals, weights
