"""Benchmark: trainer throughput (tokens/s) and its fraction of the matmul peak measured here, in the same run.

    .venv/bin/python ci/bench_trainer.py [--steps 20] [--threads 1 2] [--family]

`--family` also trains `shared.lm.family` models of the `small` size with every attention variant (RoPE) and every
position scheme (softmax), and prints each one's throughput as a ratio to the standard `small` model of the same run.

The peak is the best fp32 GFLOP/s of square `torch.mm` (sizes 256..1024) with the same thread count. The trainer's
FLOP/s count only its matrix products: 6 x (linear weights + tied LM head) per token, plus attention scores and
values, 6 x layers x T x d per token with causal masking halving the 12 x L x T x d of a full attention.
"""

import argparse
import os
import sys
import time

import torch


def matmul_peak(threads: int, seconds: float = 2.0) -> float:
    """Best fp32 GFLOP/s of square matrix products on `threads` threads."""
    torch.set_num_threads(threads)
    best = 0.0
    for n in (256, 512, 1024):
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b  # warm-up
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 3:
            a @ b
            reps += 1
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9)
    return best


def flops_per_token(model, seq_len: int) -> float:
    cfg = model.config
    linear = sum(p.numel() for n, p in model.named_parameters() if p.dim() == 2 and "embed" not in n)
    head = cfg.vocab_size * cfg.hidden_size  # tied embedding used as the output projection
    attention = 6 * cfg.num_hidden_layers * seq_len * cfg.hidden_size
    return 6 * (linear + head) + attention


def bench_family(tokens, args, threads: int, peak: float, baseline: float) -> None:
    """Every attention variant and position scheme at the `small` size, as a ratio to the standard `small` model."""
    from shared.lm.configs import CONFIGS
    from shared.lm.family import ATTENTION, POSITION, ModelSpec, make_model
    from shared.lm.trainer import TrainConfig, train

    c = CONFIGS["small"]
    size = {"hidden_size": c["hidden_size"], "layers": c["num_hidden_layers"], "heads": c["num_attention_heads"],
            "mlp_ratio": c["intermediate_size"] // c["hidden_size"], "context": c["max_position_embeddings"]}  # fmt: skip
    variants = [(a, "rope") for a in ATTENTION] + [("softmax", p) for p in POSITION if p != "rope"]
    for attention, position in variants:
        model = make_model(ModelSpec(vocab_size=8192, attention=attention, position=position, **size))
        cfg = TrainConfig(steps=args.steps, batch_size=args.batch, seq_len=args.seq, warmup=2, log_every=args.steps,
                          threads=threads)  # fmt: skip
        train(model, tokens, TrainConfig(steps=2, batch_size=args.batch, seq_len=args.seq, threads=threads), log=None)
        res = train(model, tokens, cfg, log=None)
        achieved = res.tokens_per_s * flops_per_token(model, args.seq) / 1e9
        print(f"    family {attention:8s} {position:7s}: {res.tokens_per_s:8.0f} tokens/s = "
              f"{res.tokens_per_s / baseline:5.2f}x the standard small, {achieved / peak:5.1%} of the peak")  # fmt: skip


def main() -> int:
    from shared.lm.configs import count_params, make_model
    from shared.lm.trainer import TrainConfig, train

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    ap.add_argument("--configs", nargs="+", default=["small", "large"])
    ap.add_argument("--family", action="store_true", help="also every attention variant and position scheme")
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, torch {torch.__version__}")
    tokens = torch.randint(0, 8192, (200_000,), generator=torch.Generator().manual_seed(0))
    for threads in dict.fromkeys(args.threads):
        peak = matmul_peak(threads)
        print(f"\nthreads={threads}: matmul peak {peak:.1f} GFLOP/s")
        for name in args.configs:
            model = make_model(name, 8192)
            cfg = TrainConfig(steps=args.steps, batch_size=args.batch, seq_len=args.seq, warmup=2,
                              log_every=args.steps, threads=threads)  # fmt: skip
            train(model, tokens, TrainConfig(steps=2, batch_size=args.batch, seq_len=args.seq, threads=threads),
                  log=None)  # warm-up: first steps allocate  # fmt: skip
            res = train(model, tokens, cfg, log=None)
            achieved = res.tokens_per_s * flops_per_token(model, args.seq) / 1e9
            print(f"  {name:6s} {count_params(model) / 1e6:4.1f}M params: {res.tokens_per_s:8.0f} tokens/s, "
                  f"{achieved:6.1f} GFLOP/s = {achieved / peak:5.1%} of the matmul peak")  # fmt: skip
            if name == "small" and args.family:
                bench_family(tokens, args, threads, peak, res.tokens_per_s)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
