"""The model family: each switchable part against a plain reference, and the invariants that define it."""

import math

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from shared.lm.family import ATTENTION, POSITION, ModelSpec, alibi_slopes, attention_probs, make_model, trace

V = 40


def spec(**kw):
    base = {"vocab_size": V, "hidden_size": 32, "layers": 2, "heads": 2, "context": 24}
    return ModelSpec(**{**base, **kw})


def randomise(model, seed=1):
    """Larger random weights than the init, so that attention is far from uniform and the variants differ."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return model


def ids(n=3, T=16, seed=0):
    return torch.randint(0, V, (n, T), generator=torch.Generator().manual_seed(seed))


def test_softmax_rope_is_llama_eager():
    """The reference: softmax + RoPE is transformers' own Llama with eager attention, weight for weight."""
    fam = randomise(make_model(spec()))
    cfg = LlamaConfig(**{k: v for k, v in fam.config.to_dict().items() if k in LlamaConfig().to_dict()})
    cfg._attn_implementation = "eager"
    ref = LlamaForCausalLM(cfg)
    ref.load_state_dict(fam.state_dict())
    x = ids()
    torch.testing.assert_close(fam(input_ids=x).logits, ref(input_ids=x).logits, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("attention", ATTENTION)
@pytest.mark.parametrize("position", POSITION)
def test_causal_every_variant(attention, position):
    """Changing the last token changes no earlier position's logits; bidirectional, it does (where tokens mix)."""
    m = randomise(make_model(spec(attention=attention, position=position)))
    x = ids()
    y = x.clone()
    y[:, -1] = (y[:, -1] + 1) % V
    a, b = m(input_ids=x).logits, m(input_ids=y).logits
    torch.testing.assert_close(a[:, :-1], b[:, :-1])
    m.bidirectional = True
    a, b = m(input_ids=x).logits, m(input_ids=y).logits
    assert attention == "none" or not torch.allclose(a[:, :-1], b[:, :-1])


def test_mlp_only_sees_one_token():
    m = randomise(make_model(spec(attention="none", position="nope")))
    x = ids()
    y = x.clone()
    y[:, :5] = (y[:, :5] + 3) % V
    torch.testing.assert_close(m(input_ids=x).logits[:, 5:], m(input_ids=y).logits[:, 5:])


def test_nope_one_layer_is_order_blind():
    """Without positions, a 1-layer model's last prediction does not depend on the order of the earlier tokens."""
    m = randomise(make_model(spec(layers=1, position="nope")))
    x = ids(T=10)
    perm = torch.cat([torch.randperm(9, generator=torch.Generator().manual_seed(2)), torch.tensor([9])])
    torch.testing.assert_close(m(input_ids=x).logits[:, -1], m(input_ids=x[:, perm]).logits[:, -1])
    m_rope = randomise(make_model(spec(layers=1, position="rope")))
    assert not torch.allclose(m_rope(input_ids=x).logits[:, -1], m_rope(input_ids=x[:, perm]).logits[:, -1])


def reference_attention(q, k, variant, position="nope", slopes=None):
    """fp64 loops: the attention weights of one head `[T, T]` from q, k `[T, D]`."""
    T, D = q.shape
    w = torch.zeros(T, T, dtype=torch.float64)
    for i in range(T):
        s = torch.tensor([float(q[i] @ k[j]) / math.sqrt(D) - (slopes * (i - j) if position == "alibi" else 0)
                          for j in range(i + 1)], dtype=torch.float64)  # fmt: skip
        if variant == "softmax":
            w[i, : i + 1] = s.softmax(0)
        elif variant == "sigmoid":
            w[i, : i + 1] = torch.sigmoid(s) / torch.sigmoid(s).sum()
        elif variant == "relu":
            w[i, : i + 1] = s.clamp_min(0) / (i + 1)
        elif variant == "linear":
            f = torch.tensor([float((torch.nn.functional.elu(q[i]) + 1) @ (torch.nn.functional.elu(k[j]) + 1))
                              for j in range(i + 1)], dtype=torch.float64)  # fmt: skip
            w[i, : i + 1] = f / f.sum()
    return w


@pytest.mark.parametrize("variant,position", [("softmax", "nope"), ("sigmoid", "nope"), ("relu", "nope"),
                                              ("linear", "nope"), ("softmax", "alibi")])  # fmt: skip
def test_weights_match_reference(variant, position):
    """Layer-0 weights against fp64 loops over the layer's own queries and keys."""
    m = randomise(make_model(spec(layers=1, heads=2, attention=variant, position=position)))
    x = ids(n=1, T=9)
    attn = m.model.layers[0].self_attn
    h = m.model.layers[0].input_layernorm(m.model.embed_tokens(x))[0].detach().double()
    q = (h @ attn.q_proj.weight.detach().double().t()).view(9, 2, 16)
    k = (h @ attn.k_proj.weight.detach().double().t()).view(9, 2, 16)
    got = attention_probs(m, x)[0, 0]  # [H, T, T]
    slopes = alibi_slopes(2)
    for head in range(2):
        ref = reference_attention(q[:, head], k[:, head], variant, position, float(slopes[head]))
        torch.testing.assert_close(got[head].double(), ref, rtol=1e-4, atol=1e-5)


def test_static_mixing_ignores_the_input():
    m = randomise(make_model(spec(attention="static")))
    w1, w2 = attention_probs(m, ids(seed=0)), attention_probs(m, ids(seed=1))
    torch.testing.assert_close(w1, w2)
    assert torch.allclose(w1.sum(-1), torch.ones(()))


def test_carope_with_constant_base_is_rope_with_those_frequencies():
    """With W = 0 the CARoPE base is f = 1 / (1 + ln 2) for every token: the phase of frequency i at position m is
    (m + 1) f^(i+1), a RoPE whose angles we can compute by hand."""
    m = randomise(make_model(spec(layers=1, position="carope", heads=2)))
    attn = m.model.layers[0].self_attn
    with torch.no_grad():
        attn.carope_proj.weight.zero_()
    x = ids(n=1, T=8)
    h = m.model.layers[0].input_layernorm(m.model.embed_tokens(x))[0]
    q = (h @ attn.q_proj.weight.t()).view(8, 2, 16).transpose(0, 1)
    k = (h @ attn.k_proj.weight.t()).view(8, 2, 16).transpose(0, 1)
    f = 1 / (1 + math.log(2))
    angles = torch.arange(1, 9, dtype=torch.float32)[:, None] * f ** torch.arange(1, 9, dtype=torch.float32)
    cos, sin = torch.cat([angles, angles], -1).cos(), torch.cat([angles, angles], -1).sin()

    def rot(t):
        a, b = t.chunk(2, -1)
        return t * cos + torch.cat([-b, a], -1) * sin

    s = rot(q) @ rot(k).transpose(-1, -2) / 4
    s = s.masked_fill(~torch.ones(8, 8, dtype=torch.bool).tril(), float("-inf")).softmax(-1)
    torch.testing.assert_close(attention_probs(m, x)[0, 0], s, rtol=1e-4, atol=1e-5)


def test_cope_positions_count_gates():
    """With all gates saturated at 1, CoPE's contextual position of key j for query i is i - j + 1 (a token count)."""
    from shared.lm.family import _cope_logits

    class M(torch.nn.Module):
        cope_pos = torch.nn.Parameter(torch.eye(6, 4)[:, :4] * 0 + torch.arange(6.0)[:, None])

    q = torch.ones(1, 1, 5, 4) * 100  # q.k huge: every gate is 1; q.e[p] = 400 p
    k = torch.ones(1, 1, 5, 4)
    vis = torch.ones(5, 5, dtype=torch.bool).tril()
    out = _cope_logits(M(), q, k, vis)[0, 0]
    i, j = torch.meshgrid(torch.arange(5), torch.arange(5), indexing="ij")
    expected = ((i - j + 1).clamp(0, 5) * 400.0).float()
    torch.testing.assert_close(out[vis], expected[vis])


def test_learned_positions_and_too_long_input():
    m = make_model(spec(position="learned", context=8))
    assert m(input_ids=ids(T=8)).logits.shape == (3, 8, V)
    with pytest.raises(ValueError, match="longer than the learned position table"):
        m(input_ids=ids(T=9))


def test_sinusoidal_positions_are_fixed_vaswani_and_break_order_blindness():
    m = randomise(make_model(spec(layers=1, position="sinusoidal", context=10)))
    table = m.position_table_fixed / (0.02 * math.sqrt(2))
    assert not any(n.startswith("position_table") for n, _ in m.named_parameters()), "a buffer, not trained"
    pos, i = 7, 3  # column 2i is sin(pos / 10000^(2i/d)), column 2i + 1 its cos
    angle = pos / 10000 ** (2 * i / 32)
    assert math.isclose(table[pos, 2 * i].item(), math.sin(angle), abs_tol=1e-6)
    assert math.isclose(table[pos, 2 * i + 1].item(), math.cos(angle), abs_tol=1e-6)
    x = ids(T=10)
    perm = torch.cat([torch.randperm(9, generator=torch.Generator().manual_seed(2)), torch.tensor([9])])
    assert not torch.allclose(m(input_ids=x).logits[:, -1], m(input_ids=x[:, perm]).logits[:, -1])
    with pytest.raises(ValueError, match="longer than the sinusoidal position table"):
        m(input_ids=ids(T=11))


def test_no_pad_id_by_default_so_token_zero_trains_like_any_other():
    """A pad id becomes the embedding's `padding_idx`: row zero at init and no gradient, a muted token 0."""
    m = make_model(spec())
    assert m.model.embed_tokens.padding_idx is None and m.model.embed_tokens.weight[0].abs().sum() > 0
    m(input_ids=torch.zeros(2, 6, dtype=torch.long), labels=torch.zeros(2, 6, dtype=torch.long)).loss.backward()
    assert m.model.embed_tokens.weight.grad[0].abs().sum() > 0
    padded = make_model(spec(special_ids={"pad_token_id": 0}))
    assert padded.model.embed_tokens.padding_idx == 0, "an explicit pad id is still honoured"


@pytest.mark.parametrize("part", ["mlp", "carope"])
def test_parts_added_to_llama_get_its_initialiser(part):
    """The ReLU MLP and CARoPE's projection are built after Llama's init ran; they are re-drawn at std 0.02 like the
    rest (PyTorch's default Linear init would be uniform with std 1/sqrt(3 * fan_in), ~0.1 at width 32)."""
    m = make_model(spec(mlp="relu", position="carope", hidden_size=64))
    layer = m.model.layers[0]
    w = layer.mlp.up.weight if part == "mlp" else layer.self_attn.carope_proj.weight
    assert abs(w.std().item() - 0.02) < 0.004


def test_random_codes_are_per_sequence_and_seeded():
    m = make_model(spec(embedding="random_codes"))
    x = ids()
    a = m(input_ids=x, codes_generator=torch.Generator().manual_seed(0)).logits
    b = m(input_ids=x, codes_generator=torch.Generator().manual_seed(0)).logits
    c = m(input_ids=x, codes_generator=torch.Generator().manual_seed(1)).logits
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
    # lexinvariance: renaming the tokens (a permutation of the vocabulary) with the codes renamed alike changes nothing
    perm = torch.randperm(V, generator=torch.Generator().manual_seed(3))
    codes = m._codes(x, torch.Generator().manual_seed(0))
    renamed = torch.empty_like(codes)
    renamed[:, perm] = codes
    h = m.model(inputs_embeds=codes.gather(1, x.unsqueeze(-1).expand(-1, -1, 32))).last_hidden_state
    h2 = m.model(inputs_embeds=renamed.gather(1, perm[x].unsqueeze(-1).expand(-1, -1, 32))).last_hidden_state
    torch.testing.assert_close(h, h2)


def test_qk_from_embeddings_ignores_the_residual_stream_in_later_layers():
    """Layer-1 attention with Q/K from the input embeddings does not change when layer 0's output changes."""
    m = randomise(make_model(spec(qk_source="embeddings")))
    x = ids()
    w1 = attention_probs(m, x)[:, 1]
    with torch.no_grad():
        m.model.layers[0].mlp.down_proj.weight.mul_(3)
    torch.testing.assert_close(attention_probs(m, x)[:, 1], w1)
    m2 = randomise(make_model(spec()))
    w1 = attention_probs(m2, x)[:, 1]
    with torch.no_grad():
        m2.model.layers[0].mlp.down_proj.weight.mul_(3)
    assert not torch.allclose(attention_probs(m2, x)[:, 1], w1)


def test_key_padding_hides_keys():
    m = randomise(make_model(spec()))
    m.bidirectional = True
    x = ids(n=1, T=10)
    pad = torch.ones(1, 10, dtype=torch.bool)
    pad[:, 7:] = False
    y = x.clone()
    y[:, 7:] = 0
    a = m(input_ids=x, key_padding=pad).logits[:, :7]
    b = m(input_ids=y, key_padding=pad).logits[:, :7]
    torch.testing.assert_close(a, b)


def test_trace_shapes_and_residual():
    m = randomise(make_model(spec(attention=("softmax", "relu"), norm="layer", mlp="relu")))
    x = ids()
    rec = trace(m, x)
    assert len(rec) == 2
    assert rec[0]["logits"].shape == (3, 2, 16, 16) and rec[0]["values"].shape == (3, 2, 16, 16)
    assert rec[1]["weights"].shape == (3, 2, 16, 16) and rec[1]["residual"].shape == (3, 16, 32)
    out = m.model(input_ids=x, output_hidden_states=True)
    torch.testing.assert_close(rec[0]["residual"], out.hidden_states[1])


def test_bad_spec_names_the_field():
    with pytest.raises(ValueError, match="attention"):
        make_model(spec(attention="softmax2"))
    with pytest.raises(ValueError, match="3 entries for 2 layers"):
        make_model(spec(attention=("softmax",) * 3))
    with pytest.raises(ValueError, match="position"):
        make_model(spec(position="rotary"))


def test_same_seed_same_weights():
    a, b = make_model(spec(position="cope"), seed=4), make_model(spec(position="cope"), seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def stub(variant, **attrs):
    """A bare module for calling `family_attention` directly (no model around it)."""
    m = torch.nn.Module()
    m.variant = variant
    for k, v in attrs.items():
        setattr(m, k, v)
    return m


def test_sigmoid_operation_is_unnormalised():
    from shared.lm.family import family_attention

    g = torch.Generator().manual_seed(2)
    q, k, v = torch.randn(3, 2, 3, 6, 4, generator=g).unbind(0)  # [B, H, T, D]
    out, probs = family_attention(stub("sigmoid"), q, k, v, None, scaling=0.5)
    w = torch.sigmoid(q @ k.transpose(-1, -2) * 0.5) * torch.tril(torch.ones(6, 6))
    torch.testing.assert_close(out, (w @ v).transpose(1, 2))
    torch.testing.assert_close(probs, w / w.sum(-1, keepdim=True))
    assert (w[..., 0, 0] < 1).all()  # the first query's only weight is sigmoid(s) < 1: nothing forces it to 1


def test_key_bias_slot_has_zero_value():
    from shared.lm.family import family_attention

    g = torch.Generator().manual_seed(3)
    q, k, v = torch.randn(3, 1, 2, 5, 4, generator=g).unbind(0)
    sink_key = torch.randn(2, 4, generator=g)
    out, probs = family_attention(stub("key_bias", sink_key=sink_key), q, k, v, None, scaling=0.5)
    assert probs.shape == (1, 2, 5, 6)
    torch.testing.assert_close(probs.sum(-1), torch.ones(1, 2, 5))
    assert (probs[..., 0] > 0).all() and probs[0, 0, 0, 2:].abs().max() == 0  # query t sees the slot and keys 0..t
    keys = torch.cat([sink_key.view(1, 2, 1, 4), k], dim=2)
    mask = torch.cat([torch.ones(5, 1, dtype=torch.bool), torch.tril(torch.ones(5, 5, dtype=torch.bool))], 1)
    p = (q @ keys.transpose(-1, -2) * 0.5).masked_fill(~mask, float("-inf")).softmax(-1)
    values = torch.cat([torch.zeros(1, 2, 1, 4), v], dim=2)
    torch.testing.assert_close(out, (p @ values).transpose(1, 2))
    model = make_model(spec(attention="key_bias"))
    model(input_ids=ids()).logits.sum().backward()
    assert all(layer.self_attn.sink_key.grad.abs().sum() > 0 for layer in model.model.layers)
