"""
CharBench-style character tasks and their tokenization analysis, after Uzan & Pinter, "CharBench: Evaluating the Role
of Tokenization in Character-Level Tasks" (arXiv:2508.02591).

What is new in this paper, and only that (shared pieces live in `shared/`):
- the benchmark: four character-level tasks over single words (count a character's occurrences, count the distinct
  characters, the 0-based index of a character's first / last occurrence), words sampled evenly per length;
- the analysis: per task, the Pearson (point-biserial) correlation between a word/segmentation property and whether the
  model answered correctly: word length, the gold answer, the number of tokens of the word, and, for the index tasks,
  the length (in characters) of the token holding the queried character ("target token length");
- two controls of ours for that analysis: the *majority-answer floor* (the accuracy of always giving the most frequent
  gold answer of the task, paired per item) and *shuffled token boundaries* (the same target-token-length statistic
  after permuting the order of a word's token lengths: same word, same number and sizes of tokens, the queried
  character now in a random one of them).

Deviations from the paper, on purpose:
- words come from the packaged WordNet glosses or GCIDE (`data/text`), lower-case, 4 to 9 letters (the paper: MiniPile
  words of 4 to 10 characters, any case), so that every answer is one digit;
- answers are a forced choice among the ten digit tokens at the answer position (one forward pass per question, the
  argmax over `0`..`9`), after a fixed few-shot prefix of the same task, instead of free generation zero-shot: the
  zoo's models are 135M to 500M parameters, and a free-form answer from them is mostly unparsable;
- the segmentation is the one the model sees in the prompt (offsets of the word inside the question), not the bare
  word encoded alone (they differ where a tokenizer merges the opening quote, e.g. `'s`).
"""

import math
import random
import re
from collections import Counter

import numpy as np

TASKS = ("count_char", "count_unique", "first_index", "last_index")
COUNT_TASKS = ("count_char", "count_unique")
INDEX_TASKS = ("first_index", "last_index")

QUESTION = {
    "count_char": "How many times does the character '{c}' appear in the string '{w}'?",
    "count_unique": "How many unique characters appear in the string '{w}'?",
    "first_index": "What is the index of the first occurrence of the character '{c}' in the string '{w}'? "
    "Start counting from 0.",
    "last_index": "What is the index of the last occurrence of the character '{c}' in the string '{w}'? "
    "Start counting from 0.",
}
INSTRUCTION = "Answer this question only with the final number. Lower case and upper case letters are different."

WORD_RE = re.compile(r"[A-Za-z]+")


def corpus_words(texts, min_len: int = 4, max_len: int = 9, min_count: int = 3) -> list[str]:
    """Distinct lower-case alphabetic words of `min_len`..`max_len` letters seen at least `min_count` times (real
    words, not typos), sorted."""
    counts = Counter(m.group(0) for t in texts for m in WORD_RE.finditer(t))
    out = {w for w, n in counts.items() if w.islower() and min_len <= len(w) <= max_len and n >= min_count}
    return sorted(out)


def answer(task: str, word: str, char: str | None) -> int:
    if task == "count_char":
        return word.count(char)
    if task == "count_unique":
        return len(set(word))
    if task == "first_index":
        return word.index(char)
    if task == "last_index":
        return word.rindex(char)
    raise KeyError(task)


def make_items(words: list[str], n_per_task: int | dict, seed: int, tasks=TASKS) -> list[dict]:
    """The benchmark: for each task, `n_per_task` distinct words (one number for every task, or a dict task -> number),
    as evenly spread over word lengths as the list allows (the paper fills equal buckets per length), words not shared
    between tasks; the queried character is the character at a uniformly drawn position of the word (as the paper
    draws it). One call is one *word draw*: another seed draws other words, characters and (downstream) shots."""
    sizes = n_per_task if isinstance(n_per_task, dict) else {t: n_per_task for t in tasks}
    rng = random.Random(seed)
    by_len: dict[int, list[str]] = {}
    for w in words:
        by_len.setdefault(len(w), []).append(w)
    for ws in by_len.values():
        rng.shuffle(ws)
    lengths = sorted(by_len)
    items = []
    for task in tasks:
        chosen = []
        i = 0
        while len(chosen) < sizes[task]:
            live = [n for n in lengths if by_len[n]]
            if not live:
                raise ValueError(f"not enough words for {sum(sizes[t] for t in tasks)} items")
            n = live[i % len(live)]
            chosen.append(by_len[n].pop())
            i += 1
        for w in chosen:
            c = None if task == "count_unique" else w[rng.randrange(len(w))]
            items.append({"task": task, "word": w, "char": c, "gold": answer(task, w, c),
                          "question": QUESTION[task].format(w=w, c=c)})  # fmt: skip
    return items


def pieces(tok, text: str, start: int, end: int) -> list[str]:
    """The segmentation of `text[start:end]` as the tokenizer cuts `text`: the characters of each token that overlap
    the span, clipped to it (a token that also covers a quote contributes only its letters)."""
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    out = []
    for a, b in enc["offset_mapping"]:
        a, b = max(a, start), min(b, end)
        if b > a:
            out.append(text[a:b])
    if "".join(out) != text[start:end]:
        raise ValueError(f"offsets do not cover {text[start:end]!r}: {out}")
    return out


def token_lengths(tok, question: str, word: str) -> list[int]:
    """Lengths in characters of the tokens of `word` as it stands (quoted) in `question`."""
    i = question.index(f"'{word}'") + 1
    return [len(p) for p in pieces(tok, question, i, i + len(word))]


def target_token(lengths: list[int], index: int) -> tuple[int, int]:
    """(length of the token holding character `index`, 0-based offset of the character inside it)."""
    pos = 0
    for n in lengths:
        if pos <= index < pos + n:
            return n, index - pos
        pos += n
    raise IndexError(f"index {index} outside a word of {pos} characters")


def shuffled_target_length(lengths: list[int], index: int, rng: np.random.Generator, draws: int) -> float:
    """The trivial control: the mean target-token length over `draws` random orders of the word's token lengths (the
    same word, number and sizes of tokens; only which token holds the queried position changes)."""
    tot = 0
    for _ in range(draws):
        tot += target_token(list(rng.permutation(lengths)), index)[0]
    return tot / draws


def features(tok, items: list[dict], rng: np.random.Generator, draws: int = 20) -> list[dict]:
    """Per item: word length, gold, number of tokens, and for the index tasks the target token's length, the offset of
    the queried character inside it, and the shuffled-boundary control."""
    out = []
    for it in items:
        lens = token_lengths(tok, it["question"], it["word"])
        f = {"word_len": len(it["word"]), "n_tokens": len(lens), "chars_per_token": len(it["word"]) / len(lens)}
        if it["task"] in INDEX_TASKS:
            f["target_len"], f["target_offset"] = target_token(lens, it["gold"])
            f["target_len_shuffled"] = shuffled_target_length(lens, it["gold"], rng, draws)
        out.append(f)
    return out


# prompting and scoring


def prompt_parts(tok, shots: list[dict], question: str, chat: bool) -> tuple[str, str]:
    """(shared prefix, per-question suffix) of the prompt whose next token is the answer digit.

    Chat models get the solved `shots` as earlier user/assistant turns (the instruction in the first user turn, the
    assistant answering with the bare number), base models a plain `Question: ... / Answer: N` transcript. The prefix is
    the same string for every question of a task, so its keys and values are computed once."""
    if chat:
        msgs = []
        for i, s in enumerate(shots):
            head = INSTRUCTION + "\n\n" if i == 0 else ""
            msgs += [{"role": "user", "content": head + s["question"]}, {"role": "assistant", "content": str(s["gold"])}]
        head = "" if shots else INSTRUCTION + "\n\n"
        msgs.append({"role": "user", "content": head + question})
        full = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    else:
        lines = [INSTRUCTION, ""]
        for s in shots:
            lines += [f"Question: {s['question']}", f"Answer: {s['gold']}", ""]
        full = "\n".join(lines) + f"\nQuestion: {question}\nAnswer: "
    cut = full.rindex(question)
    # the suffix starts at the last line break before the question, so that the prefix ends in a newline token
    cut = full.rindex("\n", 0, cut) + 1
    return full[:cut], full[cut:]


def digit_ids(tok) -> list[int]:
    ids = []
    for d in "0123456789":
        enc = tok(d, add_special_tokens=False)["input_ids"]
        if len(enc) != 1:
            raise ValueError(f"digit {d!r} is not one token: {enc}")
        ids.append(enc[0])
    return ids


def digit_logits(model, tok, prefix: str, suffixes: list[str], bos: bool, batch: int = 16) -> np.ndarray:
    """The next-token logits of the ten digit tokens `0`..`9` after `prefix + suffix`, one row per suffix (the
    forced-choice answer is the row's argmax); `bos` prepends the tokenizer's BOS token (base models need it). The prefix's cache is computed once and shared by every batch (suffixes right-padded: the
    padding comes after the scored position, so causality keeps it out)."""
    import copy

    import torch

    dig = torch.tensor(digit_ids(tok))
    bos = [tok.bos_token_id] if bos else []
    pre = bos + tok(prefix, add_special_tokens=False)["input_ids"]
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    out = []
    with torch.no_grad():
        base = model(torch.tensor([pre]), use_cache=True).past_key_values
        for s in range(0, len(suffixes), batch):
            chunk = suffixes[s : s + batch]
            ids = [tok(prefix + x, add_special_tokens=False)["input_ids"] for x in chunk]
            if any(i[: len(pre) - len(bos)] != pre[len(bos) :] for i in ids):
                # the boundary merged across prefix and suffix: encode the suffix alone (rare; prefixes end in "\n")
                ids = [pre[len(bos) :] + tok(x, add_special_tokens=False)["input_ids"] for x in chunk]
            suf = [i[len(pre) - len(bos) :] for i in ids]
            width = max(len(x) for x in suf)
            x = torch.tensor([q + [pad] * (width - len(q)) for q in suf])
            cache = copy.deepcopy(base)
            cache.batch_repeat_interleave(len(chunk))
            mask = torch.ones(len(chunk), len(pre) + width, dtype=torch.long)
            logits = model(x, past_key_values=cache, attention_mask=mask, use_cache=True).logits
            last = torch.tensor([len(q) - 1 for q in suf])
            lg = logits[torch.arange(len(chunk)), last][:, dig]
            out.append(lg.float().numpy())
    return np.concatenate(out)


# statistics


def pearson(x, y) -> float:
    """Pearson r (point-biserial when `y` is 0/1); NaN when either variable is constant or there are < 3 pairs."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3:
        return math.nan
    x, y = x - x.mean(), y - y.mean()
    sxx, syy = float(x @ x), float(y @ y)
    if sxx <= 1e-12 or syy <= 1e-12:
        return math.nan
    return float(x @ y) / math.sqrt(sxx * syy)


def majority_floor(golds: list[int]) -> tuple[int, float]:
    """The most frequent gold answer and the accuracy of always giving it."""
    c = Counter(golds)
    a, n = c.most_common(1)[0]
    return a, n / len(golds)


def pick_shots(pool: list[dict], k: int) -> list[dict]:
    """`k` solved examples of one task with pairwise different gold answers where the pool allows (a prefix whose
    answers all agree teaches a constant answer), taken in pool order."""
    shots, seen = [], set()
    for it in pool:
        if it["gold"] not in seen:
            shots.append(it)
            seen.add(it["gold"])
        if len(shots) == k:
            return shots
    rest = [it for it in pool if it not in shots]
    return shots + rest[: k - len(shots)]


def draw_t_interval(values, level: float = 0.95, bounds=(-1.0, 1.0)) -> tuple[float, float, float]:
    """(mean, low, high): the mean over independent word draws of a per-draw statistic, with a Student t interval over
    the draws (df = draws - 1). The per-draw statistic already carries its questions' noise, so the spread between
    draws covers both levels (the word draw and the questions within it), which a bootstrap over pooled questions
    does not: that is why the `full` profile pools several draws. The interval is clipped to the quantity's range
    `bounds` (a correlation, a gain over the floor: [-1, 1]). Needs at least 2 finite values."""
    from scipy import stats

    v = np.asarray(values, float)
    if len(v) < 2 or not np.isfinite(v).all():
        raise ValueError(f"a t interval over draws needs >= 2 finite values, got {v.tolist()}")
    m = float(v.mean())
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return m, max(m - half, bounds[0]), min(m + half, bounds[1])
