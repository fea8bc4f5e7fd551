"""Rajaraman, Jiao & Ramchandran, *Toward a Theory of Tokenization in LLMs* (arXiv:2404.08335): k-th order Markov
sources, cross-entropy per character with and without tokenization, unigram models over tokens.

What is new here (tokenizers, compression and BPE training come from `shared.tokenization`):
- `SwitchingSource`: the binary k-th order "switching" source of Makkuva et al. (2024): the next bit differs from the
  bit k steps back with probability `p` (from 0) or `q` (from 1); its entropy rate and stationary law in closed form;
- `unigram_ce_per_char`: the best unigram model over a tokenizer's tokens, fitted by counting, scored in bits per
  character (the paper's Sec. 4 object);
- `TinyLM` and `train_lm`: a small causal transformer trained on characters or on tokens, scored in bits per character.

Deviations from the paper, on purpose:
- the transformers are much smaller and train for seconds (default) to minutes (`full`), not hours; the claim is read
  off at the end of a fixed budget, so "fails to learn" means "fails within this budget";
- BPE is HF `tokenizers`' trainer on chunks of 64 characters (no pre-tokenizer); the test string is encoded in chunks
  of 256 characters, so a token never spans a chunk boundary (a negligible loss of compression);
- the unigram model is fitted on the training split and scored on a held-out split (add-one smoothing), rather than
  being the population optimum of the theory.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from shared.tokenization import Tok


def binary_entropy(p: float) -> float:
    """H(p) in bits."""
    return 0.0 if p in (0.0, 1.0) else -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


@dataclass(frozen=True)
class SwitchingSource:
    """x_n = x_{n-k} flipped with probability `p` when x_{n-k} = 0 and `q` when it is 1 (Makkuva et al. 2024).

    Each of the k interleaved subsequences x_{j}, x_{j+k}, ... is a first-order chain with transition probabilities
    (p, q), so the stationary law is (q, p) / (p + q) and the entropy rate is pi_0 H(p) + pi_1 H(q).
    """

    k: int
    p: float
    q: float

    @property
    def stationary(self) -> tuple[float, float]:
        return self.q / (self.p + self.q), self.p / (self.p + self.q)

    @property
    def entropy_rate(self) -> float:
        """Bits per character of the optimal predictor."""
        pi0, pi1 = self.stationary
        return pi0 * binary_entropy(self.p) + pi1 * binary_entropy(self.q)

    @property
    def unigram_entropy(self) -> float:
        """Bits per character of the best character-level unigram predictor, H(pi)."""
        return binary_entropy(self.stationary[1])

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`[n]` uint8 bits; the first k drawn from the stationary law."""
        x = np.empty(n, dtype=np.uint8)
        x[: self.k] = rng.random(self.k) < self.stationary[1]
        u = rng.random(n)
        for i in range(self.k, n):
            prev = x[i - self.k]
            x[i] = (1 - prev) if u[i] < (self.q if prev else self.p) else prev
        return x

    def optimal_ce(self, x: np.ndarray) -> float:
        """Empirical bits per character of the true conditional law on `x` (after its first k characters)."""
        prev, cur = x[: -self.k].astype(bool), x[self.k :].astype(bool)
        flip = prev != cur
        p_flip = np.where(prev, self.q, self.p)
        return float(-np.log2(np.where(flip, p_flip, 1 - p_flip)).mean())


def to_text(bits: np.ndarray) -> str:
    return bits.astype(np.uint8).tobytes().translate(bytes.maketrans(b"\x00\x01", b"01")).decode()


def chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def encode_chunked(tok: Tok, text: str, size: int = 256) -> list[int]:
    """Token ids of `text`, encoded in `size`-character chunks (concatenated)."""
    return [i for ids in tok.encode_batch(chunks(text, size)) for i in ids]


def unigram_ce_per_char(train_ids: list[int], test_ids: list[int], n_chars: int, vocab_size: int) -> float:
    """Bits per character of the unigram model over tokens fitted on `train_ids` (add-one smoothing), on `test_ids`
    that spell `n_chars` characters."""
    counts = np.bincount(np.asarray(train_ids), minlength=vocab_size).astype(float) + 1.0
    logp = np.log2(counts / counts.sum())
    return float(-logp[np.asarray(test_ids)].sum() / n_chars)


class TinyLM(nn.Module):
    """A pre-norm causal transformer with learned positions.

    Args:
        vocab (int): V. dim (int): D. layers (int), heads (int). ctx (int): T, the longest input.
    """

    def __init__(self, vocab: int, dim: int = 32, layers: int = 2, heads: int = 2, ctx: int = 128):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.zeros(ctx, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)
        nn.init.normal_(self.pos, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x `[B, T]` int64 -> logits `[B, T, V]`."""
        T = x.shape[1]
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        h = self.blocks(self.embed(x) + self.pos[:T], mask=mask, is_causal=True)
        return self.head(self.norm(h))


def train_lm(train_ids: np.ndarray, test_ids: np.ndarray, test_chars: int, vocab: int, steps: int, seed: int,
             ctx: int = 64, batch: int = 32, dim: int = 32, layers: int = 2, lr: float = 3e-3,
             eval_every: int = 0) -> tuple[float, list[dict]]:  # fmt: skip
    """Train a `TinyLM` on windows of a token (or character) stream; score it in bits per character.

    Args:
        train_ids, test_ids (np.ndarray): `[N]` int64 streams. test_chars (int): characters `test_ids` spell.
        steps (int): AdamW steps (cosine decay). eval_every (int): log the test score every so many steps (0: never).

    Returns:
        tuple[float, list[dict]]: final test bits per character, and the `{"step", "bits_per_char"}` log.
    """
    # d = 32 matrices are far too small to split across threads: one thread is faster, and immune to the stalls of
    # oversubscribed cores (restored afterwards)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train_lm(train_ids, test_ids, test_chars, vocab, steps, seed, ctx, batch, dim, layers, lr, eval_every)
    finally:
        torch.set_num_threads(threads)


def _train_lm(train_ids, test_ids, test_chars, vocab, steps, seed, ctx, batch, dim, layers, lr, eval_every):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = TinyLM(vocab, dim, layers, 2, ctx)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    data = torch.as_tensor(train_ids, dtype=torch.long)
    log = []
    for step in range(1, steps + 1):
        starts = torch.randint(0, len(data) - ctx - 1, (batch,), generator=g)
        x = torch.stack([data[s : s + ctx + 1] for s in starts.tolist()])  # [B, T + 1]
        loss = nn.functional.cross_entropy(model(x[:, :-1]).reshape(-1, vocab), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if eval_every and (step % eval_every == 0 or step == steps):
            log.append({"step": step, "bits_per_char": evaluate(model, test_ids, test_chars, ctx)})
    final = log[-1]["bits_per_char"] if log else evaluate(model, test_ids, test_chars, ctx)
    return final, log


@torch.no_grad()
def evaluate(model: TinyLM, ids: np.ndarray, n_chars: int, ctx: int) -> float:
    """Bits per character over non-overlapping windows of `ids` (each window predicts its tokens 2..T+1);
    the characters are prorated to the tokens scored."""
    data = torch.as_tensor(ids, dtype=torch.long)
    n_win = (len(data) - 1) // ctx
    x = data[: n_win * ctx + 1]
    inp = x[:-1].reshape(n_win, ctx)
    tgt = x[1:].reshape(n_win, ctx)
    nll = nn.functional.cross_entropy(model(inp).reshape(-1, model.head.out_features), tgt.reshape(-1), reduction="sum")
    scored = n_win * ctx
    return float(nll / math.log(2) / (n_chars * scored / len(data)))
