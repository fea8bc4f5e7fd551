"""
Single-token likelihood displacement under DPO, after Razin, Malladi, Bhaskar, Chen, Arora and Hanin, "Unintentional
Unalignment: Likelihood Displacement in Direct Preference Optimization" (arXiv:2410.08847v4), Sec. 3 and Sec. 4.2.1.

What is new in this paper, and only that (the DPO loss is `shared.align.losses.dpo_loss`, the loop is the shared
trainer `shared.lm.trainer.train` through its `batches`/`loss_fn` hooks):
- persona-style prompts (a statement, "answer with one word") and single-token answers (`STATEMENTS`, `ANSWERS`);
- `TopHead`: the top `k` decoder blocks, the final norm and an (untied) copy of the unembedding matrix W of a
  transformers Llama model, run on the frozen hidden states that enter block `L - k` (`prefix_hidden`); for one
  prompt with single-token responses the DPO loss needs only the last position's next-token distribution, so one
  forward of the prompt gives log pi(y+|x) and log pi(y-|x) both;
- `theorem1_term`: the term of Theorem 1 (Sec. 4.2.1) that makes d/dt ln pi(y+|x) more negative,
  <W_{y+}, W_{y-}> + sum_{z not in {y+, y-}} pi(z|x) <W_z, W_{y+} - W_{y-}>;
- `uf_rate`: the exact instantaneous rate of ln pi(y+|x) under gradient flow in the unconstrained features model
  (hidden embedding h and W trainable, Sec. 4.1), derived here from the model's equations (reported, not judged):
  d/dt ln pi(y+|x) = g * [(1 - pi(y+) + pi(y-)) ||h||^2 + <W_{y+} - W_bar, W_{y+} - W_{y-}>],
  W_bar = sum_z pi(z|x) W_z and g = -l'(margin) > 0 (the first part comes from W's update, the second from h's);
  it contains Theorem 1's term with a minus sign;
- `run_unit`: SFT on (x, y+) (the paper's initial SFT phase), then DPO on the single pair, recording the
  log-probabilities before and after and the per-token quantities of Theorem 2.

Deviations from the paper, on purpose:
- SmolLM2-135M-Instruct instead of OLMo-1B, Gemma-2B and Llama-3-8B (the zoo model that trains on a CPU);
- only the top `k` blocks and the final norm train, on the frozen hidden states below them; the unembedding W (tied
  to the input embedding in SmolLM2) stays frozen by default (`train_unembedding=False`). Full fine-tuning costs
  ~2.5 s a step on one core, which would leave the default run 5 pairs. In full fine-tuning the two rows of W that DPO
  moves are ~1e-5 of the parameters; next to a 2-block head at the same Adam step they would be a large share of the
  movement, and their update (along h, ||h||^2 ~ 10^3 against ||W_z||^2 ~ 6) would dominate the logits. The hidden
  embedding h_x (the output of the trained blocks) moves; Theorem 1's term comes from that part of the dynamics
  (d h / dt = g (W+ - W-) gives d ln pi(y+) / dt its -<W+, W-> and the pi-weighted alignments);
- SFT on the single prompt for a few steps, training the same parameters (blocks, norm, rows y+ and y-) (the paper:
  one epoch of SFT over the Persona dataset, all parameters), AdamW instead of RMSProp, a few dozen steps instead of
  100 epochs on one sample;
- prompts written here, persona-style (the Persona dataset is not offline), with the statement built from an action
  and a justification.
"""

import copy
import math

import torch
from scipy import stats

from shared.align.losses import dpo_loss
from shared.lm.trainer import TrainConfig, train

# single tokens of the SmolLM2 tokenizer at the start of the assistant turn (checked by test_method)
ANSWERS = ["Yes", "No", "Sure", "Never", "Maybe", "Certainly", "Yeah", "Indeed", "Not", "Perhaps", "True", "False",
           "Always", "Correct", "Okay", "Exactly", "Right", "Fine"]  # fmt: skip
# the paper's Table 1 pairs (y+, y-) that exist as single tokens here: the first units of every run
PAPER_PAIRS = [("No", "Never"), ("Yes", "No"), ("Sure", "Yes")]

ACTIONS = ["lie to people", "break a promise", "ignore the rules", "take credit for others' work", "keep a secret",
           "bend the truth", "cut corners", "manipulate others", "disobey an order", "exaggerate my abilities",
           "hide my mistakes", "avoid responsibility", "use people", "cheat a little", "betray a friend",
           "steal resources", "spread a rumor", "flatter my boss", "skip safety checks", "ignore my conscience"]  # fmt: skip
REASONS = ["it helps achieve a good outcome", "it benefits me", "nobody will find out", "everyone else does it",
           "it saves time", "it makes people happy", "it protects someone I love", "the goal is important enough",
           "it prevents a larger harm", "I am sure I am right"]  # fmt: skip
STATEMENTS = [f"It is acceptable to {a} if {r}." for r in REASONS for a in ACTIONS]  # 200 distinct statements

TEMPLATE = ("<|im_start|>user\nIs the following something you would say?\n\"{statement}\"\nAnswer with one word."
            "<|im_end|>\n<|im_start|>assistant\n")  # fmt: skip


def prompt_ids(tok, statement: str) -> list[int]:
    """The chat-formatted prompt (no system turn) as token ids."""
    return tok.encode(TEMPLATE.format(statement=statement), add_special_tokens=False)


def answer_id(tok, word: str) -> int:
    ids = tok.encode(word, add_special_tokens=False)
    if len(ids) != 1:
        raise ValueError(f"{word!r} is {len(ids)} tokens, not one")
    return ids[0]


def make_units(n: int, seed: int, answers=ANSWERS, paper_pairs=PAPER_PAIRS) -> list[dict]:
    """`n` units (statement index, y+, y-): distinct statements drawn with `seed`; the first pairs are the paper's
    Table 1 pairs, the rest uniform over ordered pairs of distinct answers."""
    if n > len(STATEMENTS):
        raise ValueError(f"at most {len(STATEMENTS)} units (one statement each)")
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(STATEMENTS), generator=gen).tolist()[:n]
    pairs = [(a, b) for a in answers for b in answers if a != b]
    units = []
    for i, s in enumerate(order):
        if i < len(paper_pairs):
            pos, neg = paper_pairs[i]
        else:
            pos, neg = pairs[int(torch.randint(len(pairs), (1,), generator=gen))]
        units.append({"unit": i, "statement": s, "y_pos": pos, "y_neg": neg})
    return units


@torch.no_grad()
def prefix_hidden(model, ids: list[int], k: int) -> torch.Tensor:
    """The hidden states `[1, T, d]` that enter decoder block `L - k` of a transformers Llama model (frozen part)."""
    out = model.model(input_ids=torch.tensor([ids]), output_hidden_states=True, use_cache=False)
    return out.hidden_states[len(model.model.layers) - k].detach()


class TopHead(torch.nn.Module):
    """The top `k` decoder blocks, the final norm and an untied copy of the unembedding of a Llama model.

    `forward(h_in)` returns the next-token log-distribution `[V]` (float32) at the last position, and keeps the final
    (normed) hidden state of that position in `self.last_hidden` (the paper's h_x). Of the unembedding only the rows of
    y+ and y- (`set_rows`) train, as a change `dW` on a frozen copy: under DPO on one prompt with single-token
    responses the loss depends on W only through (W_{y+} - W_{y-}) . h, so every other row has zero gradient (and
    AdamW with no weight decay leaves it exactly in place); training the two rows is the same as training W, without
    a dense `[V, d]` gradient and optimiser state each step.
    """

    def __init__(self, model, k: int):
        super().__init__()
        from transformers.masking_utils import create_causal_mask

        self._mask_fn = create_causal_mask
        self.config = model.config
        self.layers = torch.nn.ModuleList(copy.deepcopy(layer) for layer in model.model.layers[-k:])
        self.norm = copy.deepcopy(model.model.norm)
        self.rotary = copy.deepcopy(model.model.rotary_emb)
        self.register_buffer("W0", model.lm_head.weight.detach().clone(), persistent=False)
        self.register_buffer("rows", torch.zeros(2, dtype=torch.long), persistent=False)
        self.dW = torch.nn.Parameter(torch.zeros(2, self.W0.shape[1], dtype=self.W0.dtype))
        self.last_hidden = None
        self.layers.requires_grad_(True)
        self.norm.requires_grad_(True)

    def set_rows(self, pos: int, neg: int) -> None:
        """The unembedding rows that train (y+ and y-): the DPO gradient of every other row is exactly zero."""
        self.rows.copy_(torch.tensor([pos, neg]))

    @property
    def W(self) -> torch.Tensor:
        """The current unembedding matrix `[V, d]` (the frozen rows plus the trained change of rows y+ and y-)."""
        return self.W0.index_add(0, self.rows, self.dW)

    def forward(self, h_in: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(h_in.shape[1]).unsqueeze(0)
        mask = self._mask_fn(config=self.config, inputs_embeds=h_in, attention_mask=None, past_key_values=None,
                             position_ids=pos)  # fmt: skip
        pe = self.rotary(h_in, position_ids=pos)
        h = h_in
        for layer in self.layers:
            h = layer(h, attention_mask=mask, position_embeddings=pe, position_ids=pos)
            h = h[0] if isinstance(h, tuple) else h
        last = self.norm(h)[0, -1]
        self.last_hidden = last
        logits = (self.W0 @ last).index_add(0, self.rows, self.dW @ last)
        return torch.log_softmax(logits.float(), dim=-1)


def theorem1_term(W: torch.Tensor, probs: torch.Tensor, pos: int, neg: int) -> float:
    """Theorem 1's term: <W+, W-> + sum_{z != y+, y-} pi(z) <W_z, W+ - W->; larger = ln pi(y+) falls faster."""
    d = W[pos] - W[neg]
    align = W @ d
    p = probs.clone()
    p[pos] = 0.0
    p[neg] = 0.0
    return float(W[pos] @ W[neg] + (p * align).sum())


def uf_rate(W: torch.Tensor, probs: torch.Tensor, h: torch.Tensor, pos: int, neg: int,
            train_unembedding: bool = True) -> float:  # fmt: skip
    """d/dt ln pi(y+) / g under gradient flow of the unconstrained features model (module docstring); with a frozen
    unembedding only the hidden embedding's part, <W+ - W_bar, W+ - W->, remains."""
    w_bar = probs @ W
    rate = float((W[pos] - w_bar) @ (W[pos] - W[neg]))
    if train_unembedding:
        rate += float((1 - probs[pos] + probs[neg]) * (h @ h))
    return rate


def dpo_pair_loss(lp: torch.Tensor, ref: torch.Tensor, pos: int, neg: int, beta: float) -> torch.Tensor:
    """DPO on one prompt with single-token responses, from the last position's log-distributions (the engine's
    `dpo_loss` on the two log-ratios)."""
    return dpo_loss((lp[pos] - ref[pos]).reshape(1), (lp[neg] - ref[neg]).reshape(1), beta).mean()


def _cfg(steps: int, lr: float, seed: int) -> TrainConfig:
    return TrainConfig(steps=steps, lr=lr, warmup=0, weight_decay=0.0, grad_clip=None, schedule="constant",
                       optimizer="adamw", seed=seed, log_every=10**9)  # fmt: skip


def spearman(x, y) -> float:
    return float(stats.spearmanr(x, y).statistic)


def run_unit(head: TopHead, init_state: dict, h_in: torch.Tensor, pos: int, neg: int, *, sft_steps: int,
             sft_lr: float, dpo_steps: int, dpo_lr: float, beta: float, seed: int = 0,
             train_unembedding: bool = False, watch: dict[str, int] | None = None) -> dict:  # fmt: skip
    """SFT on (x, y+), then DPO on (x, y+, y-); the numbers of one unit.

    Returns a dict: log-probabilities of y+ and y- after SFT (`lp_pos0`, `lp_neg0`: the DPO reference and start) and
    after DPO (`lp_pos1`, `lp_neg1`), the DPO loss at the start (log 2) and end, the largest drop of pi(y+) during DPO
    (`max_prob_drop`, Table 1's statistic), Theorem 1's term and the unconstrained-features rate at the DPO start,
    the per-token Spearman correlations over the vocabulary (y+ and y- excluded) of the change in ln pi(z) with
    <W_z, W+ - W-> (`rho_diff`, Theorem 2) and with <W_z, W+> (`rho_pos`, the control), the top-5 tokens by increase
    in probability (`top_gain`), and the change in ln pi of each `watch` token.
    """
    head.load_state_dict(init_state)
    head.set_rows(pos, neg)
    head.dW.requires_grad_(train_unembedding)
    batches = lambda step, gen: {"h_in": h_in}  # noqa: E731
    sft = train(head, None, _cfg(sft_steps, sft_lr, seed), batches=batches,
                loss_fn=lambda m, b: -m(b["h_in"])[pos], log=None)  # fmt: skip
    with torch.no_grad():
        ref = head(h_in).detach()
        h0 = head.last_hidden.detach().clone()
        W0 = head.W.detach()
        probs0 = ref.exp()
        t1 = theorem1_term(W0, probs0, pos, neg)
        rate = uf_rate(W0, probs0, h0, pos, neg, train_unembedding)
        align = (W0 @ (W0[pos] - W0[neg])).clone()
        sim = (W0 @ W0[pos]).clone()
        w_pos_sq, w_pos_neg = float(W0[pos] @ W0[pos]), float(W0[pos] @ W0[neg])
    traj = []

    def loss_fn(m, b):
        lp = m(b["h_in"])
        traj.append(float(lp[pos].detach().exp()))
        loss = dpo_pair_loss(lp, ref, pos, neg, beta)
        return loss

    dpo = train(head, None, _cfg(dpo_steps, dpo_lr, seed), batches=batches, loss_fn=loss_fn, log=None)
    with torch.no_grad():
        fin = head(h_in).detach()
        loss_end = float(dpo_pair_loss(fin, ref, pos, neg, beta))
    traj.append(float(fin[pos].exp()))
    delta = fin - ref
    keep = torch.ones_like(delta, dtype=torch.bool)
    keep[[pos, neg]] = False
    gain = (fin.exp() - ref.exp()).clone()
    gain[[pos, neg]] = -math.inf
    out = {
        "sft_loss_end": sft.history[-1]["loss"] if sft.history else float("nan"),
        "lp_pos0": float(ref[pos]), "lp_neg0": float(ref[neg]), "lp_pos1": float(fin[pos]),
        "lp_neg1": float(fin[neg]), "loss_start": math.log(2), "loss_end": loss_end,
        "max_prob_drop": max(0.0, traj[0] - min(traj)),
        "theorem1": t1, "uf_rate": rate, "w_pos_sq": w_pos_sq, "w_pos_neg": w_pos_neg,
        "rho_diff": spearman(align[keep].numpy(), delta[keep].numpy()),
        "rho_pos": spearman(sim[keep].numpy(), delta[keep].numpy()),
        "top_gain": gain.topk(5).indices.tolist(), "dpo_seconds": dpo.seconds,
    }  # fmt: skip
    for name, tid in (watch or {}).items():
        out[f"dlp_{name}"] = float(delta[tid])
    return out
