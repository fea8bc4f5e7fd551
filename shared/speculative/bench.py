"""Benchmarks of the engine's fast paths against their references, as ratios measured in the same run.

    python -m shared.speculative.bench

1. Chain verification: `verify_chain_fast` (vectorised) vs `verify_node` called position by position.
2. Tree scoring: one `HFSession.grow` call over a whole draft tree vs one forward pass per root-to-node path (the
   cost without tree attention), on a tiny random Llama.
Only run after `tests/speculative` passes; numbers depend on the machine.
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


if __name__ == "__main__":
    for row in (bench_chain(), bench_tree()):
        print(
            f"{row['bench']}: reference {row['reference_s'] * 1e3:.3f} ms, fast {row['fast_s'] * 1e3:.3f} ms, "
            f"ratio {row['speedup']:.1f}x"
        )
