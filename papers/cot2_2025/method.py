"""
Continuous chain of thought (CoT2) on the minimum non-negative sum task, after Gozeten et al. (arXiv:2505.23648v2).

What is new here, on top of the shared family model and trainer (`shared.lm`):
- the task is `shared.lm.tasks.MNNS` (imported here, used as `method.MNNS`), as token sequences: `[BOS, d_1 .. d_m, SEP]`, then m output steps; the reachable partial sums after
  t digits (every sign pattern of the first t digits, duplicates counted: the empirical distribution of all traces),
  the answer (the smallest non-negative signed sum of all m digits) and one optimal trace (the discrete CoT's target);
- the three objectives on one sequence length (equal compute): CSFT for CoT2 (teacher-forced mixture embeddings, a
  KL to the reachable-sum distribution at each of the first m-1 steps, cross-entropy on the answer at step m), SFT on
  one optimal trace for discrete CoT, and answer-only training behind m-1 filler tokens (no CoT, same positions);
- the roll-outs: CoT2 feeds back the softmax-weighted mixture of token embeddings, discrete CoT the greedy token, the
  no-CoT model fillers; and their evaluation (answer accuracy, overlap of the continuous state with the target).

Deviations from the paper, on purpose:
- the model is the project's Llama-style family model (RMSNorm, SwiGLU, RoPE, tied embeddings), not GPT-2;
- training runs a fixed number of AdamW steps on random batches of the training instances, not epochs;
- the discrete CoT's single trace is the first optimal sign pattern in a fixed order (+ before -), one deterministic
  trace per instance, as in the official code's discrete data;
- the default profile's trained weights ship in fp16 under `checkpoints/default/` (training 25 models is past the
  60 s budget): the recorded run trained them, every rerun evaluates them; deleting the folder retrains them;
- no policy optimisation (GRPO, multi-token or Dirichlet sampling): the CSFT stage only.
"""

import hashlib
import json
from pathlib import Path

import torch
import torch.nn.functional as F

from shared.lm.family import ModelSpec, code_version, make_model
from shared.lm.tasks import IGNORE, MNNS
from shared.lm.trainer import TrainConfig, train

METHODS = ("cot2", "discrete", "no_cot")


# ----------------------------------------------------------------------------------------------- objectives
def csft_batch(task: MNNS, a: torch.Tensor) -> dict:
    """A CoT2 batch: prompts, the reachable-sum targets of the first m-1 steps and the answer ids."""
    return {"input_ids": task.prompts(a), "dists": task.reachable(a)[:, : task.m - 1].float(),
            "answer": task.sum_id(task.answers(a))}  # fmt: skip


def csft_loss(model, batch: dict) -> torch.Tensor:
    """Continuous supervision: teacher-forced mixture embeddings of the targets, the sum over steps of
    KL(target || softmax) on the first m-1 steps and the answer's cross-entropy on the last."""
    E = model.model.embed_tokens.weight  # [V, d]
    prompt, dists = batch["input_ids"], batch["dists"]  # [B, P], [B, m-1, V]
    embeds = torch.cat([E[prompt], dists @ E], dim=1)  # [B, P + m - 1, d]
    logits = model(inputs_embeds=embeds).logits[:, prompt.shape[1] - 1 :].float()  # [B, m, V]
    logp = logits.log_softmax(-1)
    soft = (dists * (dists.clamp_min(1e-12).log() - logp[:, :-1])).sum(-1).mean(0).sum()
    return soft + F.cross_entropy(logits[:, -1], batch["answer"])


def discrete_batch(task: MNNS, a: torch.Tensor) -> dict:
    """A discrete-CoT batch: prompt + the first m-1 partial sums of the optimal trace; loss on all m trace tokens."""
    tr = task.sum_id(task.trace(a))  # [B, m]
    ids = torch.cat([task.prompts(a), tr[:, :-1]], dim=1)
    targets = torch.full_like(ids, IGNORE)
    targets[:, task.prompt_len - 1 :] = tr
    return {"input_ids": ids, "targets": targets}


def no_cot_batch(task: MNNS, a: torch.Tensor) -> dict:
    """A no-CoT batch: prompt + m-1 fillers (SEP) and the answer at the last position: same length, no trace."""
    B = len(a)
    ids = torch.cat([task.prompts(a), torch.full((B, task.m - 1), task.sep)], dim=1)
    targets = torch.full_like(ids, IGNORE)
    targets[:, -1] = task.sum_id(task.answers(a))
    return {"input_ids": ids, "targets": targets}


BATCHES = {"cot2": csft_batch, "discrete": discrete_batch, "no_cot": no_cot_batch}


# ----------------------------------------------------------------------------------------------- roll-outs
@torch.no_grad()
def rollout(model, task: MNNS, a: torch.Tensor, method: str) -> dict:
    """Generate the m steps of `method` on instances `a [B, m]` with the model's own outputs fed back.

    Returns:
        dict: `probs [B, m, V]` (softmax at each output step), `answer [B]` (the argmax of the last step, as a sum).
    """
    model.eval()
    E = model.model.embed_tokens.weight
    embeds = E[task.prompts(a)]  # [B, P, d]
    probs = []
    for step in range(task.m):
        p = model(inputs_embeds=embeds).logits[:, -1].float().softmax(-1)  # [B, V]
        probs.append(p)
        if step == task.m - 1:
            break
        if method == "cot2":
            nxt = p @ E  # the continuous token: the softmax-weighted mixture of embeddings
        elif method == "discrete":
            nxt = E[p.argmax(-1)]
        elif method == "no_cot":
            nxt = E[torch.full((len(a),), task.sep)]
        else:
            raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
        embeds = torch.cat([embeds, nxt.unsqueeze(1)], dim=1)
    probs = torch.stack(probs, dim=1)
    return {"probs": probs, "answer": task.id_sum(probs[:, -1].argmax(-1))}


def overlap(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Overlap sum_v min(p_v, q_v) of two distributions over the last axis (= 1 - total variation)."""
    return torch.minimum(p, q).sum(-1)


def model_spec(task: MNNS, hidden: int, layers: int, heads: int) -> ModelSpec:
    return ModelSpec(vocab_size=task.vocab, hidden_size=hidden, layers=layers, heads=heads, mlp_ratio=4,
                     context=task.seq_len + 1)  # fmt: skip


def train_model(task: MNNS, method: str, train_a: torch.Tensor, hidden: int, layers: int, heads: int, steps: int,
                batch: int, lr: float, seed: int, threads: int = 1) -> object:  # fmt: skip
    """One family model trained on `method`'s objective with batches drawn from the training instances."""
    model = make_model(model_spec(task, hidden, layers, heads), seed=seed)
    make = BATCHES[method]

    def batches(step, gen):
        return make(task, train_a[torch.randint(len(train_a), (batch,), generator=gen)])

    cfg = TrainConfig(steps=steps, batch_size=batch, seq_len=task.seq_len, lr=lr, warmup=min(50, steps // 10),
                      weight_decay=0.0, seed=seed, threads=threads, log_every=10**9)  # fmt: skip
    train(model, None, cfg, batches=batches, loss_fn=csft_loss if method == "cot2" else None, log=None)
    return model


def checkpoint_key(**settings) -> str:
    """A short hash of every setting a trained model depends on and of the engine's code (`code_version`)."""
    blob = json.dumps({**settings, "code": code_version()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def train_or_load(directory, task: MNNS, method: str, train_a: torch.Tensor, hidden: int, layers: int, heads: int,
                  steps: int, batch: int, lr: float, seed: int, threads: int = 1) -> tuple[object, bool]:  # fmt: skip
    """`train_model`, stored in fp16 under `directory` (one file per method, width and seed, keyed by every setting,
    the training instances and the code): a stored model is loaded instead of retrained, and a fresh one is
    round-tripped through fp16 first, so that the recorded run and every rerun evaluate the same weights.

    Returns:
        tuple: the model (fp32, eval mode) and whether it was trained here.
    """
    key = checkpoint_key(m=task.m, high=task.high, method=method, hidden=hidden, layers=layers, heads=heads,
                         steps=steps, batch=batch, lr=lr, seed=seed, threads=threads,
                         train=hashlib.sha256(train_a.numpy().tobytes()).hexdigest()[:12])  # fmt: skip
    path = Path(directory) / f"{method}-d{hidden}-s{seed}-{key}.pt"
    trained_here = not path.exists()
    if trained_here:
        model = train_model(task, method, train_a, hidden, layers, heads, steps, batch, lr, seed, threads)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}, path)
    model = make_model(model_spec(task, hidden, layers, heads), seed=seed)
    state = torch.load(path, weights_only=True)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    model.eval()
    return model, trained_here


def evaluate(model, task: MNNS, a: torch.Tensor, method: str) -> dict:
    """Answer accuracy on `a`, and the mean overlap of the first m-1 output steps with the reachable-sum targets."""
    out = rollout(model, task, a, method)
    target = task.reachable(a)[:, : task.m - 1].float()
    ov = overlap(out["probs"][:, : task.m - 1], target)  # [B, m-1]
    if method == "discrete":  # the discrete CoT commits to its greedy token: its state is that one-hot token
        one_hot = F.one_hot(out["probs"][:, : task.m - 1].argmax(-1), task.vocab).float()
        ov = overlap(one_hot, target)
    correct = (out["answer"] == task.answers(a)).float()
    ent = -(out["probs"][:, : task.m - 1].clamp_min(1e-12).log() * out["probs"][:, : task.m - 1]).sum(-1)
    return {"accuracy": correct.mean().item(), "overlap": ov.mean().item(),
            "overlap_last": ov[:, -1].mean().item(), "eff_support": ent[:, -1].exp().mean().item()}  # fmt: skip
