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
  made before any sampling; several models per seed, and the distortion claim's interval resamples models, then
  draws within each (`hierarchical_bootstrap`), since the claim is about models in general;
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


def toy_model_ids(seeds, per_seed: int, stride: int = 50) -> list[int]:
    """The toy models of a run: `per_seed` models for each seed `s`, with ids `s + stride * j` (j = 0, ...), so that
    j = 0 is the seed's model of the earlier one-model-per-seed design and every seed set gets its own models.

    `distorting_lm` turns an id into `TableLM` seeds `100 + id + 1000 k`, so ids must be distinct and below 1000.
    """
    if any(not 0 <= s < stride for s in seeds) or per_seed < 1 or stride * per_seed > 1000:
        raise ValueError(f"toy model ids need seeds in [0, {stride}) and {stride} * per_seed <= 1000")
    ids = [s + stride * j for j in range(per_seed) for s in seeds]
    if len(set(ids)) != len(ids):
        raise ValueError(f"repeated seeds in {list(seeds)}")
    return ids


def tv_ratios(units: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """TV(SMC, exact) / TV(LCD, exact) of one toy model, for each of `K` sets of its draws.

    Args:
        units (np.ndarray): `[K, n, 2]` int, K sets of n draw indices, each `(LCD string, SMC string)` encoded by
            `encode`.
        exact (np.ndarray): the exact global constrained distribution as a vector indexed by `encode`.

    Returns:
        np.ndarray: `[K]` ratios.
    """
    units = np.asarray(units, dtype=np.int64)
    k, n, _ = units.shape
    v = len(exact)
    offset = v * np.arange(k)[:, None]  # [K, 1] one block of v bins per set
    tv = []
    for m in (0, 1):
        counts = np.bincount((units[:, :, m] + offset).ravel(), minlength=k * v).reshape(k, v)
        tv.append(0.5 * np.abs(counts / n - exact).sum(axis=1))
    return tv[1] / tv[0]


def hierarchical_bootstrap(clusters, per_cluster, n_unit: str, unit: str = "", level: float | None = None,
                           resamples: int | None = None, seed: int = 0, batch: int = 500):  # fmt: skip
    """The mean over clusters of a per-cluster statistic, with a two-level bootstrap interval: each replicate resamples
    the clusters (toy models) with replacement, then the units (draws) inside each drawn cluster with replacement, and
    averages the per-cluster statistic over the drawn clusters. The interval therefore covers the spread between
    clusters, which a bootstrap over units with the clusters held fixed does not.

    Percentile interval (`level`, default `shared.claims.LEVEL`) from `resamples` replicates (default
    `shared.claims.BOOTSTRAP_RESAMPLES`), seeded. Percentile, not BCa: resampling draws inflates a plug-in TV (most for
    TVs near the noise floor), and BCa's bias correction would subtract that inflation, moving the interval toward the
    ratio at infinitely many draws; the percentile interval keeps it, which errs on the conservative side for an
    "at most" bar. Resampling at both levels counts the within-cluster noise about twice (the spread of the
    per-cluster values already holds it once), which is conservative too.

    Args:
        clusters (Sequence[np.ndarray]): per cluster, its units as an array `[n_i, ...]`.
        per_cluster (Callable[[int, np.ndarray], np.ndarray]): `per_cluster(i, units)` with `units` `[K, n_i, ...]`
            (K resampled sets of cluster i's units) returns the statistic of each set, `[K]`.
        n_unit (str): what a cluster is (the recorded unit: `n` = number of clusters).

    Returns:
        shared.claims.Measurement: value = mean over clusters of `per_cluster` on their own units.
    """
    from shared.claims import BOOTSTRAP_RESAMPLES, LEVEL, Measurement

    level = LEVEL if level is None else level
    resamples = BOOTSTRAP_RESAMPLES if resamples is None else resamples
    clusters = [np.asarray(c) for c in clusters]
    m = len(clusters)
    if m == 0 or any(len(c) == 0 for c in clusters):
        raise ValueError("need at least one cluster, and units in every cluster")
    own = np.array([float(per_cluster(i, c[None])[0]) for i, c in enumerate(clusters)])
    value = float(own.mean())
    if not np.isfinite(value):
        raise ValueError("the statistic is not finite on the data")
    if m == 1:
        return Measurement(value, n=1, unit=unit, n_unit=n_unit, interval="none (one cluster)")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, m, size=(resamples, m))  # [B, m] the clusters of each replicate
    vals = np.empty((resamples, m))
    for i, c in enumerate(clusters):
        where = np.nonzero(picks == i)  # every time cluster i is drawn: a fresh resample of its units
        out = []
        for start in range(0, len(where[0]), batch):
            k = min(batch, len(where[0]) - start)
            idx = rng.integers(0, len(c), size=(k, len(c)))
            out.append(np.asarray(per_cluster(i, c[idx]), dtype=float))
        if out:
            vals[where] = np.concatenate(out)
    stats = vals.mean(axis=1)
    stats = stats[np.isfinite(stats)]
    alpha = (1 - level) / 2
    lo, hi = float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))
    if hi - lo <= 0:  # identical replicates are not certainty: one step of the recorded fourth digit
        r = 10 ** (np.floor(np.log10(abs(value))) - 3) if value else 1e-4
        lo, hi = value - r, value + r
    lo, hi = min(lo, value), max(hi, value)
    return Measurement(value, lo, hi, n=m, unit=unit, n_unit=n_unit,
                       interval=f"two-level bootstrap (percentile): {n_unit}, then units within each")  # fmt: skip


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
