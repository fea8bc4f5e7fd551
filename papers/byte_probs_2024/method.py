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
