"""Draft proposal: a draft model's session grows a token tree that the target will verify in one call.

A `DraftTree` records, for every node that has children, the draft distribution `q` its children were drawn from and
the draws in order (a node id per draw; i.i.d. draws of the same token share a node). Proposers:
- `IIDSequences(k, L)`: `k` independent draft sequences of length `L` merged into a trie (k = 1: one chain, standard
  speculative decoding; k > 1: SpecTr's and SpecInfer's i.i.d. drafts).
- `BranchingTree(branching)`: at depth `d` every node gets `branching[d]` children, drawn without replacement with the
  Gumbel-top-k trick (Recursive Speculative Decoding with a constant branching factor, RSD-C), or i.i.d. with
  `replacement=True` (SpecInfer-style k-ary trees, RSD's baseline).
- `DynamicTree(budget)`: DySpec's greedy expansion: a max-heap over "next child of node u" slots keyed by the
  estimated probability that verification reaches that slot; children are drawn without replacement.
"""

import heapq
from dataclasses import dataclass, field

import torch


@dataclass
class DraftTree:
    """Nodes `0..N-1` (node 0 is the root, the last committed token); `mode` is how draws were made."""

    mode: str  # "iid" or "wor"
    tokens: list[int] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    draws: dict[int, list[int]] = field(default_factory=dict)  # node -> child node per draw, in draw order
    q: dict[int, torch.Tensor] = field(default_factory=dict)  # node -> draft distribution of its draws [V]

    def add(self, token: int, parent: int) -> int:
        """Add a draw of `token` under `parent`; i.i.d. repeats of a token reuse its node. Returns the node id."""
        if parent >= 0:
            for c in self.draws.setdefault(parent, []):
                if self.tokens[c] == token:
                    self.draws[parent].append(c)
                    return c
        self.tokens.append(token)
        self.parents.append(parent)
        node = len(self.tokens) - 1
        if parent >= 0:
            self.draws[parent].append(node)
        return node

    def __len__(self) -> int:
        return len(self.tokens)


def gumbel_top_k(q: torch.Tensor, k: int, generator: torch.Generator) -> list[int]:
    """`k` distinct tokens drawn without replacement from `q` `[V]` (Plackett-Luce order), via Gumbel-top-k."""
    k = min(k, int((q > 0).sum()))
    u = torch.rand(q.shape, generator=generator, dtype=torch.float64).clamp_min(1e-300)
    keys = q.log() - (-u.log()).log()
    return keys.topk(k).indices.tolist()


def sample(q: torch.Tensor, generator: torch.Generator) -> int:
    return int(torch.multinomial(q, 1, generator=generator))


class Proposer:
    name: str = "proposer"

    def propose(self, draft, root: int, generator: torch.Generator) -> DraftTree:
        raise NotImplementedError


@dataclass
class IIDSequences(Proposer):
    """`k` i.i.d. draft sequences of `length` tokens each, as a trie; costs `length` draft calls."""

    k: int = 1
    length: int = 4

    @property
    def name(self):
        return f"iid k={self.k} L={self.length}"

    def propose(self, draft, root, generator):
        tree = DraftTree("iid")
        tree.add(root, -1)
        tree.q[0] = draft.grow([root], [-1], ids=[0])[0]
        heads = [0] * self.k  # the node each sequence has reached
        for depth in range(self.length):
            n_before = len(tree)
            heads = [tree.add(sample(tree.q[h], generator), h) for h in heads]
            new = list(range(n_before, len(tree)))
            if depth + 1 < self.length and new:
                grown = draft.grow([tree.tokens[i] for i in new], [tree.parents[i] for i in new], ids=new)
                for node, q in zip(new, grown):
                    tree.q[node] = q
        return tree


@dataclass
class BranchingTree(Proposer):
    """A tree whose nodes at depth `d` get `branching[d]` draws: without replacement (RSD-C) or i.i.d."""

    branching: tuple[int, ...] = (2, 2, 1)
    replacement: bool = False

    @property
    def name(self):
        return ("iid " if self.replacement else "wor ") + "x".join(map(str, self.branching))

    def _draw(self, q, b, generator):
        if self.replacement:
            return [sample(q, generator) for _ in range(b)]
        return gumbel_top_k(q, b, generator)

    def propose(self, draft, root, generator):
        tree = DraftTree("iid" if self.replacement else "wor")
        tree.add(root, -1)
        tree.q[0] = draft.grow([root], [-1], ids=[0])[0]
        frontier = [0]
        for depth, b in enumerate(self.branching):
            # i.i.d. repeats of a token share a node, so `new` lists each new node once
            new = list(dict.fromkeys(tree.add(x, u) for u in frontier for x in self._draw(tree.q[u], b, generator)))
            if depth + 1 < len(self.branching) and new:
                grown = draft.grow([tree.tokens[i] for i in new], [tree.parents[i] for i in new], ids=new)
                for node, q in zip(new, grown):
                    tree.q[node] = q
            frontier = new
        return tree


@dataclass
class DynamicTree(Proposer):
    """DySpec's greedy tree: repeatedly add the node with the highest expected value, until the budget is spent.

    A node's value `v(c) = v(u) q_u(x)` (the product of draft probabilities along its path) estimates the probability
    that verification accepts it. Each node `u` has one open slot, "draw the next child of `u`", keyed by the expected
    value of the child it would add: `v(u) * sum_{x not drawn} q_u(x)^2 / (1 - drawn mass)`, since the next child is
    drawn without replacement from `q_u` renormalised over the tokens not drawn yet. The draft scores every node when
    it is created (one call each), so that its slot's key is known.
    """

    budget: int = 8  # draft tokens in the tree (excluding the root)
    max_depth: int = 8

    @property
    def name(self):
        return f"dynamic n={self.budget}"

    @staticmethod
    def _slot_key(value: float, q: torch.Tensor, taken: list[int]) -> float:
        rest = q.clone()
        rest[taken] = 0
        mass = float(rest.sum())
        return value * float((rest**2).sum()) / mass if mass > 0 else 0.0

    def propose(self, draft, root, generator):
        tree = DraftTree("wor")
        tree.add(root, -1)
        tree.q[0] = draft.grow([root], [-1], ids=[0])[0]
        value, depth = {0: 1.0}, {0: 0}
        heap = [(-self._slot_key(1.0, tree.q[0], []), 0)]
        while heap and len(tree) - 1 < self.budget:
            _, u = heapq.heappop(heap)
            taken = [tree.tokens[c] for c in tree.draws.get(u, [])]
            q = tree.q[u].clone()
            q[taken] = 0
            if q.sum() <= 0:
                continue
            x = sample(q / q.sum(), generator)
            c = tree.add(x, u)
            value[c], depth[c] = value[u] * float(tree.q[u][x]), depth[u] + 1
            heapq.heappush(heap, (-self._slot_key(value[u], tree.q[u], taken + [x]), u))
            if depth[c] < self.max_depth and len(tree) - 1 < self.budget:
                tree.q[c] = draft.grow([x], [u], ids=[c])[0]
                heapq.heappush(heap, (-self._slot_key(value[c], tree.q[c], []), c))
        return tree
