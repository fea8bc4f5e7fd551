"""A byte-level encoder-decoder whose encoder learns to delete tokens: MrT5's delete gate (Kallini et al. 2024, "MrT5:
Dynamic Token Merging for Efficient Byte-level Language Models", arXiv:2410.20771, Sec. 3) on a small ByT5-style model.

- `span_corrupt`: T5's span-corruption objective on bytes: about `rate` of the bytes, in spans of mean length
  `mean_span`, are replaced by sentinel ids in the input; the target lists each sentinel and the bytes it hid.
- `GatedSeq2Seq`: byte embeddings with learned positions -> `gate_layer` encoder layers -> the delete gate
  `G = k sigmoid(LayerNorm(H) w + b)`, one value in `[k, 0]` per byte (k = -30) -> the remaining encoder layers -> a
  decoder that cross-attends to the encoder. In training (`hard=False`) deletion is soft: `G` is added to the attention
  logits of every later encoder layer and of the decoder's cross-attention, at the key of each byte, so a byte with
  `G = k` is all but invisible and the gate gets gradients. Sentinels and eos are never deleted (their `G` is 0): the
  decoder needs them, and they anchor the soft mask, which a gate equal on every key would otherwise leave unchanged. At inference (`hard=True`) the bytes with `G < k / 2` are
  removed: the later layers and the decoder run on the shorter sequence (where the savings are). `delete=` forces a
  deletion mask instead of the gate's (the trivial controls: random or fixed-stride deletion at the same rate).
- `gated_loss`: cross-entropy plus `alpha x mean(G)` (the gate regulariser L_G, which pushes towards deletion);
  `RateController` is MrT5's PI controller, which sets `alpha` each step to hold a target deletion rate.

Training from scratch: pre-train with `alpha = 0` first (MrT5 continues a pre-trained ByT5); before the model reads its
bytes, deleting them costs nothing and the regulariser deletes every byte at once (the gate's shared bias moves all of
them together). Whether the learned deletion depends on content is a paper's measurement, not a given.

Built on PyTorch's `nn.TransformerEncoderLayer` / `nn.TransformerDecoderLayer` (pre-norm, GELU), whose float attention
masks carry the soft deletion. Deviations from MrT5: learned absolute positions instead of T5's relative bias; trained
from scratch (MrT5 continues ByT5's pre-training); one gate layer and small widths.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

BYTES = 256


@dataclass(frozen=True)
class GateSpec:
    """The parts of a `GatedSeq2Seq`; ids: bytes 0..255, then pad, eos and `sentinels` sentinel ids."""

    hidden_size: int = 64
    heads: int = 4
    encoder_layers: int = 3
    gate_layer: int = 1
    decoder_layers: int = 1
    mlp_ratio: int = 4
    sentinels: int = 32
    k: float = -30.0
    context: int = 256
    target_context: int = 128

    @property
    def pad_id(self) -> int:
        return BYTES

    @property
    def eos_id(self) -> int:
        return BYTES + 1

    @property
    def sentinel_start(self) -> int:
        return BYTES + 2

    @property
    def vocab_size(self) -> int:
        return BYTES + 2 + self.sentinels

    def validate(self) -> None:
        if not 0 < self.gate_layer < self.encoder_layers:
            raise ValueError(f"gate_layer {self.gate_layer} must lie between 1 and encoder_layers - 1 "
                             f"({self.encoder_layers - 1}): the gate needs layers before and after it")  # fmt: skip
        if self.hidden_size % self.heads:
            raise ValueError(f"hidden_size {self.hidden_size} must split into {self.heads} heads")
        if self.k >= 0:
            raise ValueError(f"k must be negative (the most negative gate value), got {self.k}")

    def to_dict(self) -> dict:
        return asdict(self)


# the objective


def _segments(n_items: int, n_segments: int, rng: np.random.Generator) -> np.ndarray:
    """A random composition of `n_items` into `n_segments` positive lengths."""
    cuts = np.sort(rng.choice(np.arange(1, n_items), n_segments - 1, replace=False)) if n_segments > 1 else []
    return np.diff(np.concatenate([[0], cuts, [n_items]])).astype(int)


def span_corrupt(data: bytes | list[int], rate: float, mean_span: float, spec: GateSpec,
                 rng: np.random.Generator) -> tuple[list[int], list[int]]:  # fmt: skip
    """T5's span corruption of one byte sequence: `(input ids, target ids)`. About `rate` of the bytes (at least one)
    are hidden in spans of mean length `mean_span`, alternating with kept spans; the input keeps the kept bytes with a
    sentinel in place of each hidden span, the target is each sentinel followed by its bytes, then eos."""
    ids = list(data)
    L = len(ids)
    if L < 2:
        raise ValueError("span corruption needs at least 2 bytes")
    if not 0 < rate < 1 or mean_span < 1:
        raise ValueError(f"rate must lie in (0, 1) and mean_span be >= 1; got {rate}, {mean_span}")
    n_noise = min(max(1, round(L * rate)), L - 1)
    n_spans = min(max(1, round(n_noise / mean_span)), n_noise, L - n_noise, spec.sentinels)
    noise, keep = _segments(n_noise, n_spans, rng), _segments(L - n_noise, n_spans, rng)
    inputs, targets, pos = [], [], 0
    for s, (k_len, n_len) in enumerate(zip(keep, noise)):
        inputs += ids[pos : pos + k_len]
        pos += k_len
        inputs.append(spec.sentinel_start + s)
        targets += [spec.sentinel_start + s] + ids[pos : pos + n_len]
        pos += n_len
    return inputs + [spec.eos_id], targets + [spec.eos_id]


def collate(pairs: list[tuple[list[int], list[int]]], spec: GateSpec) -> dict:
    """Right-padded batch: `input_ids [B, T]`, `decoder_input_ids [B, S]` (eos-shifted targets), `labels [B, S]`
    (-100 at padding)."""
    T = max(len(a) for a, _ in pairs)
    S = max(len(b) for _, b in pairs)
    if T > spec.context or S > spec.target_context:
        raise ValueError(f"an example is longer than the model's context ({T} > {spec.context} or {S} > "
                         f"{spec.target_context})")  # fmt: skip
    inp = torch.full((len(pairs), T), spec.pad_id)
    dec = torch.full((len(pairs), S), spec.pad_id)
    lab = torch.full((len(pairs), S), -100)
    for i, (a, b) in enumerate(pairs):
        inp[i, : len(a)] = torch.tensor(a)
        lab[i, : len(b)] = torch.tensor(b)
        dec[i, : len(b)] = torch.tensor([spec.eos_id] + b[:-1])
    return {"input_ids": inp, "decoder_input_ids": dec, "labels": lab}


# the model


def _keep_rows(h: torch.Tensor, keep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows of `h [B, T, D]` where `keep [B, T]`, in order, right-padded: `(rows [B, M, D], valid [B, M])`."""
    counts = keep.sum(dim=1)
    M = max(int(counts.max()), 1)
    order = torch.sort((~keep).to(torch.int8), dim=1, stable=True).indices[:, :M]
    valid = torch.arange(M, device=h.device)[None, :] < counts[:, None]
    return h.gather(1, order[..., None].expand(-1, -1, h.shape[-1])) * valid[..., None], valid


class GatedSeq2Seq(nn.Module):
    """MrT5-style encoder-decoder (module docstring); built by `make_gated`. `forward(input_ids, decoder_input_ids,
    hard=False, delete=None)` returns the decoder logits `[B, S, V]` and sets `self.last`: `gate [B, T]` (0 at padding),
    `deleted [B, T]` (bool: `G < k/2`, or `delete`), `valid [B, T]` (non-padding) and `kept_length` (tokens the later
    layers ran on, per sequence)."""

    def __init__(self, spec: GateSpec):
        super().__init__()
        spec.validate()
        self.spec = spec
        d = spec.hidden_size
        self.embed = nn.Embedding(spec.vocab_size, d)
        self.enc_pos = nn.Embedding(spec.context, d)
        self.dec_pos = nn.Embedding(spec.target_context, d)

        def enc():
            return nn.TransformerEncoderLayer(d, spec.heads, spec.mlp_ratio * d, dropout=0.0, activation="gelu",
                                              batch_first=True, norm_first=True)  # fmt: skip

        self.encoder = nn.ModuleList(enc() for _ in range(spec.encoder_layers))
        self.decoder = nn.ModuleList(
            nn.TransformerDecoderLayer(d, spec.heads, spec.mlp_ratio * d, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=True)  # fmt: skip
            for _ in range(spec.decoder_layers)
        )
        self.gate_norm = nn.LayerNorm(d)
        self.gate = nn.Linear(d, 1)
        self.enc_norm, self.dec_norm = nn.LayerNorm(d), nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, spec.vocab_size, bias=False)
        for m in (self.embed, self.enc_pos, self.dec_pos, self.lm_head):
            nn.init.normal_(m.weight, std=0.02)
        nn.init.normal_(self.gate.weight, std=0.02)
        nn.init.constant_(self.gate.bias, -2.0)  # G about -3.6, far above k / 2: keep everything until the regulariser acts
        self.alpha = 0.0
        self.last: dict = {}

    def _bias(self, key_bias: torch.Tensor, n_queries: int) -> torch.Tensor:
        """A float attention mask `[B * heads, Q, K]` adding `key_bias [B, K]` to every query's logit of each key."""
        B, K = key_bias.shape
        m = key_bias[:, None, None, :].expand(B, self.spec.heads, n_queries, K)
        return m.reshape(B * self.spec.heads, n_queries, K)

    def encode(self, input_ids: torch.Tensor, hard: bool = False, delete: torch.Tensor | None = None):
        """`(memory [B, M, D], memory_bias [B, M])`: the encoder's output and the additive key bias the decoder's
        cross-attention applies (the gate when soft, -inf at removed or padded keys)."""
        s = self.spec
        B, T = input_ids.shape
        if T > s.context:
            raise ValueError(f"an input of {T} ids is longer than the context {s.context}")
        valid = input_ids != s.pad_id
        dev = input_ids.device
        pad_bias = torch.zeros(B, T, device=dev).masked_fill(~valid, float("-inf"))
        h = self.embed(input_ids) + self.enc_pos(torch.arange(T, device=dev))
        for layer in self.encoder[: s.gate_layer]:
            h = layer(h, src_mask=self._bias(pad_bias, T))
        # sentinels and eos are never deleted: the decoder needs them, and they anchor the soft mask (a gate equal on
        # every key would cancel in the softmax and leave the regulariser free to push everything to k)
        deletable = valid & (input_ids < BYTES)
        gate = s.k * torch.sigmoid(self.gate(self.gate_norm(h))[..., 0]) * deletable
        deleted = (gate < s.k / 2) & deletable if delete is None else delete & valid
        if hard:
            keep = valid & ~deleted
            none_left = ~keep.any(dim=1)
            if none_left.any():  # every sequence keeps at least its first byte
                keep[none_left, 0] = True
            h, valid_m = _keep_rows(h, keep)
            bias = torch.zeros(valid_m.shape, device=dev).masked_fill(~valid_m, float("-inf"))
            kept = valid_m.sum(dim=1)
        else:
            # soft: the gate (or, for a forced mask, k at deleted keys) joins the logits of every later layer
            soft = gate if delete is None else torch.where(deleted, torch.full_like(gate, s.k), torch.zeros_like(gate))
            bias = pad_bias + soft
            kept = valid.sum(dim=1)
        for layer in self.encoder[s.gate_layer :]:
            h = layer(h, src_mask=self._bias(bias, h.shape[1]))
        self.last = {"gate": gate, "deleted": deleted, "valid": valid, "kept_length": kept}
        return self.enc_norm(h), bias

    def forward(self, input_ids: torch.Tensor, decoder_input_ids: torch.Tensor, hard: bool = False,
                delete: torch.Tensor | None = None, **_) -> torch.Tensor:  # fmt: skip
        memory, bias = self.encode(input_ids, hard, delete)
        S = decoder_input_ids.shape[1]
        if S > self.spec.target_context:
            raise ValueError(f"a target of {S} ids is longer than the target context {self.spec.target_context}")
        dev = decoder_input_ids.device
        y = self.embed(decoder_input_ids) + self.dec_pos(torch.arange(S, device=dev))
        causal = torch.triu(torch.full((S, S), float("-inf"), device=dev), diagonal=1)
        for layer in self.decoder:
            y = layer(y, memory, tgt_mask=causal, memory_mask=self._bias(bias, S))
        return self.lm_head(self.dec_norm(y))


def make_gated(spec: GateSpec, seed: int = 0) -> GatedSeq2Seq:
    """A freshly initialised `GatedSeq2Seq` (seeded)."""
    torch.manual_seed(seed)
    return GatedSeq2Seq(spec)


def deletion_rate(last: dict) -> float:
    """The share of (non-padding) input bytes the gate deletes, `G < k / 2`."""
    return float((last["deleted"] & last["valid"]).sum() / last["valid"].sum().clamp(min=1))


def gated_loss(model: GatedSeq2Seq, batch: dict) -> torch.Tensor:
    """Cross-entropy of the targets (soft deletion) plus `model.alpha x L_G`, L_G the mean gate value over non-padding
    bytes (the shared trainer's `loss_fn`)."""
    logits = model(batch["input_ids"], batch["decoder_input_ids"])
    ce = F.cross_entropy(logits.flatten(0, 1).float(), batch["labels"].flatten(), ignore_index=-100)
    last = model.last
    reg = (last["gate"] * last["valid"]).sum() / last["valid"].sum().clamp(min=1)
    return ce + model.alpha * reg


@dataclass
class RateController:
    """MrT5's PI controller for the regulariser weight: each step, `alpha = clip(kp e + ki sum(e), 0, max_alpha)` with
    `e = target - measured deletion rate` (deleting too little raises alpha)."""

    target: float
    kp: float = 0.5
    ki: float = 1e-4
    max_alpha: float = 1.0
    integral: float = 0.0

    def update(self, rate: float) -> float:
        if not math.isfinite(rate):
            raise ValueError(f"deletion rate {rate} is not finite")
        e = self.target - rate
        self.integral += e
        return min(max(self.kp * e + self.ki * self.integral, 0.0), self.max_alpha)


@torch.no_grad()
def evaluate(model: GatedSeq2Seq, batches: list[dict], hard: bool = True, delete_fn=None) -> dict:
    """Target cross-entropy (nats per target byte), deletion rate and mean kept length over `batches`, with hard
    deletion by default; `delete_fn(batch, model) -> [B, T] bool` forces a deletion mask (the controls)."""
    model.eval()
    nats = n = deleted = valid = kept = seqs = 0.0
    for b in batches:
        delete = delete_fn(b, model) if delete_fn is not None else None
        logits = model(b["input_ids"], b["decoder_input_ids"], hard=hard, delete=delete)
        mask = b["labels"] != -100
        nats += F.cross_entropy(logits[mask].float(), b["labels"][mask], reduction="sum").item()
        n += int(mask.sum())
        last = model.last
        deleted += float((last["deleted"] & last["valid"]).sum())
        valid += float(last["valid"].sum())
        kept += float(last["kept_length"].sum())
        seqs += b["input_ids"].shape[0]
    return {"loss": nats / max(n, 1), "deletion_rate": deleted / max(valid, 1), "kept_length": kept / max(seqs, 1)}
