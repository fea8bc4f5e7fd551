"""
StochasTok, after Sims et al., "StochasTok: Improving Fine-Grained Subword Understanding in LLMs" (arXiv:2506.01687):
pretrain with tokens randomly split into vocabulary pairs, then finetune on a language game and evaluate with the
canonical tokenization.

The expansion itself (split table, reference and fast path) is `shared.tokenization.stochastok`; this module holds the
experiment around it:
- `corpus`, `encode_docs`: the pretraining text (project corpora) as one token stream, documents joined by newlines;
- `game_words`, `spelling_game`: the language game, "spell the word" (` cat = c a t`), on words of the corpus, with
  held-out words whose every token the finetuning set never shows inside a game word;
- `make_model`, `pretrain`, `finetune`: a tiny Llama-style causal LM (transformers), pretrained with the shared trainer
  (`shared.lm.trainer`), finetuned on the game with the loss on the answer only;
- `exact_match`, `nats_per_byte`: accuracy on held-out words, language-model loss per byte of text;
- `chunk_nats`, `constant_guess_hits`: the same quantities per unit (held-out text windows, game examples) for the
  intervals, and the answer-frequency floor of the games.

Deviations from the paper, on purpose:
- tiny models (width 64-128, 2-4 layers) pretrained for seconds to minutes on ~10 MB of English (KJV, fortunes,
  WordNet glosses) with a 1,024-token byte-level BPE, instead of ~50M-parameter models on OpenWebText with GPT-2's
  tokenizer; so the absolute accuracies are not comparable, only the with/without-StochasTok contrast;
- one language game (spelling, scored by exact match of the whole answer under teacher forcing, which equals greedy
  decoding's exact match) instead of the paper's LangGame suite of multiple-choice questions;
- the training stream is expanded once, as one sequence (the official code expands each document), with the paper's
  default `p = 0.1`; held-out text is never expanded except where the robustness claim asks for it.
"""

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from shared.tokenization import Tok

SEP = "\n"  # joins documents in the pretraining stream and ends each game line


def corpus(names: Sequence[str], max_chars: int) -> list[str]:
    """Documents of the named `shared.data` text corpora, interleaved (one of each in turn) up to `max_chars` in all,
    so a small budget still mixes prose styles."""
    from shared.data import load_text

    columns = [[t.strip() for t in load_text(n)["text"] if t and t.strip()] for n in names]
    out, total = [], 0
    for i in range(max(len(c) for c in columns)):
        for col in columns:
            if i < len(col) and total < max_chars:
                out.append(col[i].replace(SEP, " "))
                total += len(out[-1])
    return out


def encode_docs(tok: Tok, docs: Iterable[str]) -> np.ndarray:
    """One canonical token stream `[N]` int64: the documents, each followed by the newline token."""
    sep = tok.encode(SEP)
    ids = []
    for enc in tok.encode_batch(list(docs)):
        ids += enc + sep
    return np.asarray(ids, dtype=np.int64)


def game_words(docs: Iterable[str], n: int, min_len: int = 4, max_len: int = 9) -> list[str]:
    """The `n` most frequent lowercase alphabetic words of `docs` with `min_len..max_len` letters (ties by word)."""
    counts = Counter(w for d in docs for w in re.findall(r"\b[a-z]+\b", d) if min_len <= len(w) <= max_len)
    return [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


GAMES = {
    # name: (the question after the word, the answer's letters)
    "first": ("first", lambda w: w[0]),
    "last": ("last", lambda w: w[-1]),
    "spell": ("spell", lambda w: w),
}


@dataclass
class Game:
    """Examples of language games as prompt and answer ids (canonical tokenization); `task[i]` names the game."""

    words: list[str]
    task: list[str]
    prompts: list[list[int]]
    answers: list[list[int]]

    def __len__(self) -> int:
        return len(self.words)


def language_games(tok: Tok, words: Sequence[str], games: Sequence[str]) -> Game:
    """Every word under every game: `" water spell ="` -> `" w a t e r\n"` (the word as it appears in running text,
    with its leading space, then the answer one letter per token)."""
    rows = [(w, g) for g in games for w in words]
    prompts = [tok.encode(f" {w} {GAMES[g][0]} =") for w, g in rows]
    answers = [tok.encode("".join(f" {c}" for c in GAMES[g][1](w)) + SEP) for w, g in rows]
    return Game([w for w, _ in rows], [g for _, g in rows], prompts, answers)


def split_words(words: Sequence[str], n_test: int, seed: int) -> tuple[list[str], list[str]]:
    """Finetuning words and `n_test` held-out words, drawn at random."""
    order = np.random.default_rng(seed).permutation(len(words))
    return [words[i] for i in order[n_test:]], [words[i] for i in order[:n_test]]


def make_model(vocab_size: int, dim: int, layers: int, heads: int, ctx: int, seed: int):
    """A seeded `LlamaForCausalLM` (RoPE, RMSNorm, SwiGLU, tied embeddings), MLP width 4 x `dim`."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=dim, num_hidden_layers=layers, num_attention_heads=heads,
                      num_key_value_heads=heads, intermediate_size=4 * dim, max_position_embeddings=ctx,
                      tie_word_embeddings=True, rms_norm_eps=1e-5, bos_token_id=None, eos_token_id=None,
                      pad_token_id=None)  # fmt: skip
    return LlamaForCausalLM(cfg)


def pretrain(model, stream: np.ndarray, steps: int, batch: int, ctx: int, lr: float, seed: int):
    """Next-token pretraining on random windows of `stream` `[N]` with the shared trainer; returns its `TrainResult`."""
    from shared.lm.trainer import TrainConfig, train

    cfg = TrainConfig(steps=steps, batch_size=batch, seq_len=ctx, lr=lr, warmup=max(1, steps // 10), seed=seed,
                      log_every=max(1, steps), eval_every=10**9)  # fmt: skip
    return train(model, torch.from_numpy(stream), cfg, log=None)


def byte_matched_steps(steps: int, canonical_tokens: int, arm_tokens: int) -> int:
    """Pretraining steps for an arm whose stream tokenizes the same bytes as the canonical stream in `arm_tokens`
    tokens, so that it sees as many bytes as `steps` steps of canonical windows (random windows of a fixed number of
    tokens carry `bytes / tokens` bytes per token in expectation): `round(steps * arm_tokens / canonical_tokens)`."""
    return int(round(steps * arm_tokens / canonical_tokens))


def _pad(game: Game, idx: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs `[B, T]` (prompt + answer, right-padded with 0) and targets `[B, T]` (next answer token where the
    answer is predicted, -100 elsewhere)."""
    seqs = [game.prompts[i] + game.answers[i] for i in idx]
    T = max(len(s) for s in seqs) - 1
    x = torch.zeros(len(idx), T, dtype=torch.long)
    y = torch.full((len(idx), T), -100, dtype=torch.long)
    for r, i in enumerate(idx):
        s, p = seqs[r], len(game.prompts[i])
        x[r, : len(s) - 1] = torch.tensor(s[:-1])
        y[r, p - 1 : len(s) - 1] = torch.tensor(s[p:])
    return x, y


def finetune(model, game: Game, steps: int, batch: int, lr: float, seed: int) -> list[float]:
    """The shared trainer on the game's answers (prompt tokens carry no loss): AdamW (PyTorch's betas, no weight
    decay), constant `lr`, clipping at 1; returns the loss per step."""
    from shared.lm.trainer import TrainConfig, train

    def answers(step, gen):
        idx = torch.randint(0, len(game), (batch,), generator=gen).tolist()
        x, y = _pad(game, idx)
        return {"input_ids": x, "targets": y}

    cfg = TrainConfig(steps=steps, batch_size=batch, lr=lr, warmup=0, schedule="constant", weight_decay=0.0,
                      betas=(0.9, 0.999), grad_clip=1.0, seed=seed, log_every=steps)  # fmt: skip
    losses = []
    train(model, None, cfg, batches=answers, callback=lambda step, row: losses.append(row["loss"]), log=None)
    return losses


@torch.no_grad()
def exact_match(model, game: Game, batch: int = 256) -> np.ndarray:
    """`[n]` bool: every answer token is the argmax given the prompt and the answer so far (teacher forcing). Equal
    to exact match of greedy decoding: greedy decoding reproduces the answer iff no argmax along it is wrong."""
    model.eval()
    out = []
    for lo in range(0, len(game), batch):
        idx = list(range(lo, min(lo + batch, len(game))))
        x, y = _pad(game, idx)
        pred = model(input_ids=x).logits.argmax(-1)  # [B, T]
        out.append(((pred == y) | (y == -100)).all(dim=1).numpy())
    return np.concatenate(out)


@torch.no_grad()
def token_nats(model, stream: np.ndarray, ctx: int) -> np.ndarray:
    """`[n_win * ctx]` float64: the next-token loss in nats of tokens `1 .. n_win * ctx` of `stream` `[N]`, scored in
    consecutive windows of `ctx` tokens (window `k` reads tokens `k * ctx ..` and predicts `k * ctx + 1 ..`)."""
    model.eval()
    n_win = (len(stream) - 1) // ctx
    x = torch.from_numpy(stream[: n_win * ctx + 1])
    out = []
    for lo in range(0, n_win, 64):
        w = torch.arange(lo, min(n_win, lo + 64))[:, None] * ctx + torch.arange(ctx)  # [b, ctx] positions
        logits = model(input_ids=x[w]).logits  # [b, ctx, V]
        nats = torch.nn.functional.cross_entropy(logits.flatten(0, 1), x[w + 1].flatten(), reduction="none")
        out.append(nats.double().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def nats_per_byte(model, stream: np.ndarray, token_len: np.ndarray, ctx: int) -> float:
    """Next-token loss of `model` over `stream` `[N]`, cut into consecutive windows of `ctx` tokens (each scored from
    its second token), in nats per byte of the scored tokens, so that tokenizations of one text compare.

    Args:
        token_len (np.ndarray): `[V]` bytes each token spells.
    """
    nats = token_nats(model, stream, ctx)
    return float(nats.sum() / token_len[stream[1 : len(nats) + 1]].sum())


def chunk_nats(model, stream: np.ndarray, ref_stream: np.ndarray, token_len: np.ndarray,
               ctx: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The loss of `model` on `stream`, gathered into the scoring windows of `ref_stream`: held-out text as units.

    `stream` is a tokenization of the same bytes as `ref_stream` (itself, or its StochasTok expansion, whose token
    boundaries include all of `ref_stream`'s). Chunk `k` is the bytes of `ref_stream`'s tokens `k * ctx + 1 ..
    (k + 1) * ctx`; each scored token of `stream` (as in `token_nats`) counts in the chunk where its bytes start.

    Returns:
        (np.ndarray, np.ndarray): `[n_chunks]` nats and bytes of the scored tokens of `stream` in each chunk; with
        `stream` = `ref_stream`, the per-window terms of `nats_per_byte`.
    """
    nats = token_nats(model, stream, ctx)
    lens = token_len[stream]
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])  # first byte of every token of `stream`
    ref_lens = token_len[ref_stream]
    ref_starts = np.concatenate([[0], np.cumsum(ref_lens)[:-1]])
    n_chunks = (len(ref_stream) - 1) // ctx
    edges = ref_starts[1 + ctx * np.arange(n_chunks)]  # first byte of every chunk
    end = ref_starts[n_chunks * ctx] + ref_lens[n_chunks * ctx]  # one past the last byte of the last chunk
    first, size = starts[1 : len(nats) + 1], lens[1 : len(nats) + 1]  # the scored tokens of `stream`
    keep = (first >= edges[0]) & (first < end)
    chunk = np.searchsorted(edges, first[keep], side="right") - 1
    return (np.bincount(chunk, weights=nats[keep], minlength=n_chunks),
            np.bincount(chunk, weights=size[keep].astype(float), minlength=n_chunks))  # fmt: skip


def constant_guess_hits(fit: Game, test: Game) -> np.ndarray:
    """`[len(test)]` bool: whether the most frequent answer of each game among the finetuning examples is right on
    each held-out example (the floor a model reaches by learning answer frequencies only: letter frequencies for
    `first` and `last`, nothing for `spell` on unseen words)."""
    best = {}
    for g in set(fit.task):
        counts = Counter(tuple(a) for a, t in zip(fit.answers, fit.task) if t == g)
        best[g] = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return np.array([tuple(a) == best.get(t) for a, t in zip(test.answers, test.task)], dtype=bool)


@torch.no_grad()
def greedy(model, prompt: Sequence[int], n: int) -> list[int]:
    """`n` greedily decoded tokens after `prompt` (no cache: for checks on a few examples only)."""
    ids = list(prompt)
    for _ in range(n):
        ids.append(int(model(input_ids=torch.tensor([ids])).logits[0, -1].argmax()))
    return ids[len(prompt) :]
