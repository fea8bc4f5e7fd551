"""Benchmarks of the engine's fast paths against their references, as ratios measured in the same run.

    python -m shared.speculative.bench

1. Chain verification: `verify_chain_fast` (vectorised) vs `verify_node` called position by position.
2. Tree scoring: one `HFSession.grow` call over a whole draft tree vs one forward pass per root-to-node path (the
   cost without tree attention), on a tiny random Llama.
3. Sessions: SpecTr's generation loop on the zoo's tiny-LM pair (spectr_2023's block-efficiency study: held-out
   prompts, k = 1 and 4 i.i.d. drafts and the first-of-k control, L = 4, 32 new tokens) with `HFSession`'s fast path
   vs `fast=False` (transformers' forward and the per-node mask loops), interleaved prompt by prompt, at 1 thread;
   the tokens must agree. `python -m shared.speculative.bench --sessions-only --prompts 10` runs this one alone.
Only run after `tests/speculative` passes; numbers depend on the machine (the load average is printed with them).
"""

import time

import torch

from .lm import HFSession
from .rules import verify_chain_fast, verify_node


def _best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_chain(V: int = 32000, L: int = 8) -> dict:
    g = torch.Generator().manual_seed(0)
    # a draft equal to the target: every token is accepted, so both paths do all L positions
    p = torch.softmax(torch.randn(L + 1, V, generator=g, dtype=torch.float64), -1)
    q = p[:L].clone()
    draft = torch.stack([torch.multinomial(q[i], 1, generator=g)[0] for i in range(L)])
    u = torch.rand(L + 1, generator=g, dtype=torch.float64)

    def reference():
        stream = iter(u.tolist())
        for i in range(L):
            verify_node(p[i], q[i], [int(draft[i])], rand=lambda: next(stream))

    ref = _best(reference)
    fast = _best(lambda: verify_chain_fast(p, q, draft, u[:L], u[L]))
    return {"bench": f"chain verification V={V} L={L}", "reference_s": ref, "fast_s": fast, "speedup": ref / fast}


def bench_tree(n_nodes: int = 15) -> dict:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=512, hidden_size=128, intermediate_size=256, num_hidden_layers=4,
                                         num_attention_heads=4, num_key_value_heads=2)).eval()  # fmt: skip
    prompt = list(range(1, 65))
    parents = [-1] + [(i - 1) // 2 for i in range(1, n_nodes)]  # a binary tree
    tokens = [prompt[-1]] + [100 + i for i in range(1, n_nodes)]

    def tree():
        s = HFSession(model)
        s.reset(prompt)
        s.grow([prompt[-1]], [-1])
        s.commit([0], [prompt[-1]], tokens[0])
        s.grow(tokens, parents)

    def paths():
        with torch.no_grad():
            for i in range(n_nodes):
                path, node = [], i
                while node >= 0:
                    path.append(tokens[node])
                    node = parents[node]
                model(torch.tensor([prompt + path[::-1]]))

    t_tree, t_paths = _best(tree, 3), _best(paths, 3)
    return {"bench": f"tree scoring, {n_nodes} nodes", "reference_s": t_paths, "fast_s": t_tree,
            "speedup": t_paths / t_tree}  # fmt: skip


def bench_sessions(n_prompts: int = 10, max_new: int = 32) -> dict:
    import numpy as np

    from shared.models import load, stage_dir

    from .decode import speculative_generate
    from .drafts import IIDSequences

    torch.set_num_threads(1)
    target, draft = load("tiny-lm-large")[0], load("tiny-lm-small")[0]
    stream = np.load(stage_dir("bpe-8k") / "val.npy")
    starts = np.random.default_rng(0).choice(len(stream) // 32, size=n_prompts, replace=False)
    prompts = [stream[i * 32 : (i + 1) * 32].tolist() for i in sorted(starts)]
    arms = [(IIDSequences(1, 4), 1), (IIDSequences(4, 4), 4), (IIDSequences(4, 4), 1)]  # the last: first-of-k's cost

    def one(prompt, seed, fast):
        t0 = time.perf_counter()
        out = []
        for proposer, _ in arms:
            out.append(speculative_generate(HFSession(target, fast=fast), HFSession(draft, fast=fast), prompt, max_new,
                                            proposer, "kseq", seed=seed).tokens)  # fmt: skip
        return time.perf_counter() - t0, out

    one(prompts[0], 0, True)  # warm-up
    t_fast = t_ref = 0.0
    same = True
    for i, prompt in enumerate(prompts):
        order = (True, False) if i % 2 == 0 else (False, True)
        res = {fast: one(prompt, i, fast) for fast in order}
        t_fast, t_ref = t_fast + res[True][0], t_ref + res[False][0]
        same &= res[True][1] == res[False][1]
    return {"bench": f"sessions: spectr generations, {n_prompts} prompts x 3 arms, tiny-LM pair, 1 thread, tokens "
                     f"{'identical' if same else 'DIFFERENT'}", "reference_s": t_ref, "fast_s": t_fast,
            "speedup": t_ref / t_fast}  # fmt: skip


if __name__ == "__main__":
    import argparse
    import os

    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions-only", action="store_true")
    ap.add_argument("--prompts", type=int, default=10)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}")
    rows = [] if args.sessions_only else [bench_chain(), bench_tree()]
    for row in rows + [bench_sessions(args.prompts)]:
        print(
            f"{row['bench']}: reference {row['reference_s'] * 1e3:.3f} ms, fast {row['fast_s'] * 1e3:.3f} ms, "
            f"ratio {row['speedup']:.2f}x"
        )
    print(f"load average after: {os.getloadavg()}")
