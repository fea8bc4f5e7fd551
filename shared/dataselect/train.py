"""Training at a fixed token budget on a selection, with the shared trainer (`shared.lm.trainer.train`), and the
target's held-out loss.

The pool is tokenized once with the project BPE (`bpe-8k`) and mapped onto its `vocab - 1` most frequent tokens (every
other token shares one id: `shared.lm.vocab.frequent_vocab`), so the tiny models spend their compute on context rather
than on a large output layer. A selection's training stream is its documents' tokens concatenated in a seeded random
order; every arm trains for the same number of steps of the same batch shape, so every arm sees the same number of
tokens whatever the size of its selection (`AllData` included).
"""

import numpy as np
import torch


def pool_tokens(pool, vocab: int, tokenizer: str = "bpe-8k") -> list[np.ndarray]:
    """Token ids of every pool document, mapped onto the pool's `vocab - 1` most frequent tokens (cached per pool)."""
    key = ("tokens", tokenizer, vocab)
    if key not in pool.cache:
        from shared.data import load_tokenizer
        from shared.lm.vocab import frequent_vocab

        tok = load_tokenizer(tokenizer)
        enc = tok(pool.texts, add_special_tokens=False)["input_ids"]
        flat = torch.tensor([t for ids in enc for t in ids], dtype=torch.long)
        lookup = frequent_vocab(flat, vocab - 1, len(tok)).numpy()
        pool.cache[key] = [lookup[np.asarray(ids, dtype=np.int64)] for ids in enc]
    return pool.cache[key]


def stream(tokens: list[np.ndarray], docs, seed: int | None = None) -> torch.Tensor:
    """The tokens of `docs` (pool indices) concatenated, in a random order drawn by `seed` (file order if None)."""
    docs = np.asarray(docs)
    if seed is not None:
        docs = np.random.default_rng([seed, 6]).permutation(docs)
    return torch.from_numpy(np.concatenate([tokens[i] for i in docs]))


def make_lm(vocab: int, dim: int, layers: int, heads: int, ctx: int, seed: int):
    """A fresh Llama-style causal LM (transformers' `LlamaForCausalLM`: RoPE, RMSNorm, SwiGLU, tied embeddings)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=dim, num_hidden_layers=layers, num_attention_heads=heads,
                      num_key_value_heads=heads, intermediate_size=4 * dim, max_position_embeddings=ctx,
                      tie_word_embeddings=True, rms_norm_eps=1e-5, bos_token_id=0, eos_token_id=0, pad_token_id=0)  # fmt: skip
    return LlamaForCausalLM(cfg)


def train_lm(train_stream: torch.Tensor, vocab: int, seed: int, steps: int, batch: int, ctx: int, lr: float,
             dim: int = 32, layers: int = 2, heads: int = 2):  # fmt: skip
    """A fresh LM (initialised by `seed`) trained with the shared trainer on random windows of `train_stream`:
    `steps * batch * ctx` tokens, warmup + cosine. Returns the model (on the CPU, in eval mode)."""
    from shared.lm.trainer import TrainConfig, train

    model = make_lm(vocab, dim, layers, heads, ctx + 1, seed)
    cfg = TrainConfig(steps=steps, batch_size=batch, seq_len=ctx, lr=lr, warmup=max(1, steps // 10), seed=seed,
                      eval_every=10**9, log_every=10**9, weight_decay=0.0)  # fmt: skip
    train(model, train_stream, cfg, log=None)
    return model


@torch.no_grad()
def window_losses(model, eval_stream: torch.Tensor, ctx: int, batch: int = 64) -> np.ndarray:
    """Mean next-token loss (nats) of each non-overlapping window of `ctx + 1` tokens of `eval_stream` `[n_windows]`:
    the same windows for every model, so arms are compared window by window."""
    n = (len(eval_stream) - 1) // ctx
    starts = torch.arange(n) * ctx
    out = []
    for i in range(0, n, batch):
        w = torch.stack([eval_stream[s : s + ctx + 1] for s in starts[i : i + batch].tolist()])
        logits = model(input_ids=w[:, :-1]).logits
        ce = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), w[:, 1:].flatten(), reduction="none")
        out.append(ce.view(len(w), ctx).mean(1))
    return torch.cat(out).numpy().astype(np.float64)


def run_arms(task, tokens: list[np.ndarray], arms: dict, k: int, vocab: int, train_kw: dict, seed: int,
             extra=None, arm_kw: dict | None = None) -> list[dict]:  # fmt: skip
    """One group of a selection experiment: every arm (name -> selector) selects `k` documents of `task.raw` with
    `seed`, a fresh LM (initialised by `seed`) trains on them at the same token budget (`train_kw`: `train_lm`'s
    keywords), and the target's held-out split is scored window by window. One row per arm: target, seed, arm, target
    share, held-out loss, documents and tokens selected, selection seconds, plus `extra(name, docs, train_stream,
    eval_stream) -> dict` where given (a paper's own metric of the selection).

    `arm_kw` (arm name -> keywords) overrides `train_kw` for some arms: another model size for the same selection,
    say. The context length is every arm's, so the held-out windows are the same."""
    import time

    unknown = sorted(set(arm_kw or {}) - set(arms))
    if unknown:
        raise KeyError(f"arm_kw names arms that are not run: {unknown}")
    if any("ctx" in kw and kw["ctx"] != train_kw["ctx"] for kw in (arm_kw or {}).values()):
        raise ValueError("arm_kw may not change the context length: every arm is scored on the same windows")
    ev = stream(tokens, task.evaluation)
    rows = []
    for name, sel in arms.items():
        t = time.perf_counter()
        idx = sel.select(task, k, seed)
        select_s = time.perf_counter() - t
        docs = task.raw[idx]
        tr = stream(tokens, docs, seed)
        row = {"target": task.target, "seed": seed, "arm": name, "target_share": task.target_share(idx)}
        if extra is not None:
            row.update(extra(name, docs, tr, ev))
        model = train_lm(tr, vocab, seed, **dict(train_kw, **(arm_kw or {}).get(name, {})))
        row.update({"loss": float(window_losses(model, ev, train_kw["ctx"]).mean()), "docs": len(docs),
                    "tokens": len(tr), "select_s": select_s})  # fmt: skip
        rows.append(row)
    return rows
