"""Phan et al., *Exact Byte-Level Probabilities from Tokenized Language Models for FIM-Tasks and Model Ensembles*
(arXiv:2410.09303): tokenization bias, and its removal by summing over the token sequences that cover a prompt.

The cover sum itself (the Byte-Token Representation Lemma) lives in `shared.tokenization.byteprobs`; this module
holds what is particular to the paper's controlled experiment:
- `MarkovChain`: a first-order character Markov chain whose true next-character law is known;
- `NGramLM`: a count-based token n-gram with interpolated back-off, the "tokenized LM" trained on BPE tokens of the
  chain's output (cheap enough to be statistically close to the token process);
- `exact_next_char`: the paper's next-byte algorithm for a prompt: keep the prompt's tokens up to the last few, whose
  bytes are re-read through the cover sum.

Deviations from the paper, on purpose:
- the tokenized LM is a token 4-gram fitted by counting rather than a trained transformer (a transformer on this data
  is the `full`-profile kind of run we did not have time for); the bias and its removal are properties of the
  tokenizer and the conditioning, not of the network;
- the prompt's tokens before the last `backoff` tokens are kept fixed (the paper's practical algorithm also conditions
  on a settled prefix), so "exact" means exact given that prefix;
- the FIM coding benchmark and the model-ensemble experiments (needing large code LMs) are not run.
"""

from dataclasses import dataclass, field

import numpy as np

from shared.tokenization import ByteVocab, Tok, next_byte_distribution


@dataclass
class MarkovChain:
    """A first-order Markov chain over single-byte characters.

    Args:
        alphabet (str): the states, one character each. transition (np.ndarray): `[S, S]` row-stochastic.
    """

    alphabet: str
    transition: np.ndarray

    @classmethod
    def random(cls, alphabet: str, rng: np.random.Generator, concentration: float = 0.5) -> "MarkovChain":
        """Rows drawn from a Dirichlet(`concentration`): small values give peaked, strongly structured chains."""
        return cls(alphabet, rng.dirichlet(np.full(len(alphabet), concentration), size=len(alphabet)))

    def sample(self, n: int, rng: np.random.Generator) -> str:
        cum = np.cumsum(self.transition, axis=1)
        u = rng.random(n)
        s = np.empty(n, dtype=np.int64)
        s[0] = rng.integers(len(self.alphabet))
        for i in range(1, n):
            s[i] = min(np.searchsorted(cum[s[i - 1]], u[i], side="right"), len(self.alphabet) - 1)
        return "".join(self.alphabet[j] for j in s)

    def next_char(self, prompt: str) -> np.ndarray:
        """The true next-byte law `[256]` after `prompt` (depends on its last character only)."""
        out = np.zeros(256)
        row = self.transition[self.alphabet.index(prompt[-1])]
        for ch, p in zip(self.alphabet, row):
            out[ord(ch)] = p
        return out


@dataclass
class NGramLM:
    """A token n-gram with interpolated back-off: `p_n(t | h) = (c(h, t) + beta p_{n-1}(t | h')) / (c(h) + beta)`,
    down to a uniform distribution over the vocabulary; callable as `lm(context) -> [V]` float64.

    Args:
        order (int): n. vocab_size (int): V. beta (float): back-off weight (pseudo-counts).
    """

    order: int
    vocab_size: int
    beta: float = 1.0
    counts: list[dict] = field(default_factory=list)
    _cache: dict = field(default_factory=dict, repr=False)

    def fit(self, streams: list[list[int]]) -> "NGramLM":
        self.counts = [dict() for _ in range(self.order)]
        for ids in streams:
            for i, t in enumerate(ids):
                for n in range(self.order):
                    if i - n < 0:
                        break
                    h = tuple(ids[i - n : i])
                    row = self.counts[n].setdefault(h, np.zeros(self.vocab_size))
                    row[t] += 1
        self._cache = {}
        return self

    def __call__(self, context: tuple[int, ...]) -> np.ndarray:
        h = tuple(context[-(self.order - 1) :]) if self.order > 1 else ()
        if h not in self._cache:
            p = np.full(self.vocab_size, 1.0 / self.vocab_size)
            for n in range(len(h) + 1):
                row = self.counts[n].get(h[len(h) - n :])
                if row is not None:
                    p = (row + self.beta * p) / (row.sum() + self.beta)
            self._cache[h] = p
        return self._cache[h]


def exact_next_char(lm, vocab: ByteVocab, tok: Tok, prompt: str, backoff: int) -> np.ndarray:
    """Next-byte law `[256]` after `prompt`: its tokens but the last `backoff` stay fixed, the bytes of those last
    tokens go through the cover sum. For an `NGramLM`, paths are merged by the n-gram's context (exact)."""
    ids = tok.encode(prompt)
    keep = max(len(ids) - backoff, 0)
    tail = tok.decode_bytes(ids[keep:])
    state = None
    if isinstance(lm, NGramLM):
        n = lm.order - 1
        state = (lambda c: c[len(c) - n :]) if n > 0 else (lambda c: ())
    dist, _ = next_byte_distribution(lm, vocab, tail, tuple(ids[:keep]), state=state)
    return dist


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    return float(0.5 * np.abs(p - q).sum())


def brute_force_prefix_probs(lm, token_bytes: list[bytes], n: int) -> dict[bytes, float]:
    """`P(output starts with s)` for every `s` of `n` bytes, by enumerating all token sequences of length `n`
    (each spells at least `n` bytes, and their probabilities sum to 1). `V^n` sequences: small cases only."""
    out: dict[bytes, float] = {}
    stack = [((), b"", 1.0)]
    while stack:
        ctx, text, p = stack.pop()
        if len(ctx) == n:
            out[text[:n]] = out.get(text[:n], 0.0) + p
            continue
        probs = lm(ctx)
        for t, b in enumerate(token_bytes):
            stack.append((ctx + (t,), text + b, p * probs[t]))
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Fill-in-the-middle with a real code LM (Qwen2.5-Coder): the prefix is cut inside a token
# ---------------------------------------------------------------------------------------------------------------------


class CallBudget(RuntimeError):
    """A cover search needed more forward passes than allowed: prune harder."""


class CachedLM:
    """`lm(context) -> [V]` float64 next-token probabilities of a causal LM, for contexts that extend a fixed `base`.

    The base is run once (its KV cache kept); each query runs only its extra tokens on that cache and crops them off
    again, and every prefix of the query is memoised, so the cover search pays one short forward pass per new path.

    Args:
        model: a transformers causal LM. base (Sequence[int]): the fixed prompt tokens.
    """

    def __init__(self, model, base, max_calls: int | None = None):
        import torch

        self.model, self.base, self.max_calls = model, tuple(int(t) for t in base), max_calls
        self.memo: dict[tuple[int, ...], np.ndarray] = {}
        self.calls = 0
        with torch.no_grad():
            out = model(torch.tensor([self.base]), use_cache=True)
        self.cache = out.past_key_values
        self.memo[self.base] = self._probs(out.logits[0, -1])

    @staticmethod
    def _probs(logits) -> np.ndarray:
        import torch

        return torch.softmax(logits.double(), dim=-1).numpy()

    def __call__(self, context) -> np.ndarray:
        import torch

        ctx = tuple(int(t) for t in context)
        if ctx in self.memo:
            return self.memo[ctx]
        n = len(self.base)
        if ctx[:n] != self.base:
            raise ValueError("CachedLM only answers contexts that extend its base prompt")
        ext = ctx[n:]
        if self.max_calls is not None and self.calls >= self.max_calls:
            raise CallBudget(f"more than {self.max_calls} forward passes")
        self.calls += 1
        with torch.no_grad():
            out = self.model(torch.tensor([ext]), past_key_values=self.cache, use_cache=True)
        self.cache.crop(-len(ext))
        for i in range(len(ext)):
            self.memo.setdefault(ctx[: n + i + 1], self._probs(out.logits[0, i]))
        return self.memo[ctx]


@dataclass
class FIMCase:
    """One fill-in-the-middle prompt cut inside a token.

    `prefix`/`suffix` are the visible code (bytes), the hidden middle starts at the cut; `rest` is the rest of the
    token the cut went through (the bytes the middle must start with to repair it)."""

    task: str
    prefix: bytes
    suffix: bytes
    rest: bytes


def fim_case(task: str, code: str, start: int, rng: np.random.Generator, tok: Tok, mid_len: tuple[int, int],
             prefix_bytes: int, suffix_bytes: int) -> FIMCase:  # fmt: skip
    """Cut `code` at a random byte inside a token of its own tokenization, at or after byte `start`.

    The middle is `mid_len` bytes (uniform in `[low, high]`); the visible prefix keeps at most `prefix_bytes` bytes
    before the cut and the suffix at most `suffix_bytes` after the middle, both trimmed to whole lines."""
    data = code.encode()
    ends = np.cumsum([len(tok.token_bytes[i]) for i in tok.encode(code)])
    starts = np.concatenate([[0], ends[:-1]])
    cuts = []
    for a, b in zip(starts, ends):
        for p in range(max(a + 1, start), b):
            try:
                data[:p].decode()
            except UnicodeDecodeError:
                continue
            cuts.append((p, b))
    p, b = cuts[int(rng.integers(len(cuts)))]
    m = int(rng.integers(mid_len[0], mid_len[1] + 1))
    lo = data.find(b"\n", max(p - prefix_bytes, 0) - 1) + 1 if p > prefix_bytes else 0
    lo = min(lo, data.rfind(b"\n", 0, p) + 1)
    hi = data.rfind(b"\n", p + m, p + m + suffix_bytes) + 1 if len(data) > p + m + suffix_bytes else len(data)
    hi = max(hi, min(p + m, len(data)))
    return FIMCase(task, data[lo:p], data[min(p + m, len(data)) : hi], data[p:b])


def fim_tokens(tok: Tok, prefix_ids, suffix: bytes, special: dict[str, int]) -> tuple[int, ...]:
    """Qwen2.5-Coder's PSM prompt `<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>` with the prefix given as tokens."""
    return (special["prefix"], *prefix_ids, special["suffix"], *tok.encode(suffix.decode()), special["middle"])


def pruned_prefix_probability(lm, vocab: ByteVocab, s: bytes, context, min_p: float) -> tuple[float, float]:
    """`P(output starts with s | context)` by the cover sum, skipping the paths whose probability falls below `min_p`.

    A skipped path can add at most its own probability, so the true value lies in `[value, value + dropped]`
    (`min_p = 0` is the exact `shared.tokenization.prefix_probability`). With a transformer every path costs a
    forward pass, and the non-canonical tokenizations of a long tail are many and improbable: pruning them keeps the
    search to a few calls with a stated error bound.

    Returns:
        tuple[float, float]: the value and the dropped mass (an upper bound on the error).
    """
    if not s:
        return 1.0, 0.0
    total, dropped = 0.0, 0.0
    stack = [(0, tuple(context), 1.0)]
    while stack:
        pos, ctx, p = stack.pop()
        if p < min_p:
            dropped += p
            continue
        probs = lm(ctx)
        rest = s[pos:]
        total += p * probs[vocab.starting_with(rest)].sum()
        for tid, n in vocab.prefixes_of(rest):
            if n < len(rest):
                stack.append((pos + n, ctx + (tid,), p * probs[tid]))
    return float(total), float(dropped)


def healed_prefix_probability(lm, vocab: ByteVocab, head: bytes, s: bytes, context, min_p: float = 0.0
                              ) -> tuple[float, float]:  # fmt: skip
    """Token healing: `P(output starts with head + s | first token starts with head)`, the first token restricted to
    the tokens that extend `head` (the removed last token's bytes), the rest of `s` by the (pruned) cover sum.

    Returns:
        tuple[float, float]: the value and an upper bound on its error from pruning.
    """
    full = head + s
    probs = lm(context)
    den = probs[vocab.starting_with(head)].sum()
    num, dropped = probs[vocab.starting_with(full)].sum(), 0.0
    for tid, n in vocab.prefixes_of(full):
        if len(head) <= n < len(full):
            v, d = pruned_prefix_probability(lm, vocab, full[n:], tuple(context) + (tid,), min_p / probs[tid])
            num, dropped = num + probs[tid] * v, dropped + probs[tid] * d
    return float(num / den), float(dropped / den)


def fim_probabilities(model, tok: Tok, vocab: ByteVocab, case: FIMCase, special: dict[str, int],
                      min_p: float = 1e-7, max_calls: int = 40) -> dict:  # fmt: skip
    """The probability that the middle repairs the cut token (starts with `case.rest`), three ways, and the clean-split
    check.

    - `standard`: the prompt with the whole cut prefix; the middle's bytes by the cover sum over its tokens;
    - `exact`: the prefix's last token (the tail) moved out of the prompt; `P(middle starts with tail + rest) /
      P(middle starts with tail)` by the Byte-Token Representation Lemma (cover sums over every tokenization of the
      tail), i.e. the byte-level conditional of the model's middle;
    - `healing`: the same prompt, the first token of the middle restricted to the tokens that extend the tail;
    - `clean`: `P(middle starts with tail + rest)` from that prompt, cut at the clean token boundary before the tail:
      does the model predict the cut token at all when nothing is cut.
    Cover sums skip paths below `min_p` (raised 10x until each prompt's searches fit in `max_calls` new forward
    passes per prompt); `bound` is the largest resulting error bound of the four numbers, `min_p` the threshold used.
    """
    pre = tok.encode(case.prefix.decode())
    tail = tok.token_bytes[pre[-1]]
    std_ctx = fim_tokens(tok, pre, case.suffix, special)
    set_ctx = fim_tokens(tok, pre[:-1], case.suffix, special)
    lm_std, lm_set = CachedLM(model, std_ctx), CachedLM(model, set_ctx)
    while True:
        lm_std.max_calls = lm_set.max_calls = max_calls  # budgets per pass; the memo is kept across passes
        lm_std.calls = lm_set.calls = 0
        try:
            standard, d_std = pruned_prefix_probability(lm_std, vocab, case.rest, std_ctx, min_p)
            clean, d_clean = pruned_prefix_probability(lm_set, vocab, tail + case.rest, set_ctx, min_p)
            tail_p, d_tail = pruned_prefix_probability(lm_set, vocab, tail, set_ctx, min_p)
            healing, d_heal = healed_prefix_probability(lm_set, vocab, tail, case.rest, set_ctx, min_p)
            break
        except CallBudget:
            min_p *= 10
    exact = clean / tail_p
    # exact lies in [clean / (tail_p + d_tail), (clean + d_clean) / tail_p]
    d_exact = max(exact - clean / (tail_p + d_tail), (clean + d_clean) / tail_p - exact)
    return {"task": case.task, "tail": tail, "rest": case.rest, "standard": standard, "exact": min(exact, 1.0),
            "healing": healing, "clean": clean, "bound": max(d_std, d_exact, d_heal, d_clean), "min_p": min_p,
            "prompt_tokens": len(std_ctx), "lm_memo": len(lm_std.memo) + len(lm_set.memo)}  # fmt: skip
