"""BIDS (arXiv:2501.12147): influence-based instruction-data selection, balanced across tasks.

What is new in the paper, and only that (the pool, the trainer and the model are shared):
- `projected_head_grads`: LESS-style gradient features. Per example, the gradient of the mean answer-token loss with
  respect to the trained output layer (`G = sum_t (p_t - e_{y_t}) h_t^T / n`), sketched by a Kronecker random
  projection (`P_v^T G P_d`, Gaussian `P_v` and `P_d`: inner products preserved in expectation) without forming `G`;
  `head_grad_reference` is the plain definition (autograd, one example at a time).
- `influence`: the cosine similarity of every training example's feature with every validation example's (LESS).
- `less_select`: LESS's rule: a training example's score is the largest, over tasks, of its mean influence on that
  task's validation examples; the `k` highest scores.
- `bids_select`: BIDS: the influence matrix normalised per validation instance (each column z-scored over the training
  pool), per-task mean of the normalised scores, then `k` picks, each the not-yet-picked example with the highest
  score on the task whose summed score over the picks so far is the lowest (the most under-represented task);
  `bids_select_reference` is the loop-by-loop definition.
- `less_normalised_select`: the ablation between them: the normalised scores, but LESS's one-shot top-k.

Deviations from the paper (Llama-3-8B / Mistral-7B tuned with LoRA on a large instruction pool, seven benchmarks):
- the model is the zoo's pretrained 2.1M-parameter `tiny-lm-small` with its body frozen: only the output layer,
  restricted to the answer vocabulary (the token ids that occur in any answer of the pool's families), is fine-tuned
  (the paper: LoRA on every layer). The body's final hidden states at the answer positions are computed once per run;
  the gradient features are the exact gradients of the trained parameters (LESS: LoRA gradients), from one short
  warm-up on a random 5% of the pool (LESS: four checkpoints of a 5% warm-up, Adam-preconditioned training gradients);
- the pool is the `evals` registry's instruction/answer rows (`shared.dataselect.instruct`) of 10 task families: 5
  target tasks with their own validation rows (what the selectors see) and test rows, and 5 families no target
  evaluates; the prompt is cut from the left to fit the context;
- quality is each target task's answer-token loss on its held-out test rows, as the gain over the pretrained head
  (the paper: benchmark accuracy); every arm trains the same number of steps of the same batch size;
- the details of BIDS beyond its abstract (the column z-score, the per-task mean, "under-represented" read as the
  lowest summed normalised score of the picks) are our reading: the body of the paper could not be read offline.
"""

import numpy as np
import torch

IGNORE = -100


# ------------------------------------------------------------------------------------------------------------- data
def encode_rows(rows: list[dict], tok, max_len: int = 128, max_answer: int = 24) -> list[tuple[np.ndarray, int]]:
    """`(ids, n_answer)` per row: the chat input (`role: content` lines, then `answer: `) and the first ideal answer plus
    a newline; the answer is cut to `max_answer` tokens and the prompt is cut from the left so that the whole fits in
    `max_len` (the answer always stays)."""
    out = []
    for r in rows:
        prompt = "\n".join(f"{m['role']}: {m['content']}" for m in r["input"]) + "\nanswer:"
        p = tok(prompt, add_special_tokens=False)["input_ids"]
        a = tok(" " + str(r["ideal"][0]) + "\n", add_special_tokens=False)["input_ids"][:max_answer]
        p = p[-(max_len - len(a)) :]
        out.append((np.asarray(p + a, dtype=np.int64), len(a)))
    return out


def family_rows(families: list[str], per_family: int, seed: int = 0, data_dir=None) -> tuple[list[dict], np.ndarray]:
    """`per_family` rows of each family (drawn without replacement by `seed`, kept in file order) and their family
    index (the order of `families`)."""
    from shared.dataselect.instruct import load_evals

    rows = load_evals(families, data_dir)
    out, labels = [], []
    for i, f in enumerate(families):
        fr = [r for r in rows if r["family"] == f]
        if len(fr) < per_family:
            raise ValueError(f"family {f!r} has {len(fr)} rows, fewer than {per_family}")
        keep = np.sort(np.random.default_rng([seed, i]).choice(len(fr), per_family, replace=False))
        out += [fr[j] for j in keep]
        labels += [i] * per_family
    return out, np.array(labels, dtype=np.int64)


def collate(examples: list[tuple[np.ndarray, int]]) -> dict:
    """`{"input_ids" [B, T], "targets" [B, T]}` right-padded with 0; targets only on the answer tokens (-100 elsewhere)."""
    t = max(len(ids) for ids, _ in examples) - 1
    x = torch.zeros(len(examples), t, dtype=torch.long)
    y = torch.full((len(examples), t), IGNORE, dtype=torch.long)
    for i, (ids, n) in enumerate(examples):
        ids = torch.from_numpy(ids)
        x[i, : len(ids) - 1] = ids[:-1]
        y[i, len(ids) - 1 - n : len(ids) - 1] = ids[len(ids) - n :]
    return {"input_ids": x, "targets": y}


# ------------------------------------------------------------------------------------ the frozen body and the head
@torch.no_grad()
def answer_states(model, examples: list, batch: int = 64) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per example `(h [n, d], y [n])`: the final normalised hidden state at each position that predicts an answer
    token (the input of the output layer) and that token's id; one batched forward pass of the frozen body."""
    out = []
    for i in range(0, len(examples), batch):
        bt = collate(examples[i : i + batch])
        h = model.model(input_ids=bt["input_ids"]).last_hidden_state.float()
        for j in range(len(h)):
            m = bt["targets"][j] != IGNORE
            out.append((h[j][m].numpy().copy(), bt["targets"][j][m].numpy().copy()))
    return out


def answer_vocab(states: list) -> np.ndarray:
    """The sorted token ids that occur as answer tokens (the output layer is restricted to them)."""
    return np.unique(np.concatenate([y for _, y in states]))


class Head(torch.nn.Module):
    """The output layer restricted to the answer vocabulary: logits `h @ W.T`, `W` [n_answer_tokens, d] (rows of the
    pretrained tied output matrix)."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = torch.nn.Parameter(weight.detach().clone().float())

    def forward(self, h):
        return h @ self.weight.T


def head_init(model, vocab: np.ndarray) -> Head:
    return Head(model.get_output_embeddings().weight[torch.from_numpy(vocab)])


def pack(states: list, vocab: np.ndarray, docs) -> dict:
    """`{"h" [B, T, d], "y" [B, T]}`: the answer states of `docs`, right-padded, targets as indices into `vocab` (-100 on
    padding)."""
    docs = list(docs)
    t = max(len(states[i][1]) for i in docs)
    d = states[docs[0]][0].shape[1]
    h = torch.zeros(len(docs), t, d)
    y = torch.full((len(docs), t), IGNORE, dtype=torch.long)
    for j, i in enumerate(docs):
        hi, yi = states[i]
        h[j, : len(yi)] = torch.from_numpy(hi)
        y[j, : len(yi)] = torch.from_numpy(np.searchsorted(vocab, yi))
    return {"h": h, "y": y}


def head_loss(head, batch: dict) -> torch.Tensor:
    """Mean answer-token cross-entropy of a packed batch."""
    return torch.nn.functional.cross_entropy(head(batch["h"]).transpose(1, 2), batch["y"], ignore_index=IGNORE)


def finetune(head: Head, states: list, vocab: np.ndarray, docs, steps: int, batch: int, lr: float, seed: int) -> Head:
    """Fine-tune `head` in place with the shared trainer (`loss_fn` and `batches` hooks) on `steps` batches of `batch`
    examples drawn with replacement from `docs` by the trainer's seeded generator: the same number of examples, so
    about the same number of answer tokens, whatever the selection. AdamW, warmup + cosine, no weight decay."""
    from shared.lm.trainer import TrainConfig, train

    docs = np.asarray(docs)

    def batches(step, gen):
        return pack(states, vocab, docs[torch.randint(0, len(docs), (batch,), generator=gen).numpy()])

    cfg = TrainConfig(steps=steps, batch_size=batch, lr=lr, warmup=max(1, steps // 10), seed=seed,
                      weight_decay=0.0, eval_every=10**9, log_every=10**9)  # fmt: skip
    train(head, None, cfg, log=None, batches=batches, loss_fn=head_loss)
    return head


@torch.no_grad()
def answer_losses(head: Head, states: list, vocab: np.ndarray, docs) -> np.ndarray:
    """Mean answer-token cross-entropy (nats) of each example of `docs` `[n]`."""
    b = pack(states, vocab, docs)
    ce = torch.nn.functional.cross_entropy(head(b["h"]).transpose(1, 2), b["y"], ignore_index=IGNORE,
                                           reduction="none")  # fmt: skip
    mask = b["y"] != IGNORE
    return ((ce * mask).sum(1) / mask.sum(1)).numpy().astype(np.float64)


# ------------------------------------------------------------------------------------------------ gradient features
def projections(n_out: int, dim: int, a: int, b: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian `P_v` [n_out, a] and `P_d` [dim, b], scaled so that the sketch preserves inner products in
    expectation."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n_out, a, generator=g) / a**0.5, torch.randn(dim, b, generator=g) / b**0.5


@torch.no_grad()
def projected_head_grads(head: Head, states: list, vocab: np.ndarray, docs, pv: torch.Tensor,
                         pd: torch.Tensor) -> np.ndarray:  # fmt: skip
    """`[n, a * b]`: per example, `P_v^T G P_d` of the output layer's gradient `G = sum_t (p_t - e_{y_t}) h_t^T / n`
    (of its mean answer-token loss), without forming `G`."""
    b = pack(states, vocab, docs)
    mask = b["y"] != IGNORE
    err = torch.softmax(head(b["h"]), -1)
    y = b["y"].clamp_min(0)
    err.scatter_add_(-1, y.unsqueeze(-1), -torch.ones(*y.shape, 1))
    w = mask.float() / mask.sum(1, keepdim=True)
    u = (err * w.unsqueeze(-1)) @ pv  # [B, T, a]
    v = b["h"] @ pd  # [B, T, b]
    return torch.einsum("bta,btc->bac", u, v).flatten(1).numpy().astype(np.float64)


def head_grad_reference(head: Head, states: list, vocab: np.ndarray, i: int) -> np.ndarray:
    """The plain definition: autograd's gradient of example `i`'s mean answer-token loss with respect to `W`."""
    w = head.weight.detach().clone().requires_grad_(True)
    h, y = states[i]
    loss = torch.nn.functional.cross_entropy(torch.from_numpy(h) @ w.T, torch.from_numpy(np.searchsorted(vocab, y)))
    loss.backward()
    return w.grad.numpy().astype(np.float64)


def influence(train_feats: np.ndarray, val_feats: np.ndarray) -> np.ndarray:
    """`[n_train, n_val]` cosine similarities (LESS's influence of a training example on a validation example)."""
    a = train_feats / np.linalg.norm(train_feats, axis=1, keepdims=True).clip(1e-12)
    b = val_feats / np.linalg.norm(val_feats, axis=1, keepdims=True).clip(1e-12)
    return a @ b.T


# -------------------------------------------------------------------------------------------------------- selection
def task_means(scores: np.ndarray, val_task: np.ndarray, n_tasks: int) -> np.ndarray:
    """`[n_train, n_tasks]`: each training example's mean score over each task's validation examples."""
    return np.stack([scores[:, val_task == t].mean(1) for t in range(n_tasks)], axis=1)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """The `k` largest scores (ties by lower index), sorted indices."""
    order = np.lexsort((np.arange(len(scores)), -np.asarray(scores)))
    return np.sort(order[:k])


def less_select(A: np.ndarray, val_task: np.ndarray, n_tasks: int, k: int) -> np.ndarray:
    """LESS: the `k` training examples with the largest `max_t mean_{v in t} A[z, v]`."""
    return top_k(task_means(A, val_task, n_tasks).max(1), k)


def normalise_columns(A: np.ndarray) -> np.ndarray:
    """Instance-level normalisation: each validation instance's column z-scored over the training pool."""
    return (A - A.mean(0, keepdims=True)) / A.std(0, keepdims=True).clip(1e-12)


def less_normalised_select(A: np.ndarray, val_task: np.ndarray, n_tasks: int, k: int) -> np.ndarray:
    """The ablation: BIDS's normalisation, then LESS's one-shot top-k of the max over tasks."""
    return less_select(normalise_columns(A), val_task, n_tasks, k)


def bids_select(A: np.ndarray, val_task: np.ndarray, n_tasks: int, k: int) -> np.ndarray:
    """BIDS: normalised per-task scores `S` [n_train, n_tasks]; `k` picks, each the unpicked example with the highest
    score on the task whose summed score over the picks so far is the lowest (ties: the lower task index, the lower
    example index). Returns the sorted picks."""
    S = task_means(normalise_columns(A), val_task, n_tasks)
    if not 0 <= k <= len(S):
        raise ValueError(f"cannot select {k} of {len(S)}")
    order = [list(np.lexsort((np.arange(len(S)), -S[:, t]))) for t in range(n_tasks)]  # best first, per task
    ptr = [0] * n_tasks
    taken = np.zeros(len(S), dtype=bool)
    cover = np.zeros(n_tasks)
    for _ in range(k):
        t = int(np.argmin(cover))
        while taken[order[t][ptr[t]]]:
            ptr[t] += 1
        z = order[t][ptr[t]]
        taken[z] = True
        cover += S[z]
    return np.flatnonzero(taken)


def bids_select_reference(A: np.ndarray, val_task: np.ndarray, n_tasks: int, k: int) -> list[int]:
    """The plain definition, loop by loop (for tests on small inputs)."""
    n, m = A.shape
    mu = [sum(A[i][j] for i in range(n)) / n for j in range(m)]
    sd = [(sum((A[i][j] - mu[j]) ** 2 for i in range(n)) / n) ** 0.5 for j in range(m)]
    Z = [[(A[i][j] - mu[j]) / max(sd[j], 1e-12) for j in range(m)] for i in range(n)]
    S = [[sum(Z[i][j] for j in range(m) if val_task[j] == t) / sum(1 for j in range(m) if val_task[j] == t)
          for t in range(n_tasks)] for i in range(n)]  # fmt: skip
    picked, cover = [], [0.0] * n_tasks
    for _ in range(k):
        t = min(range(n_tasks), key=lambda s: (cover[s], s))
        z = max((i for i in range(n) if i not in picked), key=lambda i: (S[i][t], -i))
        picked.append(z)
        cover = [cover[s] + S[z][s] for s in range(n_tasks)]
    return sorted(picked)


# --------------------------------------------------------------------------------------------------------- metrics
def shares(labels: np.ndarray, n: int) -> np.ndarray:
    """The share of each label `0..n-1` among `labels` (labels >= n, the distractor families, count in none)."""
    labels = np.asarray(labels)
    return np.array([(labels == t).mean() for t in range(n)]) if len(labels) else np.zeros(n)


def imbalance(labels: np.ndarray, n: int) -> float:
    """The share of the most selected target task among the selected target-task examples, over `1 / n` (1 = even,
    `n` = a single task)."""
    labels = np.asarray(labels)
    tgt = labels[labels < n]
    return float(shares(tgt, n).max() * n) if len(tgt) else float("nan")


# ------------------------------------------------------------------------------------------------------ experiment
def split(labels: np.ndarray, n_targets: int, n_val: int, n_test: int, n_pool: int, seed: int) -> tuple:
    """Per seed, each family's examples (indices into the cached rows, family `labels`) in a fresh random order: a
    target family's first `n_val` are its validation set (what the selectors see), the next `n_test` its test set,
    the next `n_pool` go into the training pool; a distractor family (label >= n_targets) gives `n_pool` to the pool.
    Returns `(pool, val, test)` index arrays."""
    rng = np.random.default_rng([seed, 157])
    pool, val, test = [], [], []
    for f in np.unique(labels):
        perm = rng.permutation(np.flatnonzero(labels == f))
        if f < n_targets:
            val += list(perm[:n_val])
            test += list(perm[n_val : n_val + n_test])
            perm = perm[n_val + n_test :]
        if len(perm) < n_pool:
            raise ValueError(f"family {f} has {len(perm)} rows left for the pool, fewer than {n_pool}")
        pool += list(perm[:n_pool])
    return np.array(pool), np.array(val), np.array(test)


ARMS = ("LESS", "BIDS", "random", "all data")


def run_seed(model, states: list, vocab: np.ndarray, labels: np.ndarray, n_targets: int, seed: int, *, n_val: int,
             n_test: int, n_pool: int, frac: float, warm_frac: float, warm_steps: int, steps: int, batch: int,
             lr: float, proj: tuple[int, int], arms=ARMS) -> tuple[list[dict], dict]:  # fmt: skip
    """One unit: split, warm up a copy of the head on a random `warm_frac` of the pool, LESS-style features (projected
    head gradients at the warmed-up head) of the pool and the validation sets, cosine influence, the selections of
    `frac` of the pool, then every arm fine-tunes the pretrained head from the same start for the same `steps` of
    `batch` examples and is scored on each target task's test set. Returns one row per arm and target task (`seed`,
    `arm`, `task`, `gain` = base test loss - fine-tuned test loss, `share` = the task's share of the selection) and
    the seed's diagnostics (influence matrix summaries)."""
    pool, val, test = split(labels, n_targets, n_val, n_test, n_pool, seed)
    k = int(round(frac * len(pool)))
    rng = np.random.default_rng([seed, 158])
    warm = head_init(model, vocab)
    finetune(warm, states, vocab, pool[rng.choice(len(pool), max(1, int(round(warm_frac * len(pool)))), replace=False)],
             warm_steps, batch, lr, seed)  # fmt: skip
    pv, pd = projections(len(vocab), warm.weight.shape[1], *proj, seed)
    A = influence(projected_head_grads(warm, states, vocab, pool, pv, pd),
                  projected_head_grads(warm, states, vocab, val, pv, pd))  # fmt: skip
    vlab, plab = labels[val], labels[pool]
    picks = {"LESS": lambda: less_select(A, vlab, n_targets, k), "BIDS": lambda: bids_select(A, vlab, n_targets, k),
             "LESS + normalisation": lambda: less_normalised_select(A, vlab, n_targets, k),
             "random": lambda: np.sort(rng.choice(len(pool), k, replace=False)),
             "all data": lambda: np.arange(len(pool))}  # fmt: skip
    base = head_init(model, vocab)
    base_loss = answer_losses(base, states, vocab, test)
    tlab = labels[test]
    rows = []
    for arm in arms:
        sel = picks[arm]()
        head = finetune(head_init(model, vocab), states, vocab, pool[sel], steps, batch, lr, seed)
        loss = answer_losses(head, states, vocab, test)
        sh = shares(plab[sel], n_targets)
        for t in range(n_targets):
            rows.append({"seed": seed, "arm": arm, "task": t, "gain": float(base_loss[tlab == t].mean() - loss[tlab == t].mean()),
                         "loss": float(loss[tlab == t].mean()), "share": float(sh[t]),
                         "target_share": float((plab[sel] < n_targets).mean()),
                         "imbalance": imbalance(plab[sel], n_targets)})  # fmt: skip
    own = task_means(A, vlab, n_targets)
    diag = {"seed": seed, "k": k, **{f"own_{t}": float(own[plab == t, t].mean()) for t in range(n_targets)}}
    return rows, diag
