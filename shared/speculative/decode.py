"""Decoding loops: plain autoregressive sampling, and speculative decoding with any proposer and verification rule.

`speculative_generate` repeats: the draft grows a tree (`shared.speculative.drafts`), the target scores every node in
one call, `verify_tree` walks from the root accepting draws with the rule (`shared.speculative.rules`), and both
sessions keep only the accepted path (KV-cache rollback). The emitted tokens are exactly distributed as the target's
own samples for every lossless rule; `tests/speculative` checks it.
"""

import time
from dataclasses import dataclass, field

import torch

from .drafts import DraftTree, Proposer
from .rules import verify_node


@dataclass
class GenResult:
    """One generation: the new tokens and what it cost."""

    tokens: list[int]
    target_calls: int
    draft_calls: int = 0
    accepted: list[int] = field(default_factory=list)  # draft tokens accepted per target call
    tree_sizes: list[int] = field(default_factory=list)  # draft tokens proposed per target call
    seconds: float = 0.0

    @property
    def block_efficiency(self) -> float:
        """Tokens emitted per target call (accepted draft tokens plus the target's own token)."""
        return len(self.tokens) / max(self.target_calls, 1)

    @property
    def acceptance_rate(self) -> float:
        """Accepted draft tokens per proposed draft token."""
        return sum(self.accepted) / max(sum(self.tree_sizes), 1)

    @property
    def tokens_per_second(self) -> float:
        return len(self.tokens) / self.seconds if self.seconds else float("nan")


def _uniforms(generator: torch.Generator):
    return lambda: float(torch.rand((), generator=generator, dtype=torch.float64))


def verify_tree(tree: DraftTree, p: torch.Tensor, rule: str, rand) -> tuple[list[int], list[int]]:
    """Walk the tree from the root with `rule`.

    Args:
        tree (DraftTree): the draft tree, with the draft distributions of its expanded nodes.
        p (torch.Tensor): target distributions at every node `[N, V]` (row `i`: after node `i`'s token).
        rule (str): `"rrs"` or `"kseq"`.
        rand: a source of uniforms, `rand() -> float`.

    Returns:
        (path, emitted): the accepted node ids (root first) and the emitted tokens (accepted draws, then the
        target's own token from the residual or, after a leaf, from `p`).
    """
    node, path, emitted = 0, [0], []
    while True:
        children = tree.draws.get(node, [])
        q = tree.q.get(node, p[node])
        idx, token = verify_node(p[node], q, [tree.tokens[c] for c in children], tree.mode, rule, rand)
        emitted.append(token)
        if idx is None:
            return path, emitted
        node = children[idx]
        path.append(node)


def autoregressive_generate(target, prompt: list[int], max_new: int, seed: int = 0, eos: int | None = None
                            ) -> GenResult:  # fmt: skip
    """Plain sampling from the target, one call per token (greedy when the session's temperature is 0)."""
    generator = torch.Generator().manual_seed(seed)
    rand = _uniforms(generator)
    t0 = time.perf_counter()
    target.reset(prompt)
    root, out = prompt[-1], []
    while len(out) < max_new and (eos is None or eos not in out):
        p = target.grow([root], [-1])[0]
        _, token = verify_node(p, p, [], rand=rand)
        target.commit([0], [root], token)
        root = token
        out.append(token)
    return GenResult(out, target.calls, seconds=time.perf_counter() - t0)


def speculative_generate(target, draft, prompt: list[int], max_new: int, proposer: Proposer, rule: str = "rrs",
                         seed: int = 0, eos: int | None = None) -> GenResult:  # fmt: skip
    """Speculative decoding of `max_new` tokens (fewer if `eos` is emitted; the output is cut after `eos`).

    Args:
        target, draft: `TreeSession`s over one vocabulary (their `calls` counters are reset here).
        prompt (list[int]): prompt token ids (at least one).
        proposer (Proposer): how the draft tree is grown.
        rule (str): verification rule (`"rrs"` for chains, i.i.d. drafts and trees without replacement; `"kseq"` for
            SpecTr on i.i.d. drafts).
        seed (int): seeds the draft sampling and the verification uniforms.
    """
    generator = torch.Generator().manual_seed(seed)
    rand = _uniforms(generator)
    target.calls = draft.calls = 0
    t0 = time.perf_counter()
    target.reset(prompt)
    draft.reset(prompt)
    root, out = prompt[-1], []
    accepted, sizes = [], []
    while len(out) < max_new and (eos is None or eos not in out):
        tree = proposer.propose(draft, root, generator)
        p = target.grow(tree.tokens, tree.parents)
        path, emitted = verify_tree(tree, p, rule, rand)
        path_tokens = [tree.tokens[n] for n in path]
        target.commit(path, path_tokens, emitted[-1])
        draft.commit(path, path_tokens, emitted[-1])
        root = emitted[-1]
        out += emitted
        accepted.append(len(path) - 1)
        sizes.append(len(tree) - 1)
    if eos is not None and eos in out:
        out = out[: out.index(eos) + 1]
    return GenResult(out[:max_new], target.calls, draft.calls, accepted, sizes, time.perf_counter() - t0)
