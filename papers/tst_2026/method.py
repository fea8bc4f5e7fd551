"""
Number tokenisations for tiny arithmetic LMs, after Chetverina, "A Triadic Suffix Tokenization Scheme for Numerical
Reasoning" (arXiv:2604.11582v1): Triadic Suffix Tokenization (TST) and the baselines it is compared with here.

What is new in this paper, and only that: the four number tokenisations, the synthetic arithmetic tasks in their
token form, and the exact-match evaluation; the model family and the trainer are `shared.lm`.

Schemes (`encode(number_string, scheme)` -> list of pieces, `decode(pieces, scheme)` -> canonical number string):
- `digit`: one piece per digit (and `.`).
- `bpe`: a byte-pair encoding learned over training-distribution numbers by HF `tokenizers` (`train_bpe`), the
  "standard subword" fragmentation the paper criticises.
- `chunk3`: TST's triads without the magnitude markers: integer part grouped in threes from the right (the leading
  triad unpadded, inner triads zero-padded: `1234567` -> `1 234 567`), fraction grouped in threes from the left and
  zero-padded on the right (`.5` -> `. 500`). This is the control that isolates the suffixes.
- `tst`: the paper's suffix-marker variant (its variant 2): every integer triad but the units one is followed by its
  magnitude marker (`<k>` thousands, `<m>` millions, `<b>`, `<t>`, `<q>`), every fraction triad by its replicated depth
  marker (`<p>`, `<pp>`, `<ppp>`, ...): `1234567` -> `1 <m> 234 <k> 567`; `12.5` -> `12 . 500 <p>` (the markers and
  the order triad-then-marker follow the author's reference converter, DOI 10.5281/zenodo.18999577).
- `placebo` (the trivial control): TST's sequence with every magnitude marker replaced by one constant token `<_>`: the
  same length, grouping and extra computation per triad as TST, without the magnitude information.

Deviations from the paper, on purpose:
- The paper proposes TST for pretrained LLM vocabularies and runs no experiment ("Experimental validation is deferred
  to future work"); here it is tested as an analogue: tiny from-scratch models on synthetic arithmetic.
- Only the suffix-marker variant is trained (the vocabulary variant, one token per triad-and-suffix, multiplies the
  embedding rows to learn by the number of magnitudes; at this scale that confounds the suffix with data sparsity).
- Fraction triads are zero-padded as the paper prescribes, so the decoded canonical string drops trailing zeros.
"""

import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import torch

INT_SUFFIXES = ("<k>", "<m>", "<b>", "<t>", "<q>")  # 10^3, 10^6, 10^9, 10^12, 10^15 (the units triad has none)
MAX_FRACTION_TRIADS = 5  # <p> ... <ppppp>: fractional depth down to 10^-15, as in the paper
FRAC_SUFFIXES = tuple("<" + "p" * i + ">" for i in range(1, MAX_FRACTION_TRIADS + 1))
PLACEBO = "<_>"  # the placebo marker: one constant token wherever TST writes a magnitude marker
SCHEMES = ("digit", "bpe", "chunk3", "tst", "placebo")
SPECIALS = ("<pad>", "<bos>", "<eos>", "+", "?", "=", "LT", "EQ", "GT")  # pad = 0, bos = 1, eos = 2
PAD, BOS, EOS = 0, 1, 2
ANSWERS = {-1: "LT", 0: "EQ", 1: "GT"}
OPS = ("add", "cmp", "dcmp")


# ---------------------------------------------------------------------------------------------------------------
# the tokenisations


def _split(number: str) -> tuple[str, str | None]:
    if number.count(".") > 1 or not number.replace(".", "").isdigit():
        raise ValueError(f"not an unsigned decimal number: {number!r}")
    whole, _, frac = number.partition(".")
    return whole or "0", (frac if "." in number else None)


def int_triads(whole: str) -> list[str]:
    """The integer part in triads from the right: `1234567` -> `['1', '234', '567']` (leading triad unpadded)."""
    whole = whole.lstrip("0") or "0"
    head = len(whole) % 3 or 3
    return [whole[:head]] + [whole[i : i + 3] for i in range(head, len(whole), 3)]


def frac_triads(frac: str) -> list[str]:
    """The fraction in triads from the left, zero-padded on the right: `'05'` -> `['050']`, `'1234'` -> `['123', '400']`."""
    return [frac[i : i + 3].ljust(3, "0") for i in range(0, len(frac), 3)]


def triads(number: str, suffixes: bool, placebo: bool = False) -> list[str]:
    """TST pieces of `number` (`suffixes=True`), the same triads without the magnitude markers (`chunk3`), or with the
    one constant placebo marker in place of each magnitude marker (`placebo=True`: TST's length, no magnitude)."""
    whole, frac = _split(number)
    groups = int_triads(whole)
    if len(groups) - 1 > len(INT_SUFFIXES):
        raise ValueError(f"{number}: beyond the suffix inventory (10^{3 * len(INT_SUFFIXES) + 2})")
    out = []
    for i, g in enumerate(groups):
        out.append(g)
        mag = len(groups) - 1 - i
        if suffixes and mag:
            out.append(PLACEBO if placebo else INT_SUFFIXES[mag - 1])
    if frac is not None:
        fr = frac_triads(frac)
        if len(fr) > MAX_FRACTION_TRIADS:
            raise ValueError(f"{number}: fraction deeper than 10^-{3 * MAX_FRACTION_TRIADS}")
        out.append(".")
        for i, g in enumerate(fr):
            out.append(g)
            if suffixes:
                out.append(PLACEBO if placebo else FRAC_SUFFIXES[i])
    return out


def canonical(number: str) -> str:
    """The string every scheme decodes to: no leading zeros in the integer part, no trailing zeros in the fraction
    (TST's zero-padding of fraction triads cannot keep them), no dangling point."""
    whole, frac = _split(number)
    whole = whole.lstrip("0") or "0"
    frac = (frac or "").rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def decode_triads(pieces: list[str], suffixes: bool) -> str:
    """Inverse of `triads`; with `suffixes`, the markers must be exactly the ones TST writes (else ValueError)."""
    digits = [p for p in pieces if p not in INT_SUFFIXES + FRAC_SUFFIXES + (PLACEBO,)]
    if "." in digits:
        k = digits.index(".")
        whole, frac = digits[:k], digits[k + 1 :]
    else:
        whole, frac = digits, []
    if not whole or any(not p.isdigit() for p in whole + frac) or any(len(p) != 3 for p in whole[1:] + frac):
        raise ValueError(f"not a triad sequence: {pieces}")
    number = "".join(whole) + ("." + "".join(frac) if frac else "")
    if suffixes and triads(number, True) != list(pieces):
        raise ValueError(f"magnitude markers do not match the triads: {pieces}")
    return canonical(number)


def train_bpe(numbers: list[str], vocab_size: int):
    """A BPE over number strings (alphabet: the digits and `.`), learned by HF `tokenizers` with every number one word."""
    from tokenizers import Tokenizer, models, trainers

    tok = Tokenizer(models.BPE())
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=list("0123456789."), special_tokens=[],
                                  show_progress=False)  # fmt: skip
    tok.train_from_iterator(numbers, trainer=trainer)
    return tok


def encode(number: str, scheme: str, bpe=None) -> list[str]:
    """The pieces of `number` under `scheme` (`bpe` needs the tokenizer from `train_bpe`)."""
    if scheme == "digit":
        _split(number)
        return list(number)
    if scheme == "bpe":
        _split(number)
        return bpe.encode(number).tokens
    if scheme == "chunk3":
        return triads(number, suffixes=False)
    if scheme == "tst":
        return triads(number, suffixes=True)
    if scheme == "placebo":
        return triads(number, suffixes=True, placebo=True)
    raise ValueError(f"scheme {scheme!r}; choose one of {SCHEMES}")


def decode(pieces: list[str], scheme: str) -> str:
    if scheme in ("digit", "bpe"):
        return canonical("".join(pieces))
    if scheme == "placebo":
        number = decode_triads(pieces, suffixes=False)
        if triads(number, True, placebo=True) != list(pieces):
            raise ValueError(f"placebo markers misplaced: {pieces}")
        return number
    return decode_triads(pieces, suffixes=scheme == "tst")


def scheme_pieces(scheme: str, bpe=None) -> list[str]:
    """Every piece a scheme can emit (its number vocabulary), in a fixed order."""
    if scheme == "digit":
        return list("0123456789.")
    if scheme == "bpe":
        return [t for t, _ in sorted(bpe.get_vocab().items(), key=lambda kv: kv[1])]
    chunks = [f"{i}" for i in range(10)] + [f"{i:02d}" for i in range(100)] + [f"{i:03d}" for i in range(1000)]
    chunks = list(dict.fromkeys(chunks)) + ["."]
    return chunks + {"tst": list(INT_SUFFIXES + FRAC_SUFFIXES), "placebo": [PLACEBO]}.get(scheme, [])


@dataclass
class Vocab:
    scheme: str
    pieces: list[str]  # SPECIALS then the scheme's number pieces
    bpe: object = None

    @classmethod
    def build(cls, scheme: str, bpe=None) -> "Vocab":
        return cls(scheme, list(SPECIALS) + scheme_pieces(scheme, bpe), bpe)

    def __post_init__(self):
        self.index = {p: i for i, p in enumerate(self.pieces)}

    def __len__(self):
        return len(self.pieces)

    def ids(self, number: str) -> list[int]:
        return [self.index[p] for p in encode(number, self.scheme, self.bpe)]


# ---------------------------------------------------------------------------------------------------------------
# the tasks


def rand_int(rng: random.Random, digits: int) -> int:
    return rng.randint(0 if digits == 1 else 10 ** (digits - 1), 10**digits - 1)


def make_problem(op: str, rng: random.Random, digits: tuple[int, int]) -> tuple[str, str, str]:
    """One problem `(a, b, answer)` as strings: `add` a + b (each operand 1..max digits, drawn independently, or
    both of `digits` exactly when lo == hi), `cmp` compare two integers (half the pairs of equal length, half of those
    differing in one digit, 1 in 10 equal), `dcmp` compare two decimals with 1-2 integer and 1-3 fraction digits (half
    share the integer part, the "9.11 vs 9.9" case). Answers of comparisons are `LT`/`EQ`/`GT`."""
    lo, hi = digits
    if op == "add":
        a, b = rand_int(rng, rng.randint(lo, hi)), rand_int(rng, rng.randint(lo, hi))
        return str(a), str(b), str(a + b)
    if op == "cmp":
        n = rng.randint(lo, hi)
        a = str(rand_int(rng, n))
        u = rng.random()
        if u < 0.1:
            b = a
        elif u < 0.55:
            pos = rng.randrange(n)
            d = str(rng.choice([x for x in range(10) if str(x) != a[pos] and not (pos == 0 and x == 0 and n > 1)]))
            b = a[:pos] + d + a[pos + 1 :]
        elif u < 0.75:
            b = str(rand_int(rng, n))
        else:
            b = str(rand_int(rng, rng.randint(lo, hi)))
        c = (int(a) > int(b)) - (int(a) < int(b))
        return a, b, ANSWERS[c]
    if op == "dcmp":

        def dec(whole=None):
            whole = whole if whole is not None else str(rand_int(rng, rng.randint(1, 2)))
            k = rng.randint(1, 3)
            frac = "".join(str(rng.randint(0, 9)) for _ in range(k - 1)) + str(rng.randint(1, 9))
            return f"{whole}.{frac}"

        a = dec()
        u = rng.random()
        b = a if u < 0.1 else dec(a.split(".")[0]) if u < 0.6 else dec()
        c = (Decimal(a) > Decimal(b)) - (Decimal(a) < Decimal(b))
        return a, b, ANSWERS[c]
    raise ValueError(f"op {op!r}; choose one of {OPS}")


def sequence(vocab: Vocab, op: str, a: str, b: str, answer: str) -> tuple[list[int], int]:
    """`<bos> a op b = answer <eos>` as ids, and the index of the first answer token."""
    sym = vocab.index["+" if op == "add" else "?"]
    prompt = [BOS] + vocab.ids(a) + [sym] + vocab.ids(b) + [vocab.index["="]]
    ans = vocab.ids(answer) if op == "add" else [vocab.index[answer]]
    return prompt + ans + [EOS], len(prompt)


def collate(seqs: list[tuple[list[int], int]]) -> dict:
    """Right-padded `input_ids [B, T]` and `targets [B, T]`: the next token at answer positions (the answer and its
    `<eos>`), -100 elsewhere. Padding on the right leaves every real position's causal context untouched."""
    T = max(len(s) for s, _ in seqs) - 1
    ids = torch.full((len(seqs), T), PAD, dtype=torch.long)
    tgt = torch.full((len(seqs), T), -100, dtype=torch.long)
    for i, (s, start) in enumerate(seqs):
        ids[i, : len(s) - 1] = torch.tensor(s[:-1])
        tgt[i, start - 1 : len(s) - 1] = torch.tensor(s[start:])
    return {"input_ids": ids, "targets": tgt}


def sampler(vocab: Vocab, ops: tuple[str, ...], digits: tuple[int, int], batch: int):
    """The trainer's `batches(step, generator)`: a fresh batch of problems (ops in turn), drawn from a Python RNG seeded
    by the trainer's generator (so a training seed fixes the data)."""

    def batches(step, gen):
        rng = random.Random(int(torch.randint(0, 2**62, (1,), generator=gen)))
        return collate([sequence(vocab, ops[i % len(ops)], *make_problem(ops[i % len(ops)], rng, digits))
                        for i in range(batch)])  # fmt: skip

    return batches


def mean_tokens(vocab: Vocab, ops, digits, n: int = 3000, seed: int = 12345) -> float:
    """Mean real tokens per training sequence (inputs, i.e. without the final `<eos>` target) of a scheme."""
    rng = random.Random(seed)
    return sum(len(sequence(vocab, op, *make_problem(op, rng, digits))[0]) - 1
               for op in (ops[i % len(ops)] for i in range(n))) / n  # fmt: skip


@torch.no_grad()
def exact_match(model, vocab: Vocab, problems: list[tuple[str, str, str, str]], batch_size: int = 256) -> list[bool]:
    """Per problem `(op, a, b, answer)`: does greedy decoding produce exactly the answer's tokens and `<eos>`?

    Computed in one teacher-forced pass: greedy decoding reproduces the target iff the argmax at every answer position,
    given the correct prefix, is the target token (an argmax tie counts as a miss)."""
    out = []
    for i in range(0, len(problems), batch_size):
        chunk = problems[i : i + batch_size]
        batch = collate([sequence(vocab, op, a, b, ans) for op, a, b, ans in chunk])
        logits = model(input_ids=batch["input_ids"]).logits.float()
        top2 = logits.topk(2, dim=-1)
        hit = (top2.indices[..., 0] == batch["targets"]) & (top2.values[..., 0] > top2.values[..., 1])
        mask = batch["targets"] != -100
        out += ((hit | ~mask).all(dim=1)).tolist()
    return out


def eval_problems(op: str, digits: tuple[int, int], n: int, seed: int) -> list[tuple[str, str, str, str]]:
    rng = random.Random(seed)
    return [(op, *make_problem(op, rng, digits)) for _ in range(n)]


# ---------------------------------------------------------------------------------------------------------------
# training with stored weights


def settings_key(**settings) -> str:
    """A short stable hash of what a checkpoint depends on, with the family's code version (an engine change retrains)."""
    import hashlib
    import json

    from shared.lm.family import code_version

    blob = json.dumps({**settings, "code": code_version()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def train_or_load(spec, cfg, batches, path: Path, key: str):
    """The model of `spec` trained by the shared trainer on `batches`, stored at `path` (fp16 safetensors tagged with
    `key`) and always evaluated from the stored weights, so the run that trains and every later run see the same model.

    Returns:
        tuple: the model (fp32, eval mode) and `{"trained_here", "final_loss", "seconds"}` (the last two only when
        trained here).
    """
    from shared.lm.checkpoints import load_checkpoint, save_checkpoint
    from shared.lm.family import make_model
    from shared.lm.trainer import train

    path = Path(path)
    model = make_model(spec, seed=cfg.seed)
    log = {"trained_here": not path.exists(), "final_loss": None, "seconds": None}
    if log["trained_here"]:
        result = train(model, None, cfg, log=None, batches=batches)
        log.update(final_loss=result.history[-1]["loss"], seconds=result.seconds)
        save_checkpoint(path, model, key)
    return load_checkpoint(path, make_model(spec, seed=cfg.seed), key), log
