"""A two-domain synthetic pool (prose-like and code-like word salads) with a word-level vocabulary, for tests and
small examples of the selection engine. Nothing in a recorded run depends on it."""

import numpy as np

from shared.dataselect.pool import Pool

WORDS = {
    "prose": ["the", "earth", "was", "without", "form", "and", "void", "god", "said", "let", "there", "be", "light"],
    "code": ["def", "x", "(", ")", ":", "return", "=", "1", "if", "else", "self", ".", "import", "for", "in"],
}


def toy_pool(n: int = 40, seed: int = 0, words: int = 40) -> Pool:
    """`n` documents of `words` random words per domain (prose first, then code), labelled by domain."""
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS[d], words)) + "\n" for d in WORDS for _ in range(n)]
    return Pool(texts, np.r_[np.zeros(n, int), np.ones(n, int)], tuple(WORDS))


def toy_tokens(pool: Pool) -> tuple[dict, list[np.ndarray]]:
    """A word -> id vocabulary over the pool and each document's ids (whitespace split)."""
    vocab = {w: i for i, w in enumerate(sorted({w for t in pool.texts for w in t.split()}))}
    return vocab, [np.array([vocab[w] for w in t.split()]) for t in pool.texts]
