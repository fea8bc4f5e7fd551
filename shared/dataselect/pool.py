"""A labelled pool of text chunks from `data/` (each with its source domain) and target tasks over it.

A *document* of the pool is a chunk of consecutive lines of one source holding at least `chunk_words` words (the paper
breaks its raw data into chunks of equal word length). `make_task` picks one domain as the target and splits its
chunks, by a seed, into a small *target sample* (all the selector sees of the target), a held-out *evaluation split*
(what the trained model is scored on) and the rest, which stays in the raw pool with every other domain.
"""

from dataclasses import dataclass, field

import numpy as np

# domain -> (file under data/, how to read its text units)
SOURCES = {
    "kjv": "text/kjv/verses.jsonl",
    "gcide": "text/gcide/entries.jsonl",
    "wordnet": "text/wordnet/glosses.jsonl",
    "fortunes": "text/fortunes/fortunes.jsonl",
    "python": "code/cpython_stdlib/files.jsonl",
    "gettext": "parallel/gettext",
    "libreoffice": "parallel/libreoffice/en/pages.jsonl",
}
DOMAINS = tuple(SOURCES)


def source_units(domain: str) -> list[str]:
    """The text units of one source, in file order: verses, dictionary entries, glosses, fortunes, stdlib files,
    English gettext msgids (every built domain, sorted), LibreOffice help paragraphs (English pages, in page order)."""
    from shared.data.loaders import data_path, read_jsonl

    if domain not in SOURCES:
        raise KeyError(f"unknown domain {domain!r}; known: {list(SOURCES)}")
    rel = SOURCES[domain]
    if domain == "gettext":
        base = data_path(rel)
        return [r["en"] for d in sorted(p.name for p in base.iterdir() if p.is_dir())
                for r in read_jsonl(base / d / "messages.jsonl") if r.get("en")]  # fmt: skip
    if domain == "libreoffice":
        return [text for page in read_jsonl(data_path(rel)) for _, text in page["paragraphs"] if text]
    return [r["text"] for r in read_jsonl(data_path(rel)) if r.get("text")]


def chunk_lines(units: list[str], chunk_words: int) -> list[str]:
    """Consecutive lines of `units` (joined by newlines) grouped into chunks of at least `chunk_words` whitespace words;
    a last chunk shorter than half of that is dropped. Blank lines are kept inside chunks (code keeps its layout)."""
    chunks, cur, n = [], [], 0
    for unit in units:
        for line in unit.split("\n"):
            cur.append(line)
            n += len(line.split())
            if n >= chunk_words:
                chunks.append("\n".join(cur).strip("\n") + "\n")
                cur, n = [], 0
    if cur and n >= chunk_words // 2:
        chunks.append("\n".join(cur).strip("\n") + "\n")
    return chunks


@dataclass
class Pool:
    """Documents with their domain: `texts[i]` belongs to `domain_names[domains[i]]`."""

    texts: list[str]
    domains: np.ndarray  # [N] int, index into domain_names
    domain_names: tuple[str, ...]
    cache: dict = field(default_factory=dict, repr=False)  # features and tokens computed once per pool

    def __len__(self) -> int:
        return len(self.texts)

    def domain_counts(self) -> dict[str, int]:
        return {d: int((self.domains == i).sum()) for i, d in enumerate(self.domain_names)}


def build_pool(domains=DOMAINS, chunk_words: int = 64, max_per_domain: int | None = 2000, seed: int = 0) -> Pool:
    """Chunks of every domain; at most `max_per_domain` per domain, drawn without replacement by `seed` (kept in file
    order, so neighbouring chunks stay neighbours). Deterministic for given arguments."""
    texts, labels = [], []
    for i, d in enumerate(domains):
        chunks = chunk_lines(source_units(d), chunk_words)
        if max_per_domain is not None and len(chunks) > max_per_domain:
            rng = np.random.default_rng([seed, i])
            keep = np.sort(rng.choice(len(chunks), max_per_domain, replace=False))
            chunks = [chunks[j] for j in keep]
        texts += chunks
        labels += [i] * len(chunks)
    return Pool(texts, np.array(labels, dtype=np.int64), tuple(domains))


@dataclass
class Task:
    """One target over a pool: `raw`, `sample` and `evaluation` are index arrays into `pool.texts`."""

    pool: Pool
    target: str
    raw: np.ndarray
    sample: np.ndarray
    evaluation: np.ndarray
    seed: int
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def target_id(self) -> int:
        return self.pool.domain_names.index(self.target)

    @property
    def raw_domains(self) -> np.ndarray:
        return self.pool.domains[self.raw]

    def raw_texts(self) -> list[str]:
        return [self.pool.texts[i] for i in self.raw]

    def sample_texts(self) -> list[str]:
        return [self.pool.texts[i] for i in self.sample]

    def target_share(self, selected: np.ndarray) -> float:
        """The share of target-domain documents among `selected` (indices into `raw`)."""
        return float((self.raw_domains[np.asarray(selected)] == self.target_id).mean())


def make_task(pool: Pool, target: str, n_sample: int, n_eval: int, seed: int) -> Task:
    """Split the target domain's chunks by `seed` into a target sample (`n_sample`), a held-out evaluation split
    (`n_eval`) and the rest; the raw pool is every chunk outside the sample and the evaluation split."""
    t = pool.domain_names.index(target)
    own = np.flatnonzero(pool.domains == t)
    if n_sample + n_eval >= len(own):
        raise ValueError(f"domain {target!r} has {len(own)} chunks: too few for {n_sample} + {n_eval} held out")
    perm = np.random.default_rng([seed, t, 17]).permutation(own)
    sample, evaluation = np.sort(perm[:n_sample]), np.sort(perm[n_sample : n_sample + n_eval])
    held = np.zeros(len(pool), dtype=bool)
    held[sample] = held[evaluation] = True
    return Task(pool, target, np.flatnonzero(~held), sample, evaluation, seed)
