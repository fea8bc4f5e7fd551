"""Greedy speculative decoding of a batch whose rows accept different numbers of draft tokens (the ragged problem).

Every step the draft proposes `L` tokens per row (a chain), the target scores `[root, d_1..d_L]` for all rows in one
call, and row `b` accepts `n_b` of them. The caches now hold `L + 1` new entries per row of which only `1 + n_b` are
valid, so rows disagree on their lengths. How that is handled decides correctness:

- `"realign"` (EQSPEC): drop the rejected entries of each row and re-pad on the left so that every row's valid entries
  end at the same column; the pad mask and per-row position ids follow. Output equals greedy decoding row by row.
- `"naive_positions"`: keep every entry, mask the rejected ones, but take position ids from the column index (as a
  left-padded batch would if holes were never counted): rows that rejected tokens see gaps in their positions.
- `"naive_unmasked"`: keep every entry and leave the rejected ones visible: rows attend to tokens they never emitted.

`exspec_generate` avoids realignment: a pool of single-row caches, batched only with rows of equal length (EXSPEC).

Layout: caches are `DynamicCache`s of `[B, H, T, D]`; `pad[b, t]` is True for real entries; greedy throughout.
"""

import time
from dataclasses import dataclass, field

import torch

MODES = ("realign", "naive_positions", "naive_unmasked")


@dataclass
class BatchStats:
    """Outputs and costs of one batched run."""

    tokens: list[list[int]]
    target_calls: int = 0
    steps: int = 0
    seconds: float = 0.0
    realign_seconds: float = 0.0
    accepted: list[int] = field(default_factory=list)


class _Batch:
    """A left-padded batch with a KV cache for one model."""

    def __init__(self, model, rows: list[list[int]]):
        from transformers import DynamicCache

        self.model = model
        p = next(model.parameters())
        self.dtype, self.device = p.dtype, p.device
        self.cache = DynamicCache(config=model.config)
        self.B = len(rows)
        self.valid = torch.zeros(self.B, 0, dtype=torch.bool)  # [B, T] real cache entries
        self.pos = torch.zeros(self.B, 0, dtype=torch.long)  # [B, T] position id of each cache entry
        self.next_pos = torch.zeros(self.B, dtype=torch.long)  # [B] position of the next real token

    @torch.no_grad()
    def forward(self, ids: torch.Tensor, valid: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Append `ids` `[B, n]` (entries marked by `valid` `[B, n]`, positions `pos` `[B, n]`); logits `[B, n, V]`."""
        n = ids.shape[1]
        T = self.valid.shape[1]
        all_valid = torch.cat([self.valid, valid], 1)  # [B, T + n]
        causal = torch.ones(n, T + n, dtype=torch.bool).tril(T)  # new token j sees columns <= T + j
        visible = causal[None] & all_valid[:, None, :]
        # a padded query row would see nothing, and softmax over nothing is NaN: let it see itself
        visible[:, torch.arange(n), T + torch.arange(n)] = True
        mask = torch.zeros(self.B, 1, n, T + n, dtype=self.dtype).masked_fill(
            ~visible[:, None], torch.finfo(self.dtype).min
        )
        out = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device), position_ids=pos.to(self.device),
                         past_key_values=self.cache, use_cache=True)  # fmt: skip
        self.valid, self.pos = all_valid, torch.cat([self.pos, pos], 1)
        return out.logits.float()

    def prefill(self, rows: list[list[int]]):
        """Left-pad the prompts without their last token and run them; returns nothing (the roots are pending)."""
        width = max(len(r) for r in rows) - 1
        ids = torch.zeros(self.B, width, dtype=torch.long)
        valid = torch.zeros(self.B, width, dtype=torch.bool)
        for b, r in enumerate(rows):
            ctx = r[:-1]
            if ctx:
                ids[b, width - len(ctx) :] = torch.tensor(ctx)
                valid[b, width - len(ctx) :] = True
        pos = (valid.cumsum(1) - 1).clamp_min(0)
        if width:
            self.forward(ids, valid, pos)
        self.next_pos = valid.sum(1)

    def keep(self, keep_new: torch.Tensor, n_new: int, mode: str):
        """After a step that appended `n_new` entries, keep `keep_new[b]` leading ones per row (see module docstring)."""
        if mode == "naive_unmasked":
            self.next_pos = self.next_pos + n_new
            return
        T = self.valid.shape[1]
        cols = torch.arange(n_new)
        step_valid = cols[None, :] < keep_new[:, None]  # [B, n_new]
        if mode == "naive_positions":
            self.valid[:, T - n_new :] &= step_valid
            self.next_pos = self.next_pos + n_new
            return
        # realign: gather each row's valid entries, right-aligned in a new width
        self.valid[:, T - n_new :] &= step_valid
        lengths = self.valid.sum(1)
        width = int(lengths.max())
        src = torch.zeros(self.B, width, dtype=torch.long)
        new_valid = torch.zeros(self.B, width, dtype=torch.bool)
        for b in range(self.B):
            idx = self.valid[b].nonzero().squeeze(1)
            src[b, width - len(idx) :] = idx
            new_valid[b, width - len(idx) :] = True
        gather = src.to(self.device)[:, None, :, None]
        for layer in self.cache.layers:
            k, v = layer.keys, layer.values
            layer.keys = k.gather(2, gather.expand(-1, k.shape[1], -1, k.shape[3]))
            layer.values = v.gather(2, gather.expand(-1, v.shape[1], -1, v.shape[3]))
        self.pos = self.pos.gather(1, src)
        self.valid = new_valid
        self.next_pos = self.next_pos + keep_new


def batch_generate(target, draft, prompts: list[list[int]], max_new: int, length: int = 4, mode: str = "realign"
                   ) -> BatchStats:  # fmt: skip
    """Greedy speculative decoding of all `prompts` as one batch; each row gets `max_new` tokens (extra cut off).

    Args:
        target, draft: transformers causal LMs over one vocabulary.
        length (int): draft tokens per step `L`.
        mode (str): one of `MODES`.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    t0 = time.perf_counter()
    stats = BatchStats([[] for _ in prompts])
    B = len(prompts)
    tb, db = _Batch(target, prompts), _Batch(draft, prompts)
    tb.prefill(prompts)
    db.prefill(prompts)
    roots = torch.tensor([r[-1] for r in prompts])
    ones = torch.ones(B, 1, dtype=torch.bool)
    while min(len(t) for t in stats.tokens) < max_new:
        # draft: L + 1 calls of one token (the last only scores d_L, so that both caches hold the same tokens)
        x, drafts, d_start = roots, [], db.next_pos.clone()
        for i in range(length + 1):
            logits = db.forward(x[:, None], ones, (d_start + i)[:, None] if mode != "naive_positions" else
                                _slot_positions(db, 1))  # fmt: skip
            if i < length:
                x = logits[:, -1].argmax(-1)
                drafts.append(x)
        d = torch.stack(drafts, 1)  # [B, L]
        # target: one call over [root, d_1..d_L]
        ids = torch.cat([roots[:, None], d], 1)  # [B, L+1]
        n = length + 1
        pos = tb.next_pos[:, None] + torch.arange(n) if mode != "naive_positions" else _slot_positions(tb, n)
        logits = tb.forward(ids, torch.ones(B, n, dtype=torch.bool), pos)
        stats.target_calls += 1
        greedy = logits.argmax(-1)  # [B, L+1]
        match = (greedy[:, :length] == d).long().cumprod(1)
        n_acc = match.sum(1)  # [B]
        bonus = greedy.gather(1, n_acc[:, None]).squeeze(1)
        for b in range(B):
            stats.tokens[b] += d[b, : n_acc[b]].tolist() + [int(bonus[b])]
        stats.accepted += n_acc.tolist()
        t1 = time.perf_counter()
        tb.keep(1 + n_acc, n, mode)
        db.keep(1 + n_acc, n, mode)
        stats.realign_seconds += time.perf_counter() - t1
        roots = bonus
        stats.steps += 1
    stats.tokens = [t[:max_new] for t in stats.tokens]
    stats.seconds = time.perf_counter() - t0
    return stats


def _slot_positions(batch: _Batch, n: int) -> torch.Tensor:
    # the bug of "naive_positions": positions from the column index minus the row's left padding
    T = batch.valid.shape[1]
    first = batch.valid.float().argmax(1)  # first real column of each row
    return (T - first)[:, None] + torch.arange(n)


def exspec_generate(target, draft, prompts: list[list[int]], max_new: int, length: int = 4, batch_size: int = 4
                    ) -> BatchStats:  # fmt: skip
    """EXSPEC: a pool of sequences, each with its own cache; every step batches up to `batch_size` sequences of equal
    current length (so no padding and no realignment), runs one greedy speculative step, and splits them again.
    `realign_seconds` counts the regrouping (cache concatenation and splitting)."""
    from transformers import DynamicCache

    t0 = time.perf_counter()
    stats = BatchStats([[] for _ in prompts])
    seqs = []
    for r in prompts:
        tb, db = _Batch(target, [r]), _Batch(draft, [r])
        tb.prefill([r])
        db.prefill([r])
        seqs.append({"t": tb, "d": db, "root": r[-1], "len": len(r)})
    while True:
        live = [i for i in range(len(prompts)) if len(stats.tokens[i]) < max_new]
        if not live:
            break
        by_len: dict[int, list[int]] = {}
        for i in live:
            by_len.setdefault(seqs[i]["len"], []).append(i)
        group = max(by_len.values(), key=len)[:batch_size]
        t1 = time.perf_counter()
        merged = {}
        for key in ("t", "d"):
            parts = [seqs[i][key] for i in group]
            m = _Batch(parts[0].model, [[0]] * len(group))
            m.cache = DynamicCache(config=parts[0].model.config)
            for li, layer in enumerate(m.cache.layers):
                _set_layer(
                    layer,
                    torch.cat([_kv(p, li, "keys") for p in parts]),
                    torch.cat([_kv(p, li, "values") for p in parts]),
                )
            m.valid = torch.cat([p.valid for p in parts])
            m.pos = torch.cat([p.pos for p in parts])
            m.next_pos = torch.cat([p.next_pos for p in parts])
            merged[key] = m
        stats.realign_seconds += time.perf_counter() - t1
        roots = torch.tensor([seqs[i]["root"] for i in group])
        ones = torch.ones(len(group), 1, dtype=torch.bool)
        x, drafts, db, tb = roots, [], merged["d"], merged["t"]
        start = db.next_pos.clone()
        for j in range(length + 1):
            logits = db.forward(x[:, None], ones, (start + j)[:, None])
            if j < length:
                x = logits[:, -1].argmax(-1)
                drafts.append(x)
        d = torch.stack(drafts, 1)
        ids = torch.cat([roots[:, None], d], 1)
        n = length + 1
        greedy = tb.forward(
            ids, torch.ones(len(group), n, dtype=torch.bool), tb.next_pos[:, None] + torch.arange(n)
        ).argmax(-1)
        stats.target_calls += 1
        n_acc = (greedy[:, :length] == d).long().cumprod(1).sum(1)
        bonus = greedy.gather(1, n_acc[:, None]).squeeze(1)
        t1 = time.perf_counter()
        for row, i in enumerate(group):
            stats.tokens[i] += d[row, : n_acc[row]].tolist() + [int(bonus[row])]
            drop = n - 1 - int(n_acc[row])
            for key in ("t", "d"):
                src, dst = merged[key], seqs[i][key]
                for li, layer in enumerate(dst.cache.layers):
                    end = src.cache.layers[li].keys.shape[2] - drop
                    _set_layer(
                        layer,
                        src.cache.layers[li].keys[row : row + 1, :, :end],
                        src.cache.layers[li].values[row : row + 1, :, :end],
                    )
                T = src.valid.shape[1] - drop
                dst.valid, dst.pos = src.valid[row : row + 1, :T], src.pos[row : row + 1, :T]
                dst.next_pos = src.next_pos[row : row + 1] + 1 + n_acc[row : row + 1]
            seqs[i]["root"] = int(bonus[row])
            seqs[i]["len"] += 1 + int(n_acc[row])
        stats.realign_seconds += time.perf_counter() - t1
        stats.accepted += n_acc.tolist()
        stats.steps += 1
    stats.tokens = [t[:max_new] for t in stats.tokens]
    stats.seconds = time.perf_counter() - t0
    return stats


def _kv(batch: _Batch, li: int, which: str) -> torch.Tensor:
    # a cache layer that never saw a token (a one-token prompt) is empty: `[B, H_kv, 0, D]`
    t = getattr(batch.cache.layers[li], which)
    if t is None:
        cfg = batch.model.config
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        t = torch.zeros(batch.B, cfg.num_key_value_heads, 0, head_dim, dtype=batch.dtype, device=batch.device)
    return t


def _set_layer(layer, keys: torch.Tensor, values: torch.Tensor) -> None:
    # a DynamicLayer filled directly (what its lazy initialisation plus one update would leave behind)
    layer.dtype, layer.device = keys.dtype, keys.device
    layer.keys, layer.values = keys, values
    layer.is_initialized = True


def greedy_reference(model, prompt: list[int], max_new: int) -> list[int]:
    """Plain greedy decoding of one prompt, one token per call with transformers' own masks and positions (EOS is not
    special): the equivalence reference."""
    from transformers import DynamicCache

    cache, out = DynamicCache(config=model.config), []
    ids = torch.tensor([prompt])
    with torch.no_grad():
        while len(out) < max_new:
            logits = model(input_ids=ids, past_key_values=cache, use_cache=True).logits
            out.append(int(logits[0, -1].argmax()))
            ids = torch.tensor([[out[-1]]])
    return out
