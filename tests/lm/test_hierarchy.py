"""The byte-level hierarchical LM (`shared.lm.hierarchy`): chunking references against the batched paths, causality
under every router, the ratio loss's known values, and that training lowers the loss."""

import pytest
import torch

from shared.lm import hierarchy as H
from shared.lm.trainer import TrainConfig, train


def _ids(B=3, T=40, seed=0, vocab=40):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(33, vocab + 33, (B, T), generator=g)
    ids[ids % 7 == 0] = 32  # spaces
    return ids


def test_downsample_and_upsample_match_their_references():
    g = torch.Generator().manual_seed(1)
    h = torch.randn(4, 30, 8, generator=g)
    starts = torch.rand(4, 30, generator=g) < 0.3
    starts[:, 0] = True
    starts[2] = True  # a sequence where every position starts a chunk
    chunks, mask = H.downsample(h, starts)
    ref, ref_mask = H.downsample_reference(h, starts)
    torch.testing.assert_close(chunks, ref)
    assert torch.equal(mask, ref_mask) and mask.sum(1).tolist() == starts.sum(1).tolist()
    z = torch.randn(4, chunks.shape[1], 8, generator=g)
    torch.testing.assert_close(H.upsample(z, starts), H.upsample_reference(z, starts))
    # downsample then upsample returns, at every chunk start, that start's own row
    back = H.upsample(chunks, starts)
    torch.testing.assert_close(back[starts], h[starts])
    bad = starts.clone()
    bad[1, 0] = False
    with pytest.raises(ValueError, match="position 0"):
        H.downsample(h, bad)


def test_fixed_routers_place_boundaries_after_spaces_and_every_stride():
    ids = torch.tensor([[104, 105, 32, 116, 104, 101, 32, 99]])  # "hi the c"
    space = H.fixed_boundaries(ids, H.ChunkSpec(router="space"))
    assert space[0].tolist() == [True, False, False, True, False, False, False, True]
    stride = H.fixed_boundaries(ids, H.ChunkSpec(router="stride", stride=3))
    assert stride[0].tolist() == [True, False, False, True, False, False, True, False]


def test_smoothing_is_the_ema_over_chunks():
    z = torch.tensor([[[1.0], [3.0], [5.0]]])
    p = torch.tensor([[1.0, 0.5, 1.0]])
    assert H.smooth(z, p)[0, :, 0].tolist() == [1.0, 2.0, 5.0]


def test_ratio_loss_is_one_at_the_target_and_larger_away_from_it():
    starts = torch.zeros(1, 12, dtype=torch.bool)
    starts[0, ::4] = True  # 1 in 4
    assert H.ratio_loss(starts, torch.full((1, 12), 0.25), 4.0).item() == pytest.approx(1.0)
    every = torch.ones(1, 12, dtype=torch.bool)
    assert H.ratio_loss(every, torch.ones(1, 12), 4.0).item() > 1.2
    # F fixed at 1/N, the loss is flat in G: the minimum over routers sits at F = 1/N
    assert H.ratio_loss(starts, torch.full((1, 12), 0.6), 4.0).item() == pytest.approx(1.0)


@pytest.mark.parametrize("router", H.ROUTERS)
def test_every_router_is_causal(router):
    spec = H.ChunkSpec(vocab_size=128, hidden_size=16, heads=2, router=router, stride=3, context=64)
    model = H.make_chunked(spec, seed=0).eval()
    ids = _ids(2, 24)
    base = model(input_ids=ids).logits
    for t in (5, 12, 20):
        changed = ids.clone()
        changed[:, t + 1 :] = torch.randint(33, 120, changed[:, t + 1 :].shape, generator=torch.Generator().manual_seed(t))
        changed[0, t + 1 :: 3] = 32  # other spaces: other boundaries after t
        out = model(input_ids=changed).logits
        torch.testing.assert_close(out[:, : t + 1], base[:, : t + 1], atol=1e-5, rtol=1e-5)
        assert not torch.allclose(out[:, t + 1 :], base[:, t + 1 :])


def test_learned_router_reports_its_chunking_and_training_lowers_the_loss():
    spec = H.ChunkSpec(vocab_size=128, hidden_size=16, heads=2, router="learned", target_ratio=3.0, context=64)
    model = H.make_chunked(spec, seed=0)
    text = ("the cat sat on the mat. " * 40).encode()
    stream = torch.tensor(list(text), dtype=torch.long)
    before, ratio_before = H.bits_per_byte(model, stream, 32)
    assert model.last["starts"][:, 0].all() and 0 <= float(model.last["p"].min()) <= float(model.last["p"].max()) <= 1
    cfg = TrainConfig(steps=60, batch_size=8, seq_len=32, lr=3e-3, warmup=5, seed=0, log_every=1000, threads=1)
    train(model, stream, cfg, loss_fn=H.chunked_loss, log=None)
    after, ratio = H.bits_per_byte(model, stream, 32)
    assert after < before - 1.0 and ratio >= 1.0
    # the router gets a gradient through the smoothing, the straight-through confidence and the ratio loss
    model.train()
    H.chunked_loss(model, stream[: 4 * 33].view(4, 33)).backward()
    assert model.w_q.weight.grad.abs().sum() > 0 and model.w_k.weight.grad.abs().sum() > 0


def test_spec_errors_name_the_field():
    with pytest.raises(ValueError, match="router"):
        H.ChunkSpec(router="bpe").validate()
    with pytest.raises(ValueError, match="main_hidden"):
        H.ChunkSpec(hidden_size=64, main_hidden=30, heads=4).validate()
    with pytest.raises(ValueError, match="target_ratio"):
        H.ChunkSpec(target_ratio=1.0).validate()
    model = H.make_chunked(H.ChunkSpec(vocab_size=64, hidden_size=16, heads=2, context=16))
    with pytest.raises(ValueError, match="longer than the context"):
        model(input_ids=torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match="byte ids"):
        model(input_ids=torch.full((1, 8), 64))
