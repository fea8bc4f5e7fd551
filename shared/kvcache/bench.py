"""Decode cost of the engine's policies against transformers' own `DynamicCache`, measured in the same run.

    python -m shared.kvcache.bench --model smollm2-135m-instruct --contexts 128 512 2048 --budget 64

Prints milliseconds per decoded token (median), the ratio to `DynamicCache` at the same context, and cache MiB
(TokenSelect keeps the whole cache: it saves attention reads, not memory).
"""

import argparse

import torch

from shared.kvcache.evaluate import decode_ms
from shared.kvcache.policies import FullCache, HeavyHitter, SinkWindow, TokenSelect


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct", help="zoo model")
    ap.add_argument("--contexts", type=int, nargs="+", default=[128, 512, 2048])
    ap.add_argument("--budget", type=int, default=64, help="cache size of the evicting policies")
    ap.add_argument("--new-tokens", type=int, default=16, help="timed decode steps per context")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from shared.models import load

    model, tok = load(args.model)
    policies = {"DynamicCache": None, "engine full": FullCache(),
                f"StreamingLLM {args.budget}": SinkWindow(budget=args.budget, n_sink=4),
                f"H2O {args.budget}": HeavyHitter(budget=args.budget, n_recent=args.budget // 2),
                f"TokenSelect {args.budget}": TokenSelect(budget=args.budget, n_sink=4, n_recent=args.budget // 4),
                f"TokenSelect {args.budget} + cache": TokenSelect(budget=args.budget, n_sink=4,
                                                                  n_recent=args.budget // 4, threshold=0.9)}  # fmt: skip
    print(f"{'context':>8} {'cache':<20} {'ms/token':>9} {'vs Dynamic':>10} {'MiB':>8}")
    for ctx in args.contexts:
        base = None
        for name, policy in policies.items():
            ms, nbytes = decode_ms(model, ctx, policy, new_tokens=args.new_tokens, vocab=tok.vocab_size)
            base = base or ms
            print(f"{ctx:>8} {name:<20} {ms:>9.2f} {ms / base:>10.3f} {nbytes / 2**20:>8.2f}")


if __name__ == "__main__":
    main()
