"""A small VLM: frozen DINOv2-S patch features -> a trained projector -> frozen SmolLM2-135M-Instruct.

The sequence is SmolLM2's chat format with the visual tokens in the user turn, before the question:

    <|im_start|>user\\n [v_1 ... v_K] \\n{question}<|im_end|>\\n<|im_start|>assistant\\n {answer}

`v_i` are the projected DINOv2 patch tokens (last layer, after the final norm; CLS not passed), inserted into the LM's
input embeddings. The projector's outputs are RMS-normalised to the scale of the LM's own input embeddings (`out_rms`),
so visual tokens enter the LM as large as word tokens. The stage (`shared.vision.vlm_stage`) trains the projector and
a small LoRA on the LM's attention (`LoRALinear`, merged into a copy of the LM when loaded: `merge_lora`), on cached
encoder features.

The LM-input hook: `VLM.embed` takes any subset (or merge) of the visual tokens with the raster index of each in the
patch grid. Positions are a switch (`positions=`):
- `"reindex"` (default, what pre-LM pruning such as DivPrune does: drop tokens, the sequence closes up): the kept
  tokens take consecutive positions and the text follows right after them;
- `"original"`: each kept token keeps its position in the unpruned sequence and the text keeps its own (the gaps stay).
With every token kept in raster order the two are the same sequence, and the same as the unpruned path.
"""

from dataclasses import dataclass

import torch
from torch import nn

PREFIX = "<|im_start|>user\n"
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n"
POSITIONS = ("reindex", "original")


class Projector(nn.Module):
    """Two-layer MLP (LLaVA-1.5's projector): `[.., N, d_vision] -> [.., N, d_lm]`, plus (with `n_positions`) a learned
    embedding of each token's raster position in the patch grid, added to its output: the LM then reads where a token
    came from without relying on the encoder's features alone (tokens carry it through pruning and merging).

    With `out_rms > 0` each output row is RMS-normalised to `out_rms` before the position embedding is added (the
    stage sets it to the median RMS of the LM's input-embedding rows): an unnormalised MLP's tokens start several times
    larger than word embeddings and grow during training (issue 15's first run: 3.5x at init, 12x after 50 steps)."""

    def __init__(self, d_vision: int = 384, d_lm: int = 576, hidden: int = 1024, n_positions: int = 0,
                 out_rms: float = 0.0):  # fmt: skip
        super().__init__()
        self.fc1 = nn.Linear(d_vision, hidden)
        self.fc2 = nn.Linear(hidden, d_lm)
        self.pos = nn.Parameter(torch.zeros(n_positions, d_lm)) if n_positions else None
        self.register_buffer("out_rms", torch.tensor(float(out_rms)))

    def hidden(self, x):
        return nn.functional.gelu(self.fc1(x))

    def forward(self, x):
        y = self.fc2(self.hidden(x))
        if self.out_rms > 0:
            y = y * (self.out_rms / y.pow(2).mean(-1, keepdim=True).add(1e-12).sqrt())
        if self.pos is not None:
            if x.shape[-2] != self.pos.shape[0]:
                raise ValueError(f"the projector embeds {self.pos.shape[0]} positions, got {x.shape[-2]} tokens")
            y = y + self.pos
        return y


class LoRALinear(nn.Module):
    """`base(x) + (x A^T) B^T` with `A [r, in]` (scaled Gaussian) and `B [out, r]` (zeros): the frozen layer at init."""

    def __init__(self, base: nn.Linear, rank: int):
        super().__init__()
        self.base = base
        self.A = nn.Parameter(torch.randn(rank, base.in_features) / base.in_features**0.5)
        self.B = nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x):
        return self.base(x) + (x @ self.A.t()) @ self.B.t()


def lora_targets(lm, targets=("q_proj", "v_proj")):
    """`(name, attention module, attribute)` of every LoRA site: `layers.{i}.{target}` of the LM's attention."""
    return [(f"layers.{i}.{t}", layer.self_attn, t) for i, layer in enumerate(lm.model.layers) for t in targets]


def add_lora(lm, rank: int, targets=("q_proj", "v_proj")) -> dict[str, nn.Parameter]:
    """Wrap the target projections of `lm` in place with `LoRALinear`; returns the new parameters by name
    (`layers.{i}.{target}.A` / `.B`), the only trainable ones."""
    params = {}
    for name, attn, t in lora_targets(lm, targets):
        wrapped = LoRALinear(getattr(attn, t), rank)
        setattr(attn, t, wrapped)
        params[f"{name}.A"], params[f"{name}.B"] = wrapped.A, wrapped.B
    return params


@torch.no_grad()
def merge_lora(lm, state: dict[str, torch.Tensor]):
    """A copy of `lm` with the LoRA weights `state` (`layers.{i}.{target}.A` / `.B`) merged: `W + B A`. The copy is an
    ordinary transformers model (every hook and attention read-out works on it); `lm` itself is left as it was."""
    import copy

    out = copy.deepcopy(lm)
    targets = sorted({k.split(".")[2] for k in state})
    for name, attn, t in lora_targets(out, targets):
        lin = getattr(attn, t)
        lin.weight += state[f"{name}.B"] @ state[f"{name}.A"]
    for p in out.parameters():
        p.requires_grad_(False)
    return out


@dataclass
class Batch:
    """LM inputs of a batch of sequences, right-padded: embeddings `[B, T, D]`, positions `[B, T]`, a mask (`[B, T]`
    ones and zeros, or an additive `[B, 1, T, T]`), and for each sequence the indices of the positions whose next-token
    logits predict its answer tokens, with those tokens. `visual` is `(start, K)`: where the visual tokens sit."""

    embeds: torch.Tensor
    positions: torch.Tensor
    mask: torch.Tensor
    predict_at: list[list[int]]
    targets: list[list[int]]
    visual: tuple[int, int]


class VLM:
    """The frozen LM, its tokenizer and the projector, with the sequence assembly and the answer read-out.

    Args:
        lm: `LlamaForCausalLM` (SmolLM2-135M-Instruct from the zoo), frozen.
        tok: its tokenizer.
        projector (Projector): the trained part.
    """

    def __init__(self, lm, tok, projector: Projector):
        self.lm, self.tok, self.projector = lm, tok, projector
        for p in lm.parameters():
            p.requires_grad_(False)
        self.pre = self.ids(PREFIX)
        self._cache: dict[str, list[int]] = {}

    def ids(self, text: str) -> list[int]:
        return self.tok(text, add_special_tokens=False).input_ids

    def question_ids(self, question: str) -> list[int]:
        """Tokens between the image and the answer: `\\n{question}<|im_end|>\\n<|im_start|>assistant\\n`."""
        if question not in self._cache:
            self._cache[question] = self.ids("\n" + question + SUFFIX)
        return self._cache[question]

    def answer_ids(self, answer: str) -> list[int]:
        """The answer's tokens as the assistant writes them (a leading space: `" seven"`)."""
        key = "\0" + answer
        if key not in self._cache:
            self._cache[key] = self.ids(" " + answer)
        return self._cache[key]

    def project(self, feats: torch.Tensor) -> torch.Tensor:
        """DINOv2 patch features `[B, N, 384]` (all of them, raster order) -> visual tokens `[B, N, 576]`."""
        return self.projector(feats)

    def embed(self, vis: torch.Tensor, questions: list[str], answers: list[str] | None = None,
              index: torch.Tensor | None = None, n_total: int | None = None, positions: str = "reindex") -> Batch:  # fmt: skip
        """One sequence per row: prefix, the row's visual tokens, its question, and (teacher forcing) its answer.

        Args:
            vis (torch.Tensor): visual tokens `[B, K, 576]` (projected; kept or merged ones).
            questions (list[str]): one per row.
            answers (list[str], Optional): one per row; `None` reads the answer's first token only (the targets are
                then empty).
            index (torch.Tensor, Optional): raster index of each visual token in the unpruned grid `[B, K]`
                (default: `0..K-1`); used by `positions="original"`.
            n_total (int, Optional): visual tokens of the unpruned sequence (default: `K`).
            positions (str): `"reindex"` or `"original"` (see the module).
        """
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {positions!r}")
        B, K, D = vis.shape
        n_total = K if n_total is None else n_total
        index = torch.arange(K).expand(B, K) if index is None else index
        emb = self.lm.get_input_embeddings()
        P = len(self.pre)
        pre = emb(torch.tensor(self.pre))  # [P, D]
        texts, predict_at, targets = [], [], []
        for b in range(B):
            q = self.question_ids(questions[b])
            a = self.answer_ids(answers[b]) if answers is not None else []
            texts.append(q + a[:-1] if a else q)
            start = P + K + len(q) - 1  # the last question token predicts the first answer token
            predict_at.append(list(range(start, start + max(1, len(a)))))
            targets.append(a)
        T = P + K + max(len(t) for t in texts)
        embeds = torch.zeros(B, T, D, dtype=vis.dtype)
        pos = torch.zeros(B, T, dtype=torch.long)
        mask = torch.zeros(B, T, dtype=torch.long)
        text_start = P + (K if positions == "reindex" else n_total)
        for b in range(B):
            t = texts[b]
            L = P + K + len(t)
            embeds[b, :P] = pre
            embeds[b, P : P + K] = vis[b]
            embeds[b, P + K : L] = emb(torch.tensor(t))
            pos[b, :P] = torch.arange(P)
            pos[b, P : P + K] = P + (torch.arange(K) if positions == "reindex" else index[b])
            pos[b, P + K : L] = text_start + torch.arange(len(t))
            pos[b, L:] = pos[b, L - 1] + 1 + torch.arange(T - L)
            mask[b, :L] = 1
        return Batch(embeds, pos, mask, predict_at, targets, (P, K))

    def embed_shared(self, vis: torch.Tensor, questions: list[str], answers: list[str]) -> Batch:
        """One image, several questions in one sequence (training): prefix, the image's `N` visual tokens, then each
        question and answer as its own block that sees the prefix, the image and itself only (an additive 4D mask),
        with positions restarting after the image. Each block's logits equal those of its own separate sequence."""
        _, N, D = vis.shape
        emb = self.lm.get_input_embeddings()
        P = len(self.pre)
        parts = [emb(torch.tensor(self.pre)), vis[0]]
        pos = [torch.arange(P + N)]
        blocks, predict_at, targets = [], [], []
        t0 = P + N
        for q, a in zip(questions, answers):
            qi, ai = self.question_ids(q), self.answer_ids(a)
            seq = qi + ai[:-1]
            parts.append(emb(torch.tensor(seq)))
            pos.append(P + N + torch.arange(len(seq)))
            blocks.append((t0, t0 + len(seq)))
            predict_at.append(list(range(t0 + len(qi) - 1, t0 + len(qi) - 1 + len(ai))))
            targets.append(ai)
            t0 += len(seq)
        T = t0
        allowed = torch.zeros(T, T, dtype=torch.bool)
        allowed[: P + N, : P + N] = torch.ones(P + N, P + N, dtype=torch.bool).tril()
        for s, e in blocks:
            allowed[s:e, : P + N] = True
            allowed[s:e, s:e] = torch.ones(e - s, e - s, dtype=torch.bool).tril()
        mask = torch.zeros(T, T, dtype=vis.dtype).masked_fill(~allowed, torch.finfo(vis.dtype).min)
        return Batch(torch.cat(parts)[None], torch.cat(pos)[None], mask[None, None], predict_at, targets, (P, N))

    def hidden(self, batch: Batch, output_attentions: bool = False):
        out = self.lm.model(inputs_embeds=batch.embeds, position_ids=batch.positions, attention_mask=batch.mask,
                            output_attentions=output_attentions)  # fmt: skip
        return out

    def answer_logits(self, batch: Batch, out=None) -> list[torch.Tensor]:
        """Per sequence (or block), the logits `[len(answer), V]` at the positions that predict its answer."""
        out = self.hidden(batch) if out is None else out
        h = out.last_hidden_state
        rows = [h[0 if h.shape[0] == 1 and len(batch.predict_at) > 1 else b, idx]
                for b, idx in enumerate(batch.predict_at)]  # fmt: skip
        return [self.lm.lm_head(r) for r in rows]

    def loss(self, batch: Batch) -> torch.Tensor:
        """Mean cross-entropy over all answer tokens of the batch."""
        logits = self.answer_logits(batch)
        return nn.functional.cross_entropy(torch.cat(logits), torch.tensor([t for ts in batch.targets for t in ts]))

    @staticmethod
    def correct(logits: list[torch.Tensor], targets: list[list[int]]) -> list[bool]:
        """Exact answers: every answer token is the argmax over the whole vocabulary under teacher forcing, which is
        the same as greedy decoding producing the answer's tokens."""
        return [bool((lg.argmax(-1) == torch.tensor(t)).all()) for lg, t in zip(logits, targets)]
