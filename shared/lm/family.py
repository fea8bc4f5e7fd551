"""One family of small causal LMs with switchable parts, for the papers about architecture and training dynamics.

Every model is a transformers `LlamaForCausalLM` (RMSNorm, SwiGLU, tied embeddings, as the project's tiny LMs) whose
parts a `ModelSpec` switches, so that a paper that asks "what if attention were X" changes one field and keeps the
rest, the trainer included:

| part | choices | what it is |
|---|---|---|
| `attention` | `softmax` | causal dot-product softmax (the reference) |
| (one name, or one per layer) | `sigmoid` | sigmoid(q.k / sqrt d) per pair, no row normalisation (Gu et al. 2024, Sec. 7) |
| | `relu` | relu(q.k / sqrt d) / number of visible keys (Guo et al. 2024) |
| | `key_bias` | softmax over an extra learnable key with a zero value, visible to every query |
| | `linear` | (1 + elu) feature maps, row-normalised: linear attention (Katharopoulos et al. 2020) |
| | `static` | input-independent mixing: a learned causal `[context, context]` softmax, values still from the input |
| | `none` | no token mixing: the attention sublayer outputs zeros (an MLP-only model) |
| `position` | `rope` | rotary phases m * theta_i (the transformers default) |
| | `nope` | no position signal |
| | `learned` | learned absolute embeddings added to the input |
| | `sinusoidal` | fixed sine/cosine absolute embeddings added to the input (Vaswani et al. 2017) |
| | `alibi` | a per-head linear distance penalty on the logits (Press et al. 2022) |
| | `cope` | contextual position (Golovneva et al. 2024): p_ij = sum_{k=j..i} sigmoid(q_i.k_k), interpolated embeddings |
| | `carope` | context-aware rotary phases (Veisi, Fartoot & Amirzadeh 2025): per head and token a base f = 1 / (softplus(W x_t) + 1); the phase of frequency i at position m is sum_{t<=m} f_t^(i+1) |
| `embedding` | `standard` | a fixed embedding table |
| | `random_codes` | lexinvariant: every sequence draws its own Gaussian code per token id, used as input and output embedding (Huang et al. 2023) |
| `qk_source` | `hidden` / `embeddings` | queries and keys from the current hidden state, or from the (normed) input embeddings |
| `mlp` | `swiglu` / `relu` | the Llama gated MLP, or a 2-layer ReLU MLP |
| `norm` | `rms` / `layer` | RMSNorm or LayerNorm (the final norm too) |

`model.bidirectional = True` lets every query see every key (mask-denoising objectives); the default is causal.
Sequences are unpadded windows; `forward(key_padding=[B, S] bool)` hides padded keys.

The attention operations are registered with transformers' `AttentionInterface` as one dispatcher, so the Llama code
path (projections, norms, residuals, `output_attentions`) is the library's; each variant is a few lines in
`_mix`. `trace(model, ids)` returns per layer the attention logits, weights, value states and the residual stream
after the block: what papers about attention sinks and head dynamics measure.
"""

import math
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.nn import functional as F
from transformers import AttentionInterface, LlamaConfig, LlamaForCausalLM
from transformers.modeling_outputs import CausalLMOutputWithPast

ATTENTION = ("softmax", "sigmoid", "relu", "key_bias", "linear", "static", "none")
POSITION = ("rope", "nope", "learned", "sinusoidal", "alibi", "cope", "carope")
EMBEDDING = ("standard", "random_codes")
IMPLEMENTATION = "token_papers_family"


@dataclass(frozen=True)
class ModelSpec:
    """The switchable parts of a family model (see the module docstring for the choices).

    Args:
        vocab_size (int): token ids `0..vocab_size-1` (extra tokens such as pause or meta tokens are ids like others).
        attention (str | tuple[str, ...]): one variant for every layer, or one per layer (hybrids).
        context (int): longest sequence (learned positions, static mixing, CoPE positions are sized by it).
        special_ids (dict): the config's `bos_token_id`, `eos_token_id`, `pad_token_id`. No pad id by default: a pad id
            makes its embedding row zero and frozen (`padding_idx`), which would silently mute a real token; the
            family's sequences are unpadded and `key_padding=` hides padded keys instead.

    Every weight, the parts a spec adds included, is drawn by the Llama initialiser (normal, std 0.02), norms at 1.
    """

    vocab_size: int
    hidden_size: int = 64
    layers: int = 2
    heads: int = 4
    mlp_ratio: int = 4
    context: int = 128
    attention: str | tuple[str, ...] = "softmax"
    position: str = "rope"
    embedding: str = "standard"
    qk_source: str = "hidden"
    mlp: str = "swiglu"
    norm: str = "rms"
    tie_embeddings: bool = True
    rope_theta: float = 10000.0
    special_ids: dict = field(default_factory=lambda: {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": None})

    def per_layer(self) -> tuple[str, ...]:
        """The attention variant of each layer."""
        a = (self.attention,) * self.layers if isinstance(self.attention, str) else tuple(self.attention)
        return a

    def validate(self) -> None:
        """Raise `ValueError` naming the bad field and the choices, before any weight is built."""
        layers = self.per_layer()
        if len(layers) != self.layers:
            raise ValueError(f"attention has {len(layers)} entries for {self.layers} layers: {self.attention!r}")
        for name, value, choices in [("attention", a, ATTENTION) for a in layers] + [
            ("position", self.position, POSITION), ("embedding", self.embedding, EMBEDDING),
            ("qk_source", self.qk_source, ("hidden", "embeddings")), ("mlp", self.mlp, ("swiglu", "relu")),
            ("norm", self.norm, ("rms", "layer"))]:  # fmt: skip
            if value not in choices:
                raise ValueError(f"ModelSpec.{name}={value!r}; choose one of {choices}")
        if self.hidden_size % self.heads or (self.hidden_size // self.heads) % 2:
            raise ValueError(f"hidden_size {self.hidden_size} must split into {self.heads} heads of even width")
        if self.embedding == "random_codes" and not self.tie_embeddings:
            raise ValueError("random_codes embeddings are their own output layer: tie_embeddings must be True")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["attention"] = list(self.per_layer())
        return d


class _NoRotary(nn.Module):
    """Stands in for the rotary embedding when the position scheme is not RoPE: cos = 1, sin = 0 leaves q, k as they are."""

    def __init__(self, head_dim: int):
        super().__init__()
        self.head_dim = head_dim

    def forward(self, x, position_ids):
        shape = (*position_ids.shape, self.head_dim)
        return torch.ones(shape, dtype=x.dtype, device=x.device), torch.zeros(shape, dtype=x.dtype, device=x.device)


class _ReluMLP(nn.Module):
    def __init__(self, hidden: int, width: int):
        super().__init__()
        self.up, self.down = nn.Linear(hidden, width, bias=False), nn.Linear(width, hidden, bias=False)

    def forward(self, x):
        return self.down(F.relu(self.up(x)))


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Llama's rotary convention (halves, not interleaved pairs): `x * cos + rotate_half(x) * sin`."""
    a, b = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-b, a], dim=-1) * sin


def visible_keys(T: int, S: int, device, bidirectional: bool = False) -> torch.Tensor:
    """`[T, S]` boolean: which keys each query may see when the last T of S keys are the queries' own."""
    if bidirectional:
        return torch.ones(T, S, dtype=torch.bool, device=device)
    q = torch.arange(T, device=device).unsqueeze(1) + (S - T)
    return torch.arange(S, device=device).unsqueeze(0) <= q


def sinusoidal_table(context: int, hidden: int) -> torch.Tensor:
    """`[context, hidden]` fixed absolute positions: sin(m / 10000^(2i/d)) in even, cos in odd columns (Vaswani et al.),
    scaled by 0.02 * sqrt(2) to the spread of the initial token embeddings so neither drowns the other."""
    m = torch.arange(context, dtype=torch.float32).unsqueeze(1)
    freq = torch.pow(10000.0, -torch.arange(0, hidden, 2, dtype=torch.float32) / hidden)
    table = torch.zeros(context, hidden)
    table[:, 0::2], table[:, 1::2] = torch.sin(m * freq), torch.cos(m * freq)
    return table * 0.02 * math.sqrt(2)


def alibi_slopes(heads: int) -> torch.Tensor:
    """The geometric ALiBi slopes 2^(-8 h / H), h = 1..H (Press et al. 2022, for H a power of two)."""
    return torch.tensor([2.0 ** (-8.0 * (h + 1) / heads) for h in range(heads)])


def _cope_logits(module, query, key, visible):
    """CoPE's position logits `[B, H, T, S]`: gates sigmoid(q_i.k_j), contextual positions p_ij = sum_{k=j..i} g_ik
    (clamped to the table), and q_i.e[p] interpolated between the two nearest integer positions."""
    gates = torch.sigmoid(query @ key.transpose(-1, -2)) * visible  # [B, H, T, S]
    pos = gates.flip(-1).cumsum(-1).flip(-1).clamp(max=module.cope_pos.shape[0] - 1)  # sum over k = j..S-1
    table = query @ module.cope_pos.to(query.dtype).t()  # [B, H, T, P]
    lo = pos.floor().long()
    hi = pos.ceil().long()
    w = pos - lo
    return table.gather(-1, lo) * (1 - w) + table.gather(-1, hi) * w


def _carope_phases(module, state, T: int, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin `[B, H, T, D]` of CARoPE: f_t = 1 / (softplus(W x_t) + 1) per head, phase_i(m) = sum_{t<=m} f_t^(i+1),
    for the D/2 frequencies i (Llama's half convention: the phases repeat over the two halves)."""
    x = state["embeds"]  # [B, T, hidden]
    f = 1.0 / (F.softplus(module.carope_proj(x.to(module.carope_proj.weight.dtype))) + 1.0)  # [B, T, H]
    half = module.head_dim // 2
    powers = torch.arange(1, half + 1, device=x.device, dtype=f.dtype)  # [D/2]
    phase = (f.unsqueeze(-1) ** powers).cumsum(1)  # [B, T, H, D/2]
    phase = torch.cat([phase, phase], dim=-1).transpose(1, 2)[:, :, -T:]  # [B, H, T, D]
    return phase.cos().to(dtype), phase.sin().to(dtype)


def family_attention(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
    """The dispatcher registered with transformers: mixes the tokens of one layer by `module.variant`.

    Args:
        query, key, value (torch.Tensor): `[B, H, T, D]` (key/value may have fewer heads, grouped-query).

    Returns:
        tuple: output `[B, T, H, D]` and the attention weights `[B, H, T, S]` (row-normalised for the metric where the
        operation itself is not, as `sigmoid` and `relu`; `[B, H, T, 1 + S]` for `key_bias`, the slot first).
    """
    state = getattr(module, "family_state", {})
    position = getattr(module, "position", "rope")  # rotary phases, if any, were applied before this call
    groups = getattr(module, "num_key_value_groups", 1)
    key, value = key.repeat_interleave(groups, dim=1), value.repeat_interleave(groups, dim=1)
    if state.get("qk_embeds") is not None:  # queries and keys from the input embeddings, not the hidden state
        x = module.qk_norm(state["qk_embeds"])  # this layer's own input norm
        shape = (*x.shape[:2], -1, module.head_dim)
        query = module.q_proj(x).view(shape).transpose(1, 2)
        key = module.k_proj(x).view(shape).transpose(1, 2).repeat_interleave(groups, dim=1)
        if state.get("cos_sin") is not None:
            query, key = _rotate(query, *state["cos_sin"]), _rotate(key, *state["cos_sin"])
    T, S = query.shape[-2], key.shape[-2]
    visible = visible_keys(T, S, query.device, state.get("bidirectional", False))
    if state.get("key_padding") is not None:
        visible = visible & state["key_padding"][:, None, None, -S:]
    if position == "carope":
        cos, sin = _carope_phases(module, state, T, query.dtype)
        query, key = _rotate(query, cos, sin), _rotate(key, cos, sin)
    variant = module.variant
    record = None
    if state.get("trace") is not None:
        record = {"logits": None, "values": value}
        state["trace"].append(record)
    if variant == "none":
        out = torch.zeros_like(query)
        weights = torch.zeros(*query.shape[:-1], S, dtype=query.dtype, device=query.device)
        return out.transpose(1, 2), weights
    if variant == "static":
        logits = module.static_logits[S - T : S, :S].to(query.dtype).expand(query.shape[0], query.shape[1], T, S)
        weights = logits.masked_fill(~visible, float("-inf")).softmax(-1)
        return (weights @ value).transpose(1, 2), weights
    if variant == "linear":
        fq, fk = F.elu(query) + 1, F.elu(key) + 1
        weights = (fq @ fk.transpose(-1, -2)) * visible
        weights = weights / weights.sum(-1, keepdim=True).clamp_min(1e-6)
        return (weights @ value).transpose(1, 2), weights
    scores = query @ key.transpose(-1, -2) * scaling  # [B, H, T, S]
    if position == "alibi":
        distance = (torch.arange(T, device=query.device).unsqueeze(1) + (S - T)) - torch.arange(S, device=query.device)
        scores = scores - module.alibi.to(scores.dtype).view(1, -1, 1, 1) * distance.abs()
    elif position == "cope":
        scores = scores + _cope_logits(module, query, key, visible)
    if record is not None:
        record["logits"] = scores.masked_fill(~visible, float("nan"))
    if variant == "softmax":
        probs = scores.masked_fill(~visible, float("-inf")).softmax(-1)
        return (probs @ value).transpose(1, 2), probs
    if variant == "sigmoid":
        weights = torch.sigmoid(scores) * visible
        return (weights @ value).transpose(1, 2), weights / weights.sum(-1, keepdim=True)
    if variant == "relu":
        weights = F.relu(scores).masked_fill(~visible, 0.0) / visible.sum(-1, keepdim=True)
        return (weights @ value).transpose(1, 2), weights
    if variant == "key_bias":
        B, H, _, D = query.shape
        slot = (query @ module.sink_key.to(query.dtype).view(1, H, D, 1)) * scaling  # [B, H, T, 1]
        scores = torch.cat([slot, scores], dim=-1)
        vis = torch.cat([torch.ones(*visible.shape[:-1], 1, dtype=torch.bool, device=visible.device), visible], -1)
        probs = scores.masked_fill(~vis, float("-inf")).softmax(-1)
        return (probs[..., 1:] @ value).transpose(1, 2), probs  # the slot's value is zero
    raise ValueError(f"unknown attention variant {variant!r}")


AttentionInterface.register(IMPLEMENTATION, family_attention)


class FamilyLM(LlamaForCausalLM):
    """A `LlamaForCausalLM` with the parts of a `ModelSpec` (`model.spec`); built by `make_model`.

    `forward(input_ids [B, T], key_padding=None, codes_generator=None, **kwargs)` returns the usual output with
    `.logits [B, T, V]`. For `random_codes`, each sequence draws fresh codes from `codes_generator` (default: torch's
    global generator, which the trainer seeds): pass a seeded generator to evaluate on fixed codes.
    """

    def __init__(self, config: LlamaConfig, spec: ModelSpec):
        super().__init__(config)
        self.spec = spec
        self.bidirectional = False
        self._state: dict = {}
        head_dim = spec.hidden_size // spec.heads
        if spec.position != "rope":
            self.model.rotary_emb = _NoRotary(head_dim)
        if spec.position == "learned":
            self.position_table = nn.Embedding(spec.context, spec.hidden_size)
            nn.init.normal_(self.position_table.weight, std=0.02)
        if spec.position == "sinusoidal":
            self.register_buffer(
                "position_table_fixed", sinusoidal_table(spec.context, spec.hidden_size), persistent=False
            )
        for layer, variant in zip(self.model.layers, spec.per_layer()):
            attn = layer.self_attn
            attn.variant, attn.position, attn.family_state = variant, spec.position, self._state
            if variant == "key_bias":
                attn.sink_key = nn.Parameter(torch.randn(spec.heads, head_dim) * 0.02)
            if variant == "static":
                attn.static_logits = nn.Parameter(torch.zeros(spec.context, spec.context))
            if spec.position == "alibi":
                attn.register_buffer("alibi", alibi_slopes(spec.heads), persistent=False)
            if spec.position == "cope":
                attn.cope_pos = nn.Parameter(torch.randn(spec.context, head_dim) * 0.02)
            if spec.position == "carope":
                attn.carope_proj = nn.Linear(spec.hidden_size, spec.heads, bias=False)
            if spec.mlp == "relu":
                layer.mlp = _ReluMLP(spec.hidden_size, spec.mlp_ratio * spec.hidden_size)
            if spec.norm == "layer":
                layer.input_layernorm = nn.LayerNorm(spec.hidden_size)
                layer.post_attention_layernorm = nn.LayerNorm(spec.hidden_size)
            object.__setattr__(attn, "qk_norm", layer.input_layernorm)  # a reference, not a second submodule
        if spec.norm == "layer":
            self.model.norm = nn.LayerNorm(spec.hidden_size)
        # the parts added after the Llama initialiser ran get it too (PyTorch's own Linear init is ~3x wider here)
        for layer in self.model.layers:
            for module in (layer.mlp, getattr(layer.self_attn, "carope_proj", None)):
                if module is not None and not hasattr(module, "gate_proj"):
                    module.apply(self._init_weights)

    def _codes(self, input_ids: torch.Tensor, generator) -> torch.Tensor:
        """Per-sequence random codes `[B, V, hidden]`, N(0, 1/hidden) (unit-norm in expectation)."""
        B, V, d = input_ids.shape[0], self.spec.vocab_size, self.spec.hidden_size
        codes = torch.randn(B, V, d, generator=generator, device="cpu") / math.sqrt(d)
        return codes.to(device=input_ids.device, dtype=self.model.embed_tokens.weight.dtype)

    def forward(self, input_ids=None, key_padding=None, codes_generator=None, inputs_embeds=None, labels=None,
                **kwargs):  # fmt: skip
        codes = None
        if inputs_embeds is None:
            if self.spec.embedding == "random_codes":
                codes = self._codes(input_ids, codes_generator)
                inputs_embeds = codes.gather(1, input_ids.unsqueeze(-1).expand(-1, -1, codes.shape[-1]))
            else:
                inputs_embeds = self.model.embed_tokens(input_ids)
        raw = inputs_embeds
        T = inputs_embeds.shape[1]
        if self.spec.position in ("learned", "sinusoidal"):
            if T > self.spec.context:
                raise ValueError(
                    f"a sequence of {T} tokens is longer than the {self.spec.position} position table "
                    f"({self.spec.context})"
                )
            if self.spec.position == "learned":
                inputs_embeds = inputs_embeds + self.position_table(torch.arange(T, device=inputs_embeds.device))
            else:
                inputs_embeds = inputs_embeds + self.position_table_fixed[:T].to(inputs_embeds.dtype)
        self._state.clear()
        self._state.update(bidirectional=self.bidirectional, key_padding=key_padding, embeds=raw, trace=self._tracing)
        if self.spec.qk_source == "embeddings":
            self._state["qk_embeds"] = inputs_embeds
            if self.spec.position == "rope":
                pos = torch.arange(T, device=raw.device).unsqueeze(0)
                self._state["cos_sin"] = tuple(t.unsqueeze(1) for t in self.model.rotary_emb(raw, pos))
        out = self.model(inputs_embeds=inputs_embeds, **kwargs)
        h = out.last_hidden_state  # [B, T, hidden], after the final norm
        # random codes are the output embedding too: logits = h . code(v)
        logits = h @ codes.transpose(1, 2) if codes is not None else self.lm_head(h)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(), ignore_index=-100)
        return CausalLMOutputWithPast(loss=loss, logits=logits, past_key_values=out.past_key_values,
                                      hidden_states=out.hidden_states, attentions=out.attentions)  # fmt: skip

    _tracing = None


@torch.no_grad()
def trace(model: FamilyLM, ids: torch.Tensor, **kwargs) -> list[dict]:
    """Per layer: attention `logits` `[B, H, T, S]` (NaN where hidden; None for static, linear and none), `weights`
    (as `family_attention` returns them), `values` `[B, H, S, D]` and the `residual` stream after the block
    `[B, T, hidden]`, for input ids `[B, T]` (kwargs go to the forward)."""
    records, residuals = [], []
    hooks = [layer.register_forward_hook(lambda m, a, o: residuals.append(o[0] if isinstance(o, tuple) else o))
             for layer in model.model.layers]  # fmt: skip
    was_training = model.training
    model.eval()
    model._tracing = records
    try:
        out = model(input_ids=ids, output_attentions=True, **kwargs)
    finally:
        model._tracing = None
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    for rec, weights, res in zip(records, out.attentions, residuals):
        rec.update(weights=weights, residual=res)
    return records


@torch.no_grad()
def attention_probs(model: FamilyLM, ids: torch.Tensor) -> torch.Tensor:
    """All layers' attention weights `[N, L, H, T, S]` (float32) of input ids `[N, T]`, under the model's own operation."""
    was_training = model.training
    model.eval()
    out = model(input_ids=ids, output_attentions=True)
    model.train(was_training)
    return torch.stack([a.float() for a in out.attentions], dim=1)


def code_version() -> str:
    """A short hash of the code a trained family model depends on (this module and the trainer): put it in a checkpoint
    cache's key, so that a fix to the engine retrains instead of reusing stale weights silently. The task generators
    (`tasks.py`) are left out: a new task must not retrain every cached model; a cache whose data comes from a task
    keys the task's settings itself."""
    import hashlib
    from pathlib import Path

    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in ("family.py", "trainer.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:12]


def make_model(spec: ModelSpec, seed: int = 0) -> FamilyLM:
    """A freshly initialised `FamilyLM` (seeded: the same spec and seed give the same weights on every machine)."""
    spec.validate()
    head_dim = spec.hidden_size // spec.heads
    config = LlamaConfig(
        vocab_size=spec.vocab_size, hidden_size=spec.hidden_size, num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads, num_key_value_heads=spec.heads, head_dim=head_dim,
        intermediate_size=spec.mlp_ratio * spec.hidden_size, max_position_embeddings=spec.context,
        rms_norm_eps=1e-5, tie_word_embeddings=spec.tie_embeddings, rope_theta=spec.rope_theta, **spec.special_ids,
    )  # fmt: skip
    config._attn_implementation = IMPLEMENTATION
    torch.manual_seed(seed)
    return FamilyLM(config, spec)
