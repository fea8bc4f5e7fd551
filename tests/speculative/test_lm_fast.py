"""`HFSession`'s fast path against its reference: the tree mask and positions (`_tree_inputs` vs the original loops,
`_tree_inputs_reference`) on random trees, and the lean Llama forward (`_fast_llama_forward`) vs `model(...)`: the same
distributions bit for bit on random grow/commit sequences, and the same generations, on the zoo's tiny-LM pair and on
a random GQA Llama."""

import random

import pytest
import torch

from shared.speculative import HFSession, IIDSequences, speculative_generate
from shared.speculative.lm import _fast_supported, _tree_inputs, _tree_inputs_reference

pytestmark = pytest.mark.slow  # real tiny LMs: ~10-20 s on 2 cores


def random_tree_calls(rng: random.Random, n_calls: int, max_new: int) -> list[list[int | None]]:
    """Parent slots of the new nodes of `n_calls` successive grow calls on one tree (None: under the root); a parent is
    an old slot or an earlier new node of the same call."""
    calls, total = [], 0
    for _ in range(n_calls):
        new = []
        for j in range(rng.randint(1, max_new)):
            choices = list(range(total + j))
            new.append(None if not choices or rng.random() < 0.15 else rng.choice(choices))
        calls.append(new)
        total += len(new)
    return calls


@pytest.mark.parametrize("seed", range(40))
def test_tree_inputs_equal_the_reference_loops(seed):
    rng = random.Random(seed)
    committed = rng.randint(0, 12)
    backlog = rng.randint(0, 5)
    anc = torch.zeros(0, 0, dtype=torch.bool)
    parents, depths = [], []
    for i, new in enumerate(random_tree_calls(rng, rng.randint(1, 4), 9)):
        nb = backlog if i == 0 else 0  # the backlog is fed with the tree's first call only
        c = committed if i == 0 else committed + backlog
        ref_visible, ref_pos = _tree_inputs_reference(c, nb, len(parents), new, parents, depths)
        ps = torch.tensor([-1 if p is None else p for p in new], dtype=torch.long)
        visible, pos, anc = _tree_inputs(c, nb, anc, ps)
        assert torch.equal(visible, ref_visible)
        assert pos.tolist() == ref_pos
        for p in new:
            parents.append(p)
            depths.append(0 if p is None else depths[p] + 1)


@pytest.fixture(scope="module")
def zoo_pair():
    from shared.models import load

    return load("tiny-lm-large")[0], load("tiny-lm-small")[0]


def gqa_llama():
    """A random Llama with grouped-query attention (8 heads, 2 KV heads), the tests' other fast-path shape."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(5)
    cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=256)  # fmt: skip
    return LlamaForCausalLM(cfg).eval()


def models(zoo_pair):
    return {"tiny-lm-large": zoo_pair[0], "tiny-lm-small": zoo_pair[1], "random-gqa-llama": gqa_llama()}


def test_zoo_models_take_the_fast_path(zoo_pair):
    assert all(_fast_supported(m) for m in models(zoo_pair).values())
    assert HFSession(zoo_pair[0]).fast_forward and not HFSession(zoo_pair[0], fast=False).fast_forward


@pytest.mark.parametrize("name", ["tiny-lm-large", "tiny-lm-small", "random-gqa-llama"])
@pytest.mark.parametrize("seed", range(3))
def test_fast_session_gives_the_reference_distributions(zoo_pair, name, seed):
    # random trees grown over several calls, random accepted paths committed (with backlogs), several rounds: every
    # distribution equal to the reference session's (transformers' forward with a DynamicCache)
    model = models(zoo_pair)[name]
    rng = random.Random(seed)
    vocab = model.config.vocab_size
    prompt = [rng.randrange(vocab) for _ in range(rng.randint(1, 20))]
    sessions = [HFSession(model, temperature=1.0), HFSession(model, temperature=1.0, fast=False)]
    for s in sessions:
        s.reset(prompt)
    root = prompt[-1]
    for _ in range(4):
        tokens, parents, grown = [root], [-1], 0
        outs = [[s.grow([root], [-1])] for s in sessions]
        grown = 1
        for new in random_tree_calls(rng, rng.randint(1, 3), 6):
            new_tokens = [rng.randrange(vocab) for _ in new]
            new_parents = [0 if p is None else p + 1 for p in new]  # node ids: the root is node 0
            for s, o in zip(sessions, outs):
                o.append(s.grow(new_tokens, new_parents))
            tokens += new_tokens
            parents += new_parents
            grown += len(new)
        for a, b in zip(*outs):
            assert torch.equal(a, b), float((a - b).abs().max())
        # an accepted path: from a random node up to the root; its leaf may be unscored by a draft (a backlog)
        node, path = rng.randrange(len(tokens)), []
        while node >= 0:
            path.append(node)
            node = parents[node]
        path = path[::-1]
        extra = [rng.randrange(vocab) for _ in range(rng.randint(0, 1))]
        root = rng.randrange(vocab)
        for s in sessions:
            s.commit(path + [len(tokens) + i for i in range(len(extra))], [tokens[n] for n in path] + extra, root)
    for a, b in zip(sessions[0].cache.layers, sessions[1].cache.layers):
        assert torch.equal(a.keys, b.keys) and torch.equal(a.values, b.values)


def test_fast_generations_equal_the_reference(zoo_pair):
    # SpecTr's generation loop on the real pair (4 i.i.d. drafts of length 4, temperature 1): the same tokens and calls
    target, draft = zoo_pair
    rng = random.Random(0)
    for i in range(3):
        prompt = [rng.randrange(8192) for _ in range(16)]
        for proposer, rule in ((IIDSequences(1, 4), "kseq"), (IIDSequences(4, 4), "kseq"), (IIDSequences(3, 2), "rrs")):
            got = [speculative_generate(HFSession(target, fast=f), HFSession(draft, fast=f), prompt, 24, proposer,
                                        rule, seed=i) for f in (True, False)]  # fmt: skip
            assert got[0].tokens == got[1].tokens
            assert got[0].target_calls == got[1].target_calls and got[0].accepted == got[1].accepted
