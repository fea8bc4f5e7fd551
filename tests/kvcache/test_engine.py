"""The pruned cache on a tiny random Llama: the streaming loop against one-pass references, fast paths against the
reference path, RoPE re-rotation against fresh rotary keys, H2O's bookkeeping against the full attention matrix,
TokenSelect's streamed selection against its one-pass fast path."""

import pytest
import torch
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

from shared.kvcache import (
    FullCache,
    HeavyHitter,
    PolicyCache,
    RandomEviction,
    SinkWindow,
    TokenSelect,
    attention_maps,
    decode_ms,
    generate,
    kv_attention,
    masked_nll,
    one_pass_logits,
    plant_fact,
    policy_nll,
    recompute_nll,
    rotate_keys,
    selection_nll,
    sink_mass,
    stream_nll,
    topk_mass,
)
from shared.testing import assert_close


def _one_pass_nll(model, ids):
    logits = model(input_ids=ids).logits[0, :-1].double()
    return -torch.log_softmax(logits, -1).gather(-1, ids[0, 1:, None]).squeeze(-1)


@torch.no_grad()
@pytest.mark.parametrize("prefill", [1, 7])
def test_full_cache_stream_equals_one_pass(tiny_llama, ids, prefill):
    ref = _one_pass_nll(tiny_llama, ids)
    got = stream_nll(tiny_llama, ids, FullCache(), prefill=prefill)
    assert_close("full cache", ref, got.nll, rel_rms=1e-5)
    assert got.cache_tokens[-1] == ids.shape[1] - 1


@torch.no_grad()
@pytest.mark.parametrize("n_sink", [0, 4])
def test_sink_window_stream_equals_masked_fast_path(tiny_llama, ids, n_sink):
    policy = SinkWindow(budget=12, n_sink=n_sink)
    streamed = stream_nll(tiny_llama, ids, policy).nll
    assert_close("masked", streamed, masked_nll(tiny_llama, ids, policy), rel_rms=1e-5)
    # and eviction really happened: the window result differs from the full cache
    assert (streamed - _one_pass_nll(tiny_llama, ids)).abs().max() > 1e-3
    assert stream_nll(tiny_llama, ids, policy).cache_tokens.max() == 12


@torch.no_grad()
def test_sink_window_fast_eviction_equals_reference(tiny_llama, ids):
    policy = SinkWindow(budget=10, n_sink=2)
    fast = stream_nll(tiny_llama, ids, policy, fast=True, prefill=20)
    ref = stream_nll(tiny_llama, ids, policy, fast=False, prefill=20)
    assert torch.equal(fast.nll, ref.nll)


def test_rotate_keys_matches_fresh_rotation(tiny_llama):
    rope = tiny_llama.model.rotary_emb
    k = torch.randn(1, 2, 6, 16)
    p = torch.tensor([[3, 9, 14, 20, 41, 77]])
    delta = torch.tensor([-3, -8, 0, -12, 5, -70]).expand(1, 2, 6)
    at_p, _ = apply_rotary_pos_emb(k, k, *rope(k, p))
    want, _ = apply_rotary_pos_emb(k, k, *rope(k, p + delta[0, :1]))
    assert_close("rotated", want, rotate_keys(at_p, delta, rope.inv_freq), rel_rms=1e-5)


@torch.no_grad()
def test_cache_positions_rerotate_kept_keys(tiny_llama, ids):
    # layer-0 keys depend only on their token and position: after eviction with "cache" positions they must equal
    # keys computed afresh for the kept tokens at slots 0..K-1
    S, K = 3, 11
    pc = PolicyCache(tiny_llama, SinkWindow(budget=K, n_sink=S), positions="cache")
    with kv_attention(tiny_llama, return_weights=False):
        for t in range(ids.shape[1]):
            pc.forward(ids[:, t : t + 1])
    T = ids.shape[1]
    kept = torch.cat([ids[:, :S], ids[:, T - (K - S) :]], dim=1)
    fresh = PolicyCache(tiny_llama, FullCache())
    tiny_llama(input_ids=kept, position_ids=torch.arange(K)[None], past_key_values=fresh.cache)
    assert_close("re-rotated keys", fresh.cache.layers[0].keys, pc.cache.layers[0].keys, rel_rms=1e-5)
    assert_close("values", fresh.cache.layers[0].values, pc.cache.layers[0].values, rel_rms=1e-6)


@torch.no_grad()
def test_cache_positions_without_eviction_equal_full(tiny_llama, ids):
    got = stream_nll(tiny_llama, ids, SinkWindow(budget=100, n_sink=4), positions="cache").nll
    assert_close("no eviction", _one_pass_nll(tiny_llama, ids), got, rel_rms=1e-5)


@torch.no_grad()
def test_heavy_hitter_accumulates_the_full_attention_columns(tiny_llama, ids):
    # with a budget above the length nothing is evicted, so H2O's scores are the column sums of the attention matrix
    T = ids.shape[1]
    policy = HeavyHitter(budget=T + 5, n_recent=2)
    stream_nll(tiny_llama, ids[:, :T], policy, prefill=5)
    attn = attention_maps(tiny_llama, ids[:, : T - 1])  # the last token is only predicted, never read
    L, Hq = attn.shape[:2]
    want = attn.view(L, 2, Hq // 2, T - 1, T - 1).sum(2).sum(2)  # [L, Hkv, T-1]
    for layer in range(L):
        assert_close(f"layer {layer}", want[layer], policy.acc[layer][0], rel_rms=1e-5)


@torch.no_grad()
def test_batched_stream_keeps_documents_apart(tiny_llama, ids):
    # each document evicts by its own attention: the batch equals the documents streamed one by one
    batch = torch.cat([ids, ids.flip(-1)])
    got = stream_nll(tiny_llama, batch, HeavyHitter(budget=10, n_recent=3), prefill=4).nll
    one = stream_nll(tiny_llama, ids.flip(-1), HeavyHitter(budget=10, n_recent=3), prefill=4).nll
    assert got.shape == (2, ids.shape[1] - 1)
    assert_close("batched H2O", one, got[1], rel_rms=1e-5)


@torch.no_grad()
def test_heavy_hitter_and_per_layer_budgets_bound_the_cache(tiny_llama, ids):
    pc = PolicyCache(tiny_llama, HeavyHitter(budget=[9, 14], n_recent=3))
    with kv_attention(tiny_llama, return_weights=True):
        pc.forward(ids[:, :20])  # a chunk: per-layer caches of different lengths need the engine's own causal mask
        for t in range(20, ids.shape[1]):
            pc.forward(ids[:, t : t + 1])
    assert [lay.keys.shape[-2] for lay in pc.cache.layers] == [9, 14]
    assert pc.nbytes() == 2 * (9 + 14) * 2 * 16 * 4  # keys+values, layers, kv heads, head dim, fp32


@torch.no_grad()
def test_random_eviction_hurts_more_than_nothing(tiny_llama, ids):
    full = stream_nll(tiny_llama, ids, FullCache()).nll
    rnd = stream_nll(tiny_llama, ids, RandomEviction(budget=8, n_sink=1, n_recent=2)).nll
    assert not torch.allclose(full, rnd)


@torch.no_grad()
def test_generate_full_cache_equals_transformers_greedy(tiny_llama, ids):
    prompt = ids[:, :20]
    want = tiny_llama.generate(prompt, max_new_tokens=8, do_sample=False, pad_token_id=0)[0, 20:].tolist()
    assert generate(tiny_llama, prompt, FullCache(), max_new_tokens=8, chunk=6) == want


@torch.no_grad()
def test_recompute_with_a_long_window_is_the_full_model(tiny_llama, ids):
    full = _one_pass_nll(tiny_llama, ids)
    got = recompute_nll(tiny_llama, ids, window=6, targets=[5, 30, 46])
    assert_close("first window is the prefix", full[5:6], got[:1], rel_rms=1e-5)
    # later windows restart at position 0, so they equal a fresh pass over the window
    fresh = _one_pass_nll(tiny_llama, ids[:, 25:32])
    assert_close("fresh window", fresh[-1:], got[1:2], rel_rms=1e-5)
    with pytest.raises(ValueError):
        recompute_nll(tiny_llama, ids, window=6, targets=[3])


@torch.no_grad()
def test_batched_masked_nll_equals_single(tiny_llama, ids):
    batch = torch.cat([ids, ids.flip(-1)])
    policy = SinkWindow(budget=12, n_sink=2)
    got = masked_nll(tiny_llama, batch, policy)
    assert got.shape == (2, ids.shape[1] - 1)
    assert_close("batched", masked_nll(tiny_llama, ids.flip(-1), policy), got[1], rel_rms=1e-5)


def test_plant_fact():
    assert plant_fact([1, 2, 3, 4], [9, 9], 0.5) == [1, 2, 9, 9, 3, 4]
    assert plant_fact([1, 2], [9], 0.0) == [9, 1, 2] and plant_fact([1, 2], [9], 1.0) == [1, 2, 9]


@torch.no_grad()
def test_attention_statistics(tiny_llama, ids):
    attn = attention_maps(tiny_llama, ids[:, :16])
    assert attn.shape == (2, 4, 16, 16)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 4, 16))
    assert sink_mass(attn).shape == (2, 4)
    one_hot = torch.zeros(1, 1, 4, 4)
    one_hot[..., 0] = 1
    assert sink_mass(one_hot).item() == 1.0 and topk_mass(one_hot, 0.25).item() == 1.0


@torch.no_grad()
def test_decode_ms_reports_a_bounded_cache(tiny_llama):
    _, plain = decode_ms(tiny_llama, 64, None, new_tokens=2, vocab=97)
    _, full = decode_ms(tiny_llama, 64, FullCache(), new_tokens=2, vocab=97)
    _, small = decode_ms(tiny_llama, 64, SinkWindow(budget=16, n_sink=4), new_tokens=2, vocab=97)
    assert plain == full == 2 * 2 * 2 * 66 * 16 * 4  # keys+values, layers, kv heads, tokens, head dim, fp32
    assert small == full * 16 // 66


@torch.no_grad()
@pytest.mark.parametrize("threshold", [None, 0.3, -1.0])
def test_token_select_stream_equals_one_pass(tiny_llama, ids, threshold):
    # streamed: one row per step against the real cache (reference rows, and the gathered single-token attention);
    # one pass: every row's selection vectorised inside one forward with a mask
    streamed = TokenSelect(budget=12, n_sink=2, n_recent=3, threshold=threshold)
    got = stream_nll(tiny_llama, ids, streamed)
    one_pass = TokenSelect(budget=12, n_sink=2, n_recent=3, threshold=threshold)
    assert_close("one pass", got.nll, selection_nll(tiny_llama, ids, one_pass), rel_rms=1e-5)
    assert got.cache_tokens[-1] == ids.shape[1] - 1, "selection evicts nothing"
    assert (got.nll - _one_pass_nll(tiny_llama, ids)).abs().max() > 1e-3, "and it did select"
    if threshold == -1.0:
        assert streamed.stats()["reuse"] > 0.9
    # the streamed run saw one row less (the last token is never read); otherwise the same decisions
    assert 0 < streamed.stats()["attended"] < 0.6 and one_pass.counts["selected"] >= streamed.counts["selected"]


@torch.no_grad()
def test_token_select_reference_chunks_and_batches(tiny_llama, ids):
    # a prefill chunk goes through the per-row reference (fast=False) or the vectorised rows: same losses; a batch
    # of two documents (masked attention, no gather) equals each document alone
    ref = stream_nll(tiny_llama, ids, TokenSelect(budget=10, n_sink=1, n_recent=2, fast=False), prefill=30).nll
    fast = stream_nll(tiny_llama, ids, TokenSelect(budget=10, n_sink=1, n_recent=2), prefill=30).nll
    assert_close("chunked", ref, fast, rel_rms=1e-5)
    batch = stream_nll(tiny_llama, torch.cat([ids, ids.flip(-1)]), TokenSelect(budget=10, n_sink=1, n_recent=2)).nll
    one = stream_nll(tiny_llama, ids.flip(-1), TokenSelect(budget=10, n_sink=1, n_recent=2)).nll
    assert_close("batched", one, batch[1], rel_rms=1e-5)


@torch.no_grad()
def test_token_select_with_a_large_budget_is_the_full_model(tiny_llama, ids):
    full = _one_pass_nll(tiny_llama, ids)
    assert_close("one pass", full, selection_nll(tiny_llama, ids, TokenSelect(budget=60, n_recent=3)), rel_rms=1e-5)
    assert_close("streamed", full, stream_nll(tiny_llama, ids, TokenSelect(budget=60)).nll, rel_rms=1e-5)
    with pytest.raises(ValueError):
        selection_nll(tiny_llama, ids, FullCache())


@torch.no_grad()
def test_token_select_decodes_and_generates(tiny_llama, ids):
    _, full = decode_ms(tiny_llama, 64, FullCache(), new_tokens=2, vocab=97)
    _, sel = decode_ms(tiny_llama, 64, TokenSelect(budget=16, n_recent=4), new_tokens=2, vocab=97)
    assert sel == full, "selection keeps the whole cache"
    prompt = ids[:, :20]
    want = tiny_llama.generate(prompt, max_new_tokens=6, do_sample=False, pad_token_id=0)[0, 20:].tolist()
    assert generate(tiny_llama, prompt, TokenSelect(budget=40), max_new_tokens=6, chunk=7) == want


@torch.no_grad()
def test_policy_nll_takes_each_policys_exact_path(tiny_llama, ids):
    for policy in [SinkWindow(budget=12, n_sink=2), TokenSelect(budget=12, n_sink=2, n_recent=3)]:
        assert_close(type(policy).__name__, stream_nll(tiny_llama, ids, policy).nll, policy_nll(tiny_llama, ids, policy),
                     rel_rms=1e-5)  # fmt: skip
    h2o = stream_nll(tiny_llama, ids, HeavyHitter(budget=12, n_recent=4)).nll
    assert_close("H2O, prefill inside the budget", h2o, policy_nll(tiny_llama, ids, HeavyHitter(budget=12, n_recent=4),
                                                                   prefill=12), rel_rms=1e-5)  # fmt: skip


@torch.no_grad()
def test_one_pass_logits_last_positions(tiny_llama, ids):
    for policy in [SinkWindow(budget=12, n_sink=2), TokenSelect(budget=12, n_sink=2, n_recent=3)]:
        full = one_pass_logits(tiny_llama, ids, policy)
        assert full.shape == (1, ids.shape[1], 97)
        assert_close("last 3", full[:, -3:], one_pass_logits(tiny_llama, ids, policy, last=3), rel_rms=1e-5)
    with pytest.raises(ValueError):
        one_pass_logits(tiny_llama, ids, HeavyHitter(budget=12))
