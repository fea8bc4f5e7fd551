"""Lexinvariant LMs at character level: per-position losses, an in-context counter, substitution ciphers and probes.

Paper: Huang, Zelikman, Chen, Wu, Valiant & Liang, *Lexinvariant Language Models*, NeurIPS 2023, arXiv:2305.16349v1.
A lexinvariant LM gives every lexical permutation of a sequence the same probability; the paper builds one by
replacing the token embeddings of a decoder-only Transformer with random Gaussian codes drawn afresh for every
sequence (the same token gets the same code within a sequence), used as input and output embeddings. The model
family (`shared.lm.family`, `embedding="random_codes"`) and the trainer (`shared.lm.trainer`) are the project's; this
module holds what is new here: the character stream, the per-position evaluation, the trivial lexinvariant predictor
(in-context counts), the cipher, the frequency-rank decipherer and the linear deciphering probe.

Deviations from the paper, on purpose:
- 2-layer, d = 64 Llamas trained for a few hundred steps on one CPU core (the paper: 150M parameters, 250K steps,
  JAX on TPUs); a 28-symbol character vocabulary (a-z, space, one id for everything else) from the project corpus'
  fortunes, lower-cased, instead of the paper's 130-token character vocabulary over The Pile; contexts of 128
  (default) and 256 (`full`) characters instead of up to 512.
- Deciphering is read out by a linear probe on the frozen model's hidden states (all layers), trained on enciphered
  training windows and evaluated on held-out windows under unseen ciphers; we could not read the paper's own
  deciphering read-out in full, so the decipher claim is labelled an analogue.
- The standard model is the same network with a fixed (tied) embedding table, trained on the same windows with the
  same seed and steps: equal compute.
"""

import math

import torch
from torch.nn import functional as F

from shared.lm.family import ModelSpec, make_model

CHARSET = "abcdefghijklmnopqrstuvwxyz "  # every other character maps to the id len(CHARSET)


def char_stream(texts, charset: str = CHARSET) -> torch.Tensor:
    """One id stream `[N]` of the documents joined by a space: lower-cased, whitespace runs collapsed to one space,
    characters outside `charset` mapped to the shared id `len(charset)`."""
    lut = {c: i for i, c in enumerate(charset)}
    other = len(charset)
    joined = " ".join(" ".join(t.lower().split()) for t in texts)
    return torch.tensor([lut.get(c, other) for c in joined], dtype=torch.long)


def windows(stream: torch.Tensor, n: int, length: int, seed: int) -> torch.Tensor:
    """`[n, length]` windows at seeded random offsets of `stream` `[N]`."""
    g = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, stream.numel() - length, (n,), generator=g)
    return torch.stack([stream[s : s + length] for s in starts.tolist()])


def random_ciphers(n: int, vocab: int, seed: int) -> torch.Tensor:
    """`[n, vocab]` independent random permutations of the ids: row i maps plaintext id v to cipher id perm[i, v]."""
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randperm(vocab, generator=g) for _ in range(n)])


def encipher(x: torch.Tensor, perms: torch.Tensor) -> torch.Tensor:
    """Substitute every id of window i by `perms[i, id]`: `[n, T]` -> `[n, T]`."""
    return perms.gather(1, x)


def make_lm(embedding: str, vocab: int, context: int, seed: int, hidden: int = 64, layers: int = 2,
            heads: int = 4):  # fmt: skip
    """A fresh family model: `embedding="standard"` (fixed table) or `"random_codes"` (lexinvariant)."""
    spec = ModelSpec(vocab_size=vocab, hidden_size=hidden, layers=layers, heads=heads, context=context,
                     embedding=embedding)  # fmt: skip
    return make_model(spec, seed=seed)


@torch.no_grad()
def position_losses(model, x: torch.Tensor, codes_seed: int = 0) -> torch.Tensor:
    """Next-token cross-entropy (nats) `[n, T - 1]` of windows `x` `[n, T]`; random-code models draw their codes
    from a generator seeded by `codes_seed` (fixed codes: the same evaluation on every machine)."""
    model.eval()
    g = torch.Generator().manual_seed(codes_seed)
    logits = model(input_ids=x[:, :-1], codes_generator=g).logits.float()  # [n, T-1, V]
    return F.cross_entropy(logits.transpose(1, 2), x[:, 1:], reduction="none")


def counter_losses(x: torch.Tensor, vocab: int, alpha: float = 0.5) -> torch.Tensor:
    """`[n, T - 1]` losses of the in-context counting predictor P(v) = (count_v + alpha) / (t + alpha V) over the
    tokens seen so far (Krichevsky-Trofimov at alpha = 1/2). It is lexinvariant (it never looks at which id a token
    is) and ignores order: the best a lexinvariant model can do on text whose characters were shuffled."""
    onehot = F.one_hot(x[:, :-1], vocab).double()  # [n, T-1, V]
    counts = onehot.cumsum(1)  # tokens 0..t
    seen = torch.arange(1, x.shape[1], dtype=torch.float64).unsqueeze(-1)  # [T-1, 1]
    probs = (counts + alpha) / (seen + alpha * vocab)
    return -probs.gather(-1, x[:, 1:].unsqueeze(-1)).squeeze(-1).log().float()


def perplexity_gap(loss_model: float, loss_reference: float) -> float:
    """The paper's gap: (ppl_model - ppl_reference) / ppl_reference = exp(loss difference) - 1 (0 = equal)."""
    return math.exp(loss_model - loss_reference) - 1.0


def ratio_of_means(pairs) -> float:
    """`mean(a) / mean(b)` over units given as `(a, b)` pairs; NaN when the denominator's mean is not positive."""
    a = sum(p[0] for p in pairs) / len(pairs)
    b = sum(p[1] for p in pairs) / len(pairs)
    return a / b if b > 0 else float("nan")


@torch.no_grad()
def hidden_features(model, x: torch.Tensor, codes_seed: int = 0) -> torch.Tensor:
    """The residual stream after every block, concatenated: `[n, T, layers * hidden]` (the input codes, which carry
    no identity, are left out)."""
    model.eval()
    g = torch.Generator().manual_seed(codes_seed)
    out = model(input_ids=x, codes_generator=g, output_hidden_states=True)
    return torch.cat([h.float() for h in out.hidden_states[1:]], dim=-1)


def train_probe(features: torch.Tensor, labels: torch.Tensor, vocab: int, steps: int = 300, lr: float = 0.05,
                seed: int = 0) -> torch.nn.Linear:  # fmt: skip
    """A linear read-out `features [M, D] -> labels [M]` (the plaintext id), full-batch Adam on standardised inputs
    folded into the layer; deterministic for a seed."""
    torch.manual_seed(seed)
    mu, sd = features.mean(0), features.std(0).clamp_min(1e-6)
    z = (features - mu) / sd
    probe = torch.nn.Linear(z.shape[1], vocab)
    opt = torch.optim.Adam(probe.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(probe(z), labels).backward()
        opt.step()
    with torch.no_grad():  # fold the standardisation in: probe(f) = W (f - mu) / sd + b
        w = probe.weight / sd
        folded = torch.nn.Linear(z.shape[1], vocab)
        folded.weight.copy_(w)
        folded.bias.copy_(probe.bias - w @ mu)
    return folded


def frequency_rank_decipher(cipher: torch.Tensor, plain_rank: torch.Tensor, vocab: int) -> torch.Tensor:
    """The trivial decipherer: at position t, rank the cipher ids by their count in tokens 0..t (ties: the lower id
    first) and read the k-th ranked id as the k-th most frequent plaintext id of the corpus.

    Args:
        cipher (torch.Tensor): `[n, T]` enciphered windows.
        plain_rank (torch.Tensor): `[vocab]` plaintext ids from the most to the least frequent in the corpus.

    Returns:
        torch.Tensor: `[n, T]` guessed plaintext id of every position's token.
    """
    counts = F.one_hot(cipher, vocab).cumsum(1)  # [n, T, V]
    # stable sort of -count: the rank of each cipher id at every position
    order = torch.sort(-counts, dim=-1, stable=True).indices  # [n, T, V]: ids by rank
    rank_of = torch.empty_like(order).scatter_(-1, order, torch.arange(vocab).expand_as(order))
    ranks = rank_of.gather(-1, cipher.unsqueeze(-1)).squeeze(-1)  # [n, T]
    return plain_rank[ranks]


def bin_mean(values: torch.Tensor, start: int, stop: int) -> float:
    """Mean of `values [n, T']` over windows and the positions `start..stop-1`."""
    return float(values[:, start:stop].mean())
