"""Rajaraman, Jiao & Ramchandran, *Toward a Theory of Tokenization in LLMs* (arXiv:2404.08335): k-th order Markov
sources, cross-entropy per character with and without tokenization, unigram models over tokens.

What is new here (tokenizers, compression and BPE training come from `shared.tokenization`; the transformer is a
`shared.lm.family` model trained by `shared.lm.trainer`):
- `SwitchingSource`: the binary k-th order "switching" source of Makkuva et al. (2024): the next bit differs from the
  bit k steps back with probability `p` (from 0) or `q` (from 1); its entropy rate and stationary law in closed form,
  and the empirical cross-entropy of the optimal predictor (`optimal_ce`);
- `encode_chunked`: a text encoded in fixed-size chunks;
- `unigram_ce_per_char`: the best unigram model over a tokenizer's tokens, fitted by counting, scored in bits per
  character (the paper's Sec. 4 object);
- `lm_spec` and `lm_train_config`: this replication's small causal transformer as a family member, and the shared
  trainer's settings for it; `matched_steps`: the steps that give a token model as many training characters as the
  character model's budget (issue 14: compare at equal characters, not equal steps); `bits_per_char`: a causal LM on
  characters or on tokens, scored in bits per character.

Deviations from the paper, on purpose:
- the transformers are much smaller and train for seconds (default) to minutes (`full`), not hours; the claim is read
  off at the end of a fixed budget, so "fails to learn" means "fails within this budget";
- the transformer is the shared family's Llama code path with learned positions, LayerNorm and a ReLU MLP (the
  closest member to a pre-norm `nn.TransformerEncoder`, which the earlier private model was): its linear layers have
  no biases, and its init is Llama's (normal, std 0.02, for the embeddings, attention projections and output layer;
  torch's default for the ReLU MLP); training is linear warmup + cosine (the shared trainer) instead of one-cycle
  (cosine warmup, cycled Adam beta1);
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

from shared.lm.family import ModelSpec
from shared.lm.trainer import TrainConfig
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


def lm_spec(vocab: int, ctx: int = 64, dim: int = 32, layers: int = 2, heads: int = 2) -> ModelSpec:
    """This replication's small causal transformer as a `shared.lm.family` member: learned absolute positions, pre-norm
    LayerNorm blocks (and a final LayerNorm), a 4x ReLU MLP, an untied output layer; `dim`-wide, `layers` deep.

    No special tokens: the streams here are all data (a pad id would freeze the embedding of token 0, the character
    "0", at zero; the family sets none by default since it was found to).
    """
    return ModelSpec(vocab_size=vocab, hidden_size=dim, layers=layers, heads=heads, mlp_ratio=4, context=ctx,
                     position="learned", norm="layer", mlp="relu", tie_embeddings=False,
                     special_ids={"bos_token_id": None, "eos_token_id": None, "pad_token_id": None})  # fmt: skip


def lm_train_config(steps: int, batch: int, ctx: int, lr: float, seed: int) -> TrainConfig:
    """The shared trainer's settings closest to the one-cycle AdamW recipe of the paper's transformers (and of the
    earlier private loop): linear warmup over the first 10% of the steps (one-cycle's `pct_start=0.1`), then cosine
    decay to zero (one-cycle ends at lr / 2.5e5), no weight decay, torch's AdamW betas (0.9, 0.999), no gradient
    clipping, one thread (d = 32 matrices are far too small to split across threads)."""
    return TrainConfig(steps=steps, batch_size=batch, seq_len=ctx, lr=lr, warmup=max(1, round(0.1 * steps)),
                       min_lr_ratio=0.0, weight_decay=0.0, betas=(0.9, 0.999), grad_clip=math.inf, seed=seed,
                       threads=1, eval_every=steps, log_every=steps)  # fmt: skip


def matched_steps(char_steps: int, chars_per_token: float) -> int:
    """Steps of a token-level model with the same batch and window as a character-level model trained `char_steps`
    steps, so that both see the same number of training characters (`char_steps` x batch x window): each token step
    covers `chars_per_token` times the characters of a character step. At least one step."""
    if chars_per_token < 1:
        raise ValueError(f"chars_per_token must be >= 1, got {chars_per_token}")
    return max(1, round(char_steps / chars_per_token))


@torch.no_grad()
def bits_per_char(model, ids: np.ndarray, n_chars: int, ctx: int) -> float:
    """Bits per character of a causal LM (anything returning `.logits`) over non-overlapping windows of `ids` (each
    window predicts its tokens 2..T+1); the characters are prorated to the tokens scored."""
    was_training = model.training
    model.eval()
    data = torch.as_tensor(ids, dtype=torch.long)
    n_win = (len(data) - 1) // ctx
    x = data[: n_win * ctx + 1]
    inp = x[:-1].reshape(n_win, ctx)
    tgt = x[1:].reshape(n_win, ctx)
    logits = model(input_ids=inp).logits
    nll = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), tgt.reshape(-1), reduction="sum")
    model.train(was_training)
    scored = n_win * ctx
    return float(nll / math.log(2) / (n_chars * scored / len(data)))
