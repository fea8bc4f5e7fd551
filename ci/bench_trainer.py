"""Benchmark: trainer throughput (tokens/s) and its fraction of the matmul peak measured here, in the same run.

    .venv/bin/python ci/bench_trainer.py [--steps 20] [--threads 1 2] [--family] [--against REV --rounds 5]

`--family` also trains `shared.lm.family` models of the `small` size with every attention variant (RoPE) and every
position scheme (softmax), and prints each one's throughput as a ratio to the standard `small` model of the same run.

`--against REV` answers "did the trainer get slower?" without trusting the peak, which moves by 10% between runs on a
shared VM: it loads `shared/lm/trainer.py` as it was at git revision REV and trains the same `small` model with it and
with today's trainer, alternating, `--rounds` times each, and prints the median ratio with its range.

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


def trainer_at(rev: str):
    """`shared/lm/trainer.py` as it was at git revision `rev`, imported as a module of its own."""
    import importlib.util
    import subprocess
    import tempfile

    source = subprocess.run(["git", "show", f"{rev}:shared/lm/trainer.py"], capture_output=True, text=True)
    if source.returncode:
        raise SystemExit(f"--against {rev}: {source.stderr.strip()}")
    path = os.path.join(tempfile.mkdtemp(), f"trainer_{rev}.py")
    with open(path, "w") as f:
        f.write(source.stdout)
    spec = importlib.util.spec_from_file_location(f"trainer_{rev}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_against(tokens, args, threads: int) -> None:
    """Today's trainer against the one at `args.against`, alternating on the same `small` model; median ratio."""
    import statistics

    from shared.lm import trainer as today
    from shared.lm.configs import make_model

    before = trainer_at(args.against)
    rates: dict[str, list[float]] = {"today": [], args.against: []}
    for r in range(args.rounds):
        for name, module in (("today", today), (args.against, before)) if r % 2 == 0 else ((args.against, before),
                                                                                        ("today", today)):  # fmt: skip
            model = make_model("small", 8192)
            kw = {"batch_size": args.batch, "seq_len": args.seq, "threads": threads}
            module.train(model, tokens, module.TrainConfig(steps=2, **kw), log=None)
            res = module.train(model, tokens, module.TrainConfig(steps=args.steps, warmup=2, log_every=args.steps,
                                                                 **kw), log=None)  # fmt: skip
            rates[name].append(res.tokens / res.seconds)
    ratios = [a / b for a, b in zip(rates["today"], rates[args.against])]
    print(f"  trainer today vs at {args.against} ({args.rounds} alternating rounds, small): "
          f"today {statistics.median(rates['today']):,.0f} tok/s, then {statistics.median(rates[args.against]):,.0f}"
          f" tok/s; ratio median {statistics.median(ratios):.3f} (range {min(ratios):.3f}-{max(ratios):.3f})")  # fmt: skip


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
    ap.add_argument("--against", metavar="REV", help="also today's trainer against shared/lm/trainer.py at REV")
    ap.add_argument("--rounds", type=int, default=5, help="--against: alternating rounds per trainer")
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
        if args.against:
            bench_against(tokens, args, threads)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
