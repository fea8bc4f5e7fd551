"""Word-pooled tokenization (Thawani, Ghanekar, Zhu & Pujara 2023, "Learn Your Tokens", arXiv:2310.11628) at tiny
scale: what is new for this paper only.

The word-pooled model is `shared.lm.hierarchy.ChunkedByteLM` with the `space` router (a byte encoder, pooled at word
boundaries, a word-level transformer, a byte decoder); its content-blind control is the same network with the
`stride` router; the BPE and byte baselines are `shared.lm.family` transformers; all training is
`shared.lm.trainer`. The BPE trainer is `shared.lm.bpe`. Here:

- `WordEndLM`: the word-pooled model: a `ChunkedByteLM` whose chunks start *at* each delimiter (space or newline)
  rather than after it, so the pooled state of a word (the encoder's state at its delimiter) has read the whole word,
  and the main network's state for words 1..i reaches the delimiter and every byte of word i + 1: the next word is
  decoded from the word-level model's view of the whole previous word, as in the paper (the engine's `space` router
  pools at the byte after the delimiter, so the first byte of a word would see the main network only up to the first
  byte of the previous word);
- `kjv_docs`: the King James Bible verses, split into training and held-out verses by a hash of the verse id (1 in 10
  held out: every profile and seed holds out the same verses);
- `words`, `word_counts`: whitespace-delimited words (punctuation stays attached, as in the paper's word splitting)
  and their training-corpus frequencies, for the frequency buckets;
- `eval_positions`: the next-word test set: positions in the held-out text where a word starts, with the frequency of
  that word in the training text; a fixed random sample of all such positions plus one of the rare ones;
- `greedy_continue`: greedy decoding of a batch of equal-length contexts (any causal LM returning `.logits`);
- `first_word`: the first complete whitespace-delimited word of a continuation (None if none completed);
- `next_word_hits`: exact-match next-word prediction of a byte-level model (context: the text up to the end of the
  previous word) and of a BPE model (context: the BPE ids up to the same byte offset);
- `unigram_hits`: the most-frequent-training-word predictor (the trivial floor).

The compute formulas and the token LM's bits per byte are `papers.hnet_2025.method`'s (imported, see the README).
"""

import hashlib
import re
from collections import Counter

import numpy as np
import torch

from shared.lm import hierarchy as H


class WordEndLM(H.ChunkedByteLM):
    """`ChunkedByteLM` (router `space`) with chunks that start at each delimiter (`word_end_starts`): everything
    else (encoder, main network, upsampling, decoder, loss) is the engine's."""

    def route(self, ids: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        starts = word_end_starts(ids, self.spec.space_ids)
        return starts, starts.to(h.dtype)


def word_end_starts(ids: torch.Tensor, space_ids: tuple[int, ...]) -> torch.Tensor:
    """`[B, T]` bool: a chunk starts at position 0 and at every delimiter (a byte in `space_ids`)."""
    starts = torch.isin(ids, torch.tensor(space_ids, device=ids.device))
    starts[:, 0] = True
    return starts


def make_word_end(spec, seed: int = 0):
    """A freshly initialised `WordEndLM` (seeded as `shared.lm.hierarchy.make_chunked`); `spec.router` must be
    `space` (its `space_ids` are the delimiters)."""
    if spec.router != "space":
        raise ValueError(f"the word-pooled model needs router 'space', got {spec.router!r}")
    torch.manual_seed(seed)
    return WordEndLM(spec)


WORD = re.compile(rb"\S+")
FIRST_WORD = re.compile(rb"\s*(\S+)\s")


def _held_out(key: str) -> bool:
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % 10 == 0


def kjv_docs(max_train_bytes: int, max_held_bytes: int) -> tuple[list[str], list[str]]:
    """`(training verses, held-out verses)` of the KJV in canonical order, each list cut at about its byte budget; a
    verse is held out by a hash of its id (1 in 10)."""
    from shared.data.loaders import data_path, read_jsonl

    train, held, n_train, n_held = [], [], 0, 0
    for row in read_jsonl(data_path("text/kjv/verses.jsonl")):
        size = len(row["text"].encode("utf-8")) + 1
        if _held_out(f"kjv:{row['id']}"):
            if n_held < max_held_bytes:
                held.append(row["text"])
                n_held += size
        elif n_train < max_train_bytes:
            train.append(row["text"])
            n_train += size
        if n_train >= max_train_bytes and n_held >= max_held_bytes:
            break
    return train, held


def text_bytes(docs: list[str]) -> bytes:
    """The documents as one UTF-8 text, one per line (each followed by a newline)."""
    return "".join(d + "\n" for d in docs).encode("utf-8")


def words(text: bytes) -> list[tuple[int, int]]:
    """`(start, end)` byte offsets of the whitespace-delimited words of `text`."""
    return [m.span() for m in WORD.finditer(text)]


def word_counts(text: bytes) -> Counter:
    return Counter(m.group() for m in WORD.finditer(text))


def eval_positions(text: bytes, counts: Counter, context: int, n_all: int, n_rare: int, rare_below: int,
                   max_word: int, seed: int = 0) -> list[dict]:  # fmt: skip
    """The next-word test set: words of `text` (at most `max_word` bytes) whose previous word ends at least
    `4 * context` bytes into the text (room for `context` bytes, and for as many BPE ids as cover them); `n_all` drawn uniformly from all of them and `n_rare` from those whose training
    frequency is below `rare_below` (without replacement, by a generator seeded with `seed`; fewer if there are
    fewer). Each item: `cut` (the byte offset where the previous word ends: the context is `text[cut - context:cut]`),
    `target` (the word, bytes), `count` (its training frequency), `sample` ("all" or "rare")."""
    spans = words(text)
    items = []
    for (_, prev_end), (s, e) in zip(spans, spans[1:]):
        if prev_end >= 4 * context and e - s <= max_word:
            target = text[s:e]
            items.append({"cut": prev_end, "target": target, "count": counts.get(target, 0)})
    rng = np.random.default_rng(seed)
    rare = [it for it in items if it["count"] < rare_below]
    out = []
    for name, pool, n in (("all", items, n_all), ("rare", rare, n_rare)):
        pick = rng.choice(len(pool), size=min(n, len(pool)), replace=False) if pool else []
        out += [{**pool[i], "sample": name} for i in sorted(pick)]
    return out


SPACE_BYTES = torch.tensor([9, 10, 13, 32])


def word_done(gen: torch.Tensor) -> torch.Tensor:
    """`[N]` bool: a byte continuation `gen [N, k]` holds a whitespace byte after a non-whitespace one (its first word
    is complete)."""
    ws = torch.isin(gen, SPACE_BYTES)
    seen = torch.cummax((~ws).long(), dim=1).values.bool()  # a non-whitespace byte at or before each position
    return (ws[:, 1:] & seen[:, :-1]).any(dim=1) if gen.shape[1] > 1 else torch.zeros(len(gen), dtype=torch.bool)


@torch.no_grad()
def greedy_continue(model, contexts: torch.Tensor, max_new: int, batch: int = 128, stop=None) -> torch.Tensor:
    """`[N, max_new]`: greedy continuations of `contexts [N, C]` (no cache: the models are tiny and the contexts
    short; each step reruns the whole sequence). `stop(gen) -> [n] bool`: a batch stops early once every row is done
    (the rest of its continuation is left as 0)."""
    model.eval()
    out = torch.zeros(contexts.shape[0], max_new, dtype=torch.long)
    for i in range(0, contexts.shape[0], batch):
        ids = contexts[i : i + batch]
        for _ in range(max_new):
            nxt = model(input_ids=ids).logits[:, -1].argmax(dim=-1)
            ids = torch.cat([ids, nxt[:, None]], dim=1)
            if stop is not None and bool(stop(ids[:, contexts.shape[1] :]).all()):
                break
        gen = ids[:, contexts.shape[1] :]
        out[i : i + batch, : gen.shape[1]] = gen
    return out


def first_word(continuation: bytes) -> bytes | None:
    """The first complete word of a continuation: leading whitespace skipped, the word must be followed by whitespace
    (a word cut off by the generation budget does not count)."""
    m = FIRST_WORD.match(continuation)
    return m.group(1) if m else None


def byte_contexts(text: bytes, items: list[dict], context: int) -> torch.Tensor:
    """`[N, context]`: the `context` bytes before each item's `cut`."""
    return torch.tensor([list(text[it["cut"] - context : it["cut"]]) for it in items], dtype=torch.long)


def next_word_hits_bytes(model, text: bytes, items: list[dict], context: int, max_new: int) -> np.ndarray:
    """`[N]` bool: a byte-level model's greedy continuation of the text up to the end of the previous word starts
    with exactly the target word (then whitespace)."""
    gen = greedy_continue(model, byte_contexts(text, items, context), max_new, stop=word_done)
    return np.array([first_word(bytes(g)) == it["target"] for g, it in zip(gen.tolist(), items)])


def token_offsets(ids: torch.Tensor, byte_len: torch.Tensor) -> np.ndarray:
    """`[N + 1]`: the byte offset where each BPE id of a stream starts (and the end)."""
    return np.concatenate([[0], np.cumsum(byte_len[ids].numpy())])


def bpe_contexts(ids: torch.Tensor, offsets: np.ndarray, items: list[dict], context: int) -> tuple[torch.Tensor, int]:
    """`([N, context] ids, misaligned)`: the `context` BPE ids that end at each item's `cut` (a byte-level BPE whose
    pre-tokenizer splits before whitespace has a token boundary at every word end; items where it does not are
    counted in `misaligned` and cut at the last boundary before)."""
    rows, misaligned = [], 0
    for it in items:
        k = int(np.searchsorted(offsets, it["cut"], side="right")) - 1  # ids[:k] end at or before cut
        misaligned += int(offsets[k] != it["cut"])
        if k < context:
            raise ValueError(f"only {k} BPE ids before byte {it['cut']}; a context of {context} needs more text")
        rows.append(ids[k - context : k])
    return torch.stack(rows), misaligned


def next_word_hits_bpe(model, tok, ids: torch.Tensor, offsets: np.ndarray, items: list[dict], context: int,
                       max_new: int) -> tuple[np.ndarray, int]:  # fmt: skip
    """`([N] bool, misaligned)`: as `next_word_hits_bytes` for a BPE model (continuations decoded to bytes)."""
    ctx, misaligned = bpe_contexts(ids, offsets, items, context)
    gen = greedy_continue(model, ctx, max_new)
    hits = [first_word(tok.decode(g.tolist(), skip_special_tokens=False).encode("utf-8")) == it["target"]
            for g, it in zip(gen, items)]  # fmt: skip
    return np.array(hits), misaligned


def unigram_hits(counts: Counter, items: list[dict]) -> np.ndarray:
    """`[N]` bool: always predicting the most frequent training word."""
    top = counts.most_common(1)[0][0]
    return np.array([it["target"] == top for it in items])


def log_ratio(hits_a: int, hits_b: int) -> float:
    """`ln((hits_a + 0.5) / (hits_b + 0.5))`: the accuracy ratio of two models on the same items, on the log scale,
    with half a hit added to each (finite when a model gets none right; the same n cancels)."""
    return float(np.log((hits_a + 0.5) / (hits_b + 0.5)))
