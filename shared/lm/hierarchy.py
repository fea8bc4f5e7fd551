"""Byte-level hierarchical LMs: bytes are encoded, grouped into chunks, modelled at the chunk level, and decoded back to
bytes, all causally, so that one model predicts the next byte. The parts the tokenizer-free papers of issue 19 change
are switchable:

| router | chunk boundaries | what it stands for |
|---|---|---|
| `learned` | `p_t = (1 - cos(W_q x_t, W_k x_{t-1})) / 2`, a chunk starts where `p_t >= 0.5` | H-Net's dynamic chunking (Hwang, Wang & Gu 2025, Sec. 2.2) |
| `space` | a chunk ends at every byte in `space_ids` (and the sequence starts one) | word pooling (Thawani et al. 2023): the chunk after a space carries the whole previous word |
| `stride` | every `stride` bytes | fixed-size patches (MegaByte-style): the content-blind control of a learned router |

The pipeline (`ChunkedByteLM.forward`): byte embeddings -> encoder (a causal transformer over bytes) -> router ->
`downsample` (the encoder states at chunk starts, right-padded per sequence) -> main network (a causal transformer over
chunks) -> `smooth` (the learned router only: an exponential moving average over chunks weighted by the boundary
probabilities, which makes the boundaries differentiable) -> `upsample` (byte t reads the chunk that started at or
before t; for the learned router scaled by a straight-through confidence) -> plus a linear residual from the encoder ->
decoder (a causal transformer over bytes) -> byte logits. Every byte's prediction depends only on bytes at or before it
(the tests check it for each router).

The transformers are transformers' `LlamaModel` (RMSNorm, SwiGLU, RoPE; positions are byte indices in the encoder and
decoder and chunk indices in the main network). `ratio_loss` is H-Net's auxiliary loss towards a target number of bytes
per chunk; `chunked_loss` adds it to the next-byte cross-entropy and is the shared trainer's `loss_fn`
(`shared.lm.trainer.train(..., loss_fn=chunked_loss)`). `downsample` and `upsample` have plain references (loops over
sequences and positions), tested equal to the batched paths.

Not here: MrT5's delete gate (a bidirectional byte encoder for an encoder-decoder model), H-Net's two-stage nesting,
Mamba layers (the paper's encoder and decoder), and the per-stage learning-rate and normalisation details.
"""

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F
from transformers import LlamaConfig, LlamaModel
from transformers.modeling_outputs import CausalLMOutputWithPast

ROUTERS = ("learned", "space", "stride")


@dataclass(frozen=True)
class ChunkSpec:
    """The parts of a `ChunkedByteLM`.

    Args:
        vocab_size (int): byte ids `0..vocab_size-1` (256 for raw UTF-8 bytes; more for special ids).
        hidden_size (int): width of the encoder and decoder; the main network's is `main_hidden` (default the same).
        encoder_layers, main_layers, decoder_layers (int): depth of each transformer (the encoder and decoder may be 0).
        router (str): `learned`, `space` or `stride` (module docstring).
        space_ids (tuple[int, ...]): for `space`: the ids that end a chunk (default ASCII space and newline).
        stride (int): for `stride`: bytes per chunk.
        target_ratio (float): for `learned`: the bytes per chunk `ratio_loss` pulls towards (H-Net's N).
        ratio_weight (float): the weight of `ratio_loss` in `chunked_loss` (H-Net's alpha, 0.03).
        context (int): the longest byte sequence.
    """

    vocab_size: int = 256
    hidden_size: int = 64
    heads: int = 4
    encoder_layers: int = 1
    main_layers: int = 2
    decoder_layers: int = 1
    main_hidden: int | None = None
    mlp_ratio: int = 4
    router: str = "learned"
    space_ids: tuple[int, ...] = (32, 10)
    stride: int = 4
    target_ratio: float = 4.0
    ratio_weight: float = 0.03
    context: int = 512
    rope_theta: float = 10000.0

    def validate(self) -> None:
        """Raise `ValueError` naming the bad field, before any weight is built."""
        if self.router not in ROUTERS:
            raise ValueError(f"ChunkSpec.router={self.router!r}; choose one of {ROUTERS}")
        for name, width in (("hidden_size", self.hidden_size), ("main_hidden", self.main_width)):
            if width % self.heads or (width // self.heads) % 2:
                raise ValueError(f"{name} {width} must split into {self.heads} heads of even width")
        if self.main_layers < 1 or self.encoder_layers < 0 or self.decoder_layers < 0:
            raise ValueError("the main network needs at least one layer; the encoder and decoder at least 0")
        if self.router == "stride" and self.stride < 1:
            raise ValueError(f"stride must be >= 1, got {self.stride}")
        if self.router == "learned" and self.target_ratio <= 1:
            raise ValueError(f"target_ratio must be > 1 byte per chunk, got {self.target_ratio}")
        if self.router == "space" and not self.space_ids:
            raise ValueError("the space router needs at least one id in space_ids")

    @property
    def main_width(self) -> int:
        return self.main_hidden or self.hidden_size

    def to_dict(self) -> dict:
        d = asdict(self)
        d["space_ids"] = list(self.space_ids)
        return d


def _stack(width: int, layers: int, spec: ChunkSpec) -> LlamaModel | None:
    if layers == 0:
        return None
    config = LlamaConfig(vocab_size=1, hidden_size=width, num_hidden_layers=layers, num_attention_heads=spec.heads,
                         num_key_value_heads=spec.heads, head_dim=width // spec.heads,
                         intermediate_size=spec.mlp_ratio * width, max_position_embeddings=spec.context,
                         rms_norm_eps=1e-5, rope_theta=spec.rope_theta, bos_token_id=None, eos_token_id=None,
                         pad_token_id=None)  # fmt: skip
    config._attn_implementation = "sdpa"
    model = LlamaModel(config)
    model.embed_tokens = None  # inputs are embeddings; the stack has no vocabulary of its own
    return model


def _run(stack: LlamaModel | None, h: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    if stack is None:
        return h
    if mask is not None and bool(mask.all()):
        mask = None  # no padding: the plain causal mask
    return stack(inputs_embeds=h, attention_mask=None if mask is None else mask.long()).last_hidden_state


# chunking: boundaries, downsampling, smoothing, upsampling


def fixed_boundaries(ids: torch.Tensor, spec: ChunkSpec) -> torch.Tensor:
    """`[B, T]` bool: where a chunk starts under a fixed router. `space`: position 0 and every position after an id in
    `space_ids` (so a chunk *ends* at a space, and the chunk that starts after it has read the whole word); `stride`:
    every `stride` positions."""
    B, T = ids.shape
    if spec.router == "stride":
        return (torch.arange(T, device=ids.device) % spec.stride == 0).expand(B, T).clone()
    if spec.router == "space":
        ends = torch.isin(ids, torch.tensor(spec.space_ids, device=ids.device))
        starts = torch.zeros_like(ends)
        starts[:, 0] = True
        starts[:, 1:] = ends[:, :-1]
        return starts
    raise ValueError(f"router {spec.router!r} has no fixed boundaries")


def downsample_reference(h: torch.Tensor, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The plain definition: per sequence, the rows of `h [B, T, D]` where `starts [B, T]` is true, in order,
    right-padded with zeros to the longest; returns `(chunks [B, M, D], mask [B, M])`."""
    rows = [h[b][starts[b]] for b in range(h.shape[0])]
    M = max(len(r) for r in rows)
    out = h.new_zeros(h.shape[0], M, h.shape[-1])
    mask = torch.zeros(h.shape[0], M, dtype=torch.bool, device=h.device)
    for b, r in enumerate(rows):
        out[b, : len(r)] = r
        mask[b, : len(r)] = True
    return out, mask


def downsample(h: torch.Tensor, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`downsample_reference` without a loop: a stable sort puts each sequence's chunk starts first, in order."""
    if not bool(starts[:, 0].all()):
        raise ValueError("every sequence must start a chunk at position 0")
    counts = starts.sum(dim=1)
    M = int(counts.max())
    order = torch.sort((~starts).to(torch.int8), dim=1, stable=True).indices[:, :M]  # [B, M] positions of starts
    mask = torch.arange(M, device=h.device)[None, :] < counts[:, None]
    out = h.gather(1, order[..., None].expand(-1, -1, h.shape[-1])) * mask[..., None]
    return out, mask


def chunk_index(starts: torch.Tensor) -> torch.Tensor:
    """`[B, T]`: the chunk each position belongs to (the last chunk that started at or before it)."""
    return starts.long().cumsum(dim=1) - 1


def upsample_reference(z: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    """The plain definition: position t of sequence b reads `z[b, c]`, c = (number of chunk starts at or before t) - 1."""
    B, T = starts.shape
    out = z.new_zeros(B, T, z.shape[-1])
    for b in range(B):
        c = -1
        for t in range(T):
            c += int(starts[b, t])
            out[b, t] = z[b, c]
    return out


def upsample(z: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    """`upsample_reference` as one gather."""
    idx = chunk_index(starts)
    return z.gather(1, idx[..., None].expand(-1, -1, z.shape[-1]))


def smooth(z: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """H-Net's smoothing over chunks: `zbar_s = p_s z_s + (1 - p_s) zbar_{s-1}` (`z [B, M, D]`, `p [B, M]` the boundary
    probabilities at the chunk starts; `p_0` is 1). A sequential scan: the closed form divides by products of
    `1 - p` that underflow within a few hundred chunks."""
    out, prev = [], torch.zeros_like(z[:, 0])
    for s in range(z.shape[1]):
        w = p[:, s, None]
        prev = w * z[:, s] + (1 - w) * prev
        out.append(prev)
    return torch.stack(out, dim=1)


def ratio_loss(starts: torch.Tensor, p: torch.Tensor, target: float, valid: torch.Tensor | None = None) -> torch.Tensor:
    """H-Net's ratio loss `N/(N-1) ((N-1) F G + (1-F)(1-G))`: F the share of positions that start a chunk (not
    differentiable), G the mean boundary probability; 1 when both are 1/N, larger when the router drifts from N
    bytes per chunk (F fixed, its minimum over G sits where F = 1/N)."""
    valid = torch.ones_like(starts) if valid is None else valid
    n = valid.sum().clamp(min=1)
    Fr = (starts & valid).sum() / n
    G = (p * valid).sum() / n
    N = target
    return N / (N - 1) * ((N - 1) * Fr * G + (1 - Fr) * (1 - G))


class ChunkedByteLM(nn.Module):
    """A byte-level hierarchical causal LM (module docstring); built by `make_chunked`.

    `forward(input_ids [B, T])` returns `.logits [B, T, V]` and sets `self.last` to the chunking of that call:
    `starts [B, T]` (bool), `p [B, T]` (boundary probabilities; 1/0 for fixed routers) and `ratio` (`ratio_loss`, 0 for
    fixed routers), which `chunked_loss` and the papers' measurements read."""

    def __init__(self, spec: ChunkSpec):
        super().__init__()
        spec.validate()
        self.spec = spec
        d, dm = spec.hidden_size, spec.main_width
        self.embed = nn.Embedding(spec.vocab_size, d)
        self.encoder = _stack(d, spec.encoder_layers, spec)
        self.main = _stack(dm, spec.main_layers, spec)
        self.decoder = _stack(d, spec.decoder_layers, spec)
        self.up_proj = nn.Linear(d, dm, bias=False) if dm != d else nn.Identity()
        self.down_proj = nn.Linear(dm, d, bias=False) if dm != d else nn.Identity()
        self.residual = nn.Linear(d, d, bias=False)
        if spec.router == "learned":
            self.w_q = nn.Linear(d, d, bias=False)
            self.w_k = nn.Linear(d, d, bias=False)
            with torch.no_grad():  # H-Net initialises the router to the identity: boundaries start where states change
                self.w_q.weight.copy_(torch.eye(d))
                self.w_k.weight.copy_(torch.eye(d))
        self.norm = nn.RMSNorm(d, eps=1e-5)
        self.lm_head = nn.Linear(d, spec.vocab_size, bias=False)
        self.lm_head.weight = self.embed.weight
        for m in (self.embed, self.up_proj, self.down_proj, self.residual):
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
        self.last: dict = {}

    def route(self, ids: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`(starts [B, T] bool, p [B, T])` for encoder states `h`: the learned router's cosine rule (`p_0 = 1`), or
        a fixed router's boundaries with p = 1 at starts and 0 elsewhere."""
        if self.spec.router != "learned":
            starts = fixed_boundaries(ids, self.spec)
            return starts, starts.to(h.dtype)
        q, k = self.w_q(h[:, 1:]), self.w_k(h[:, :-1])
        cos = F.cosine_similarity(q, k, dim=-1, eps=1e-6)
        p = torch.cat([torch.ones_like(h[:, :1, 0]), ((1 - cos) / 2).clamp(0.0, 1.0)], dim=1)
        return p >= 0.5, p

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor | None = None, **_) -> CausalLMOutputWithPast:
        if input_ids.shape[1] > self.spec.context:
            raise ValueError(f"a sequence of {input_ids.shape[1]} bytes is longer than the context {self.spec.context}")
        if int(input_ids.max()) >= self.spec.vocab_size or int(input_ids.min()) < 0:
            raise ValueError(f"byte ids must lie in [0, {self.spec.vocab_size}); got {int(input_ids.min())}.."
                             f"{int(input_ids.max())}")  # fmt: skip
        x = _run(self.encoder, self.embed(input_ids))
        starts, p = self.route(input_ids, x)
        chunks, mask = downsample(self.up_proj(x), starts)
        z = _run(self.main, chunks, mask)
        if self.spec.router == "learned":
            p_chunks, _ = downsample(p[..., None], starts)
            z = smooth(z, p_chunks[..., 0])
            conf = torch.where(starts, p, 1 - p)
            up = upsample(z, starts) * (conf + (1 - conf).detach())[..., None]  # straight-through: value 1, grad of conf
            ratio = ratio_loss(starts, p, self.spec.target_ratio)
        else:
            up = upsample(z, starts)
            ratio = x.new_zeros(())
        h = _run(self.decoder, self.down_proj(up) + self.residual(x))
        logits = self.lm_head(self.norm(h))
        self.last = {"starts": starts, "p": p.detach(), "ratio": ratio}  # ratio keeps its graph: chunked_loss adds it
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(), ignore_index=-100)
        return CausalLMOutputWithPast(loss=loss, logits=logits)


def make_chunked(spec: ChunkSpec, seed: int = 0) -> ChunkedByteLM:
    """A freshly initialised `ChunkedByteLM` (seeded: the same spec and seed give the same weights everywhere)."""
    torch.manual_seed(seed)
    return ChunkedByteLM(spec)


def chunked_loss(model: ChunkedByteLM, batch: torch.Tensor) -> torch.Tensor:
    """Next-byte cross-entropy on `batch [B, T + 1]` plus `ratio_weight x ratio_loss` (the shared trainer's `loss_fn`)."""
    logits = model(input_ids=batch[:, :-1]).logits
    ce = F.cross_entropy(logits.flatten(0, 1).float(), batch[:, 1:].flatten())
    return ce + model.spec.ratio_weight * model.last["ratio"]


@torch.no_grad()
def bits_per_byte(model: ChunkedByteLM, ids: torch.Tensor, window: int, batch: int = 16) -> tuple[float, float]:
    """`(bits per byte, bytes per chunk)` of `model` on a byte stream `ids [N]`, over consecutive windows of
    `window + 1` bytes (each predicts `window` bytes)."""
    model.eval()
    n = (ids.numel() - 1) // window
    if n < 1:
        raise ValueError(f"a stream of {ids.numel()} bytes has no window of {window + 1}")
    rows = torch.stack([ids[i * window : i * window + window + 1] for i in range(n)])
    nats, count, starts = 0.0, 0, 0
    for i in range(0, n, batch):
        b = rows[i : i + batch]
        logits = model(input_ids=b[:, :-1]).logits
        nats += F.cross_entropy(logits.flatten(0, 1).float(), b[:, 1:].flatten(), reduction="sum").item()
        count += b[:, 1:].numel()
        starts += int(model.last["starts"].sum())
    return nats / count / math.log(2), count / max(starts, 1)
