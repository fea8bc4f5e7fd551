"""
ADT-style adversarial items for a real tokenizer, after Wang et al., "Tokenization Matters! Degrading Large Language
Models through Challenging Their Tokenization" (arXiv:2405.17067).

What is new in this paper, and only that (shared pieces live in `shared/`): inputs built from a model's own
vocabulary so that its tokenizer cuts them across the intended word boundaries (the paper's "challenging
tokenization"), and the question whether the model then misreads them. Our English, automatic version:

- **items**: two common words `w1`, `w2`, each one token of the model's vocabulary (with its leading space), written
  together without a space, `w1w2` ("movestable"). The pair is *adversarial* when the model's tokenizer cuts `w1w2`
  (as it stands in the prompt) with a token that straddles the boundary between the words (" rites|har|pen" for
  "rite" + "sharpen"), and a *no-straddle control* when a token boundary falls exactly between the words. Pairs whose
  letters also split into two other dictionary words (the ambiguous "move stable") are dropped: the string must have
  one reading;
- **the matched control** of every item: the same two words with the boundary made explicit by a space (`w1 w2`), the
  same question and candidates;
- **the task**: "which is the first (second) word?", answered by log-likelihood among the candidates obtained by
  moving the boundary by -2..+2 characters (for "rite"+"sharpen", first word: "ri", "rit", **"rite"**, "rites",
  "ritesh"); chance is 1/5. On adversarial items, the candidates at the straddling token's edges are the
  *token-aligned* readings (here "rites", the reading the tokenizer suggests);
- **the statistics**: the paired per-item drop in accuracy (spaced minus concatenated) on adversarial items, its
  margin over the same drop on no-straddle items (the same surface change without the straddle: the trivial
  control), and the share of the adversarial errors that fall on a token-aligned reading.

Deviations from the paper, on purpose: English word pairs instead of Chinese sentences (the zoo's models are English
/ code models; the paper's ADT is mostly Chinese); a log-likelihood choice among five readings instead of free
answers judged by hand (the zoo's 135M-1.5B models rarely give a parsable free answer); no GPT-4 rewriting or filtering
step (the paper's ADT-Auto uses GPT-4, which is not offline).
"""

import copy
import random
import re
from collections import Counter

import numpy as np

SHIFTS = (-2, -1, 0, 1, 2)  # boundary moves that make the candidate readings; 0 is the intended reading
SIDES = ("first", "second")
INSTRUCTION = "Each text is two English words. Give the word that is asked for."
WORD_RE = re.compile(r"[A-Za-z]+")


# word lists


def word_counts(texts) -> Counter:
    return Counter(m.group(0) for t in texts for m in WORD_RE.finditer(t))


def dictionary(counts: Counter) -> set[str]:
    """Every lower-case word of 2+ letters seen at least once, plus "a" and "i": what counts as "a word" when a
    concatenation is checked for a second reading."""
    return {w for w in counts if w.islower() and len(w) >= 2} | {"a", "i"}


def common_words(counts: Counter, min_len: int = 3, max_len: int = 7, min_count: int = 5) -> list[str]:
    """Lower-case words of `min_len`..`max_len` letters seen at least `min_count` times, sorted."""
    return sorted(w for w, n in counts.items() if w.islower() and min_len <= len(w) <= max_len and n >= min_count)


def single_token_words(tok, words) -> list[str]:
    """The words that are one token of `tok`'s vocabulary with their leading space (" table")."""
    return [w for w in words if len(tok(" " + w, add_special_tokens=False)["input_ids"]) == 1]


# segmentation


def text_line(s: str) -> str:
    """The line of the prompt that shows the item (the word pair starts after "Text: ")."""
    return f"Text: {s}\n"


def spans(tok, line: str, start: int, end: int) -> list[tuple[int, int]]:
    """The token spans of `line` that overlap `line[start:end]`, clipped to it and relative to `start` (the
    segmentation of the item as the model sees it in the prompt)."""
    enc = tok(line, add_special_tokens=False, return_offsets_mapping=True)
    out = []
    for a, b in enc["offset_mapping"]:
        a, b = max(a, start), min(b, end)
        if b > a:
            out.append((a - start, b - start))
    if not out or out[0][0] != 0 or out[-1][1] != end - start or any(x[1] != y[0] for x, y in zip(out, out[1:])):
        raise ValueError(f"offsets do not tile {line[start:end]!r}: {out}")
    return out


def straddle(segs: list[tuple[int, int]], b: int) -> tuple[int, int] | None:
    """The token span that crosses position `b` (the word boundary), or None when a token boundary falls at `b`."""
    for a, e in segs:
        if a < b < e:
            return a, e
    return None


def aligned_shifts(span: tuple[int, int] | None, b: int, shifts=SHIFTS) -> list[int]:
    """The boundary moves that land on an edge of the straddling token (the readings the segmentation suggests)."""
    if span is None:
        return []
    return [d for d in shifts if d != 0 and b + d in span]


def ambiguous(w1: str, w2: str, words: set[str]) -> bool:
    """True when `w1 + w2` is itself a word or splits into two words some other way ("moves|table" vs "move|stable")."""
    s, b = w1 + w2, len(w1)
    return s in words or any(s[:k] in words and s[k:] in words for k in range(1, len(s)) if k != b)


def candidates(w1: str, w2: str, side: str, shifts=SHIFTS) -> list[str]:
    """The readings of `side` ("first" / "second") with the boundary moved by each shift, in `shifts` order."""
    s, b = w1 + w2, len(w1)
    out = []
    for d in shifts:
        k = b + d
        if not 0 < k < len(s):
            raise ValueError(f"shift {d} leaves an empty word in {w1}+{w2}")
        out.append(s[:k] if side == "first" else s[k:])
    return out


def classify(tok, w1: str, w2: str) -> dict:
    """The segmentation of `w1w2` in its prompt line: token spans, the straddling token and its aligned shifts."""
    line = text_line(w1 + w2)
    start = line.index(": ") + 2
    segs = spans(tok, line, start, start + len(w1) + len(w2))
    sp = straddle(segs, len(w1))
    return {"segs": segs, "straddle": sp is not None, "aligned": aligned_shifts(sp, len(w1)),
            "pieces": [(w1 + w2)[a:e] for a, e in segs]}  # fmt: skip


def make_items(tok, words: list[str], dict_words: set[str], n: int, seed: int, n_shots: int = 4,
               max_tries: int = 200_000) -> tuple[list[dict], list[dict]]:  # fmt: skip
    """`n` adversarial items, each with a matched no-straddle control item, plus `n_shots` solved examples.

    Pairs of distinct single-token words are drawn at random (seeded); ambiguous concatenations are dropped. An
    adversarial pair has a straddling token with at least one aligned shift among the candidate moves; its control
    pair is the next drawn no-straddle pair with the same word lengths. The asked side (first / second word) is a
    seeded coin flip per adversarial item, shared by its control. Items carry `pair` (the matched pair's index), `group`
    ("adversarial" / "control"), the candidates and the gold index. Shots are drawn from other pairs of either kind
    (first and second word alternating) and never share a word with an item. Returns (items, shots)."""
    rng = random.Random(seed)
    need_len = max(abs(d) for d in SHIFTS) + 1  # every candidate reading keeps a letter on both sides
    pool = [w for w in words if len(w) >= need_len]
    adv, ctrl_wait, shots, used = [], {}, [], set()
    for _ in range(max_tries):
        if len(adv) >= n and all(a.get("ctrl") for a in adv) and len(shots) >= n_shots:
            break
        w1, w2 = rng.choice(pool), rng.choice(pool)
        if w1 == w2 or {w1, w2} & used or ambiguous(w1, w2, dict_words):
            continue
        c = classify(tok, w1, w2)
        key = (len(w1), len(w2))
        if len(shots) < n_shots and rng.random() < 0.05:
            side = SIDES[len(shots) % 2]
            shots.append({"w1": w1, "w2": w2, "side": side, "answer": w1 if side == "first" else w2})
            used |= {w1, w2}
            continue
        if c["straddle"]:
            if c["aligned"] and len(adv) < n:
                adv.append({"w1": w1, "w2": w2, "side": rng.choice(SIDES), "seg": c, "ctrl": None})
                used |= {w1, w2}
                ctrl_wait.setdefault(key, []).append(len(adv) - 1)
        elif ctrl_wait.get(key):
            i = ctrl_wait[key].pop(0)
            adv[i]["ctrl"] = {"w1": w1, "w2": w2, "seg": c}
            used |= {w1, w2}
    else:
        raise ValueError(f"could not draw {n} matched pairs in {max_tries} tries")
    items = []
    for i, a in enumerate(adv):
        for group, p in (("adversarial", a), ("control", a["ctrl"])):
            cands = candidates(p["w1"], p["w2"], a["side"])
            aligned = p["seg"]["aligned"]
            items.append({"pair": i, "group": group, "w1": p["w1"], "w2": p["w2"], "side": a["side"],
                          "cands": cands, "gold": SHIFTS.index(0), "pieces": p["seg"]["pieces"],
                          "aligned": [SHIFTS.index(d) for d in aligned]})  # fmt: skip
    return items, shots


# prompting and scoring


def shown(w1: str, w2: str, spaced: bool) -> str:
    return f"{w1} {w2}" if spaced else w1 + w2


def prefix(shots: list[dict], spaced: bool) -> str:
    """The instruction and the solved examples, in the item's condition (spaced or concatenated)."""
    lines = [INSTRUCTION, ""]
    for s in shots:
        lines += [text_line(shown(s["w1"], s["w2"], spaced)).rstrip("\n"), f"{s['side'].capitalize()} word: "
                  f"{s['answer']}", ""]  # fmt: skip
    return "\n".join(lines) + "\n"


def suffix(item: dict, spaced: bool) -> str:
    """The item's lines up to the answer: the answer candidates follow as " <word>\\n"."""
    return text_line(shown(item["w1"], item["w2"], spaced)) + f"{item['side'].capitalize()} word:"


def _head_logp(model, hidden):
    """Log-probabilities of the next token from final hidden states (the LM head on the positions we need only)."""
    import torch

    logits = model.lm_head(hidden).float()
    cap = getattr(model.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return torch.log_softmax(logits, -1)


def score(model, tok, pre: str, items: list[dict], spaced: bool, batch: int = 8, bos: bool = False) -> np.ndarray:
    """Log-likelihood of each candidate reading (" <word>" and the closing newline), one row per item: the sum of
    the log-probabilities of the candidate's tokens after `pre + suffix(item)`.

    Three cached steps: the prefix once; the suffixes of `batch` items together (right-padded); then every candidate
    of those items on a copy of its item's cache (the padded suffix positions masked out, positions given explicitly),
    with the LM head applied only to the positions that are scored. `plain_score` is the uncached reference."""
    import torch

    head = ([tok.bos_token_id] if bos and tok.bos_token_id is not None else []) + tok(pre, add_special_tokens=False)[
        "input_ids"
    ]
    n_head = len(head)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    body = model.model
    out = []
    with torch.no_grad():
        base = body(torch.tensor([head]), use_cache=True).past_key_values
        for s in range(0, len(items), batch):
            chunk = items[s : s + batch]
            sufs = [tok(suffix(it, spaced), add_special_tokens=False)["input_ids"] for it in chunk]
            w = max(len(x) for x in sufs)
            cache = copy.deepcopy(base)
            cache.batch_repeat_interleave(len(chunk))
            smask = torch.tensor([[1] * len(x) + [0] * (w - len(x)) for x in sufs])
            x = torch.tensor([q + [pad] * (w - len(q)) for q in sufs])
            pos = torch.arange(n_head, n_head + w)[None].expand(len(chunk), -1)
            mask = torch.cat([torch.ones(len(chunk), n_head, dtype=torch.long), smask], 1)
            hs = body(x, past_key_values=cache, attention_mask=mask, position_ids=pos, use_cache=True)
            last = torch.tensor([len(q) - 1 for q in sufs])
            first_logp = _head_logp(model, hs.last_hidden_state[torch.arange(len(chunk)), last])  # [items, vocab]
            answers = [[tok(" " + c + "\n", add_special_tokens=False)["input_ids"] for c in it["cands"]] for it in chunk]
            k = len(chunk[0]["cands"])
            rows = [a for ans in answers for a in ans]
            cw = max(len(a) for a in rows)
            cache = hs.past_key_values
            cache.batch_repeat_interleave(k)
            y = torch.tensor([a + [pad] * (cw - len(a)) for a in rows])
            rmask = torch.cat([torch.ones(len(rows), n_head, dtype=torch.long), smask.repeat_interleave(k, 0),
                               torch.ones(len(rows), cw, dtype=torch.long)], 1)  # fmt: skip
            rpos = torch.tensor([[n_head + len(sufs[i // k]) + j for j in range(cw)] for i in range(len(rows))])
            hc = body(y, past_key_values=cache, attention_mask=rmask, position_ids=rpos).last_hidden_state
            ll = np.zeros((len(chunk), k))
            for r, a in enumerate(rows):
                i, j = divmod(r, k)
                v = float(first_logp[i, a[0]])
                if len(a) > 1:
                    lp = _head_logp(model, hc[r, : len(a) - 1])
                    v += float(lp.gather(1, torch.tensor(a[1:])[:, None]).sum())
                ll[i, j] = v
            out.append(ll)
    return np.concatenate(out)


def plain_score(model, tok, pre: str, item: dict, spaced: bool, bos: bool = False) -> np.ndarray:
    """The reference for `score`: one full forward pass per candidate, no cache, no padding."""
    import torch

    head = ([tok.bos_token_id] if bos and tok.bos_token_id is not None else []) + tok(pre, add_special_tokens=False)[
        "input_ids"
    ]
    suf = tok(suffix(item, spaced), add_special_tokens=False)["input_ids"]
    ll = []
    with torch.no_grad():
        for c in item["cands"]:
            ans = tok(" " + c + "\n", add_special_tokens=False)["input_ids"]
            ids = torch.tensor([head + suf + ans])
            logp = torch.log_softmax(model(ids).logits.float(), -1)[0]
            a = len(head) + len(suf)
            ll.append(float(logp[a - 1 : a - 1 + len(ans)].gather(1, ids[0, a:, None]).sum()))
    return np.array(ll)


# statistics


def paired_drop(spaced_ok, concat_ok) -> np.ndarray:
    """Per item: correct with the boundary shown (spaced) minus correct concatenated (1, 0 or -1)."""
    return np.asarray(spaced_ok, float) - np.asarray(concat_ok, float)


def aligned_excess(choice, gold, aligned, n_cands: int = len(SHIFTS)) -> tuple[np.ndarray, np.ndarray]:
    """Per wrong answer: (chose a token-aligned reading, the chance of that among the wrong readings). Only items
    answered wrongly enter; the chance share is len(aligned) / (n_cands - 1)."""
    hit, chance = [], []
    for c, g, al in zip(choice, gold, aligned):
        if c == g:
            continue
        hit.append(float(c in al))
        chance.append(len(al) / (n_cands - 1))
    return np.array(hit), np.array(chance)
