"""MrT5's experiment around the shared delete-gate model, after Kallini et al., "MrT5: Dynamic Token Merging for
Efficient Byte-level Language Models" (arXiv:2410.20771).

The model, the span-corruption objective, soft and hard deletion, the regulariser and the PI rate controller live in
`shared.lm.deletion`. What is new here, and only that:
- the data: English prose windows (fortunes, split by document) for training and in-domain evaluation, and windows of
  the gettext parallel text (the same UI messages in English and in other languages) for zero-shot transfer;
- the training objectives of the three deleting arms: the gate under the rate controller (`controlled_loss`), and the
  trivial controls trained with a forced deletion mask at the same rate (`forced_loss`: random deletion, or evenly
  spaced "stride" deletion, the content-blind analogue of fixed-stride pooling);
- the deletion masks of the controls (`random_mask`, `stride_mask`) and the unigram reference of the target ids;
- a runtime benchmark of the forward pass with and without deletion (interleaved repeats).

Deviations from the paper, on purpose (see the README): tiny models trained from scratch on CPU (MrT5 continues a
pre-trained ByT5); a shared pre-training stage with no deletion stands in for ByT5's pre-training; stride deletion
stands in for pooling (deletion after the gate layer, whose kept tokens have already attended to their neighbours).
"""

import time

import numpy as np
import torch
from torch.nn import functional as F

from shared.data.loaders import data_path, read_jsonl
from shared.lm import deletion as D

# zero-shot transfer: Latin-script languages with translations of almost every message of the domains below (the
# claim's languages) and non-Latin scripts (reported, not judged: their bytes never occur in the English training text)
LATIN = ("de", "fr", "es", "it", "pt", "sv", "pl", "cs", "tr", "da", "id")
OTHER_SCRIPTS = ("ru", "el", "ja", "zh-cn")
GETTEXT_DOMAINS = ("glib20", "gtk30", "gtk20", "libc", "coreutils")


# data


def english_docs(train_bytes: int, held_bytes: int, held_every: int = 10) -> tuple[list[str], list[str]]:
    """English prose (the fortunes corpus), split by document: every `held_every`-th fortune is held out. Returns
    `(train, held)` lists of documents, cut once each reaches its byte budget (UTF-8 bytes)."""
    train, held, n_train, n_held = [], [], 0, 0
    for i, row in enumerate(read_jsonl(data_path("text/fortunes/fortunes.jsonl"))):
        text = row["text"].strip()
        if not text:
            continue
        size = len(text.encode("utf-8"))
        if i % held_every == held_every - 1:
            if n_held < held_bytes:
                held.append(text)
                n_held += size
        elif n_train < train_bytes:
            train.append(text)
            n_train += size
        if n_train >= train_bytes and n_held >= held_bytes:
            break
    return train, held


def windows(docs: list[str], size: int) -> list[bytes]:
    """The documents' UTF-8 bytes joined by newlines and cut into consecutive windows of `size` bytes (the last,
    shorter one dropped)."""
    stream = "\n".join(docs).encode("utf-8")
    return [stream[i : i + size] for i in range(0, len(stream) - size + 1, size)]


def parallel_messages(langs: tuple[str, ...], domains: tuple[str, ...] = GETTEXT_DOMAINS) -> list[dict]:
    """gettext messages translated into every language of `langs`: `{"en": ..., lang: ...}` each, in file order
    (messages shorter than 2 bytes or spanning more than 400 bytes in some language are left out)."""
    out = []
    for domain in domains:
        for r in read_jsonl(data_path(f"parallel/gettext/{domain}/messages.jsonl")):
            texts = {lang: r.get(lang) for lang in ("en",) + tuple(langs)}
            if all(t and t.strip() for t in texts.values()):
                texts = {k: v.strip() for k, v in texts.items()}
                if all(2 <= len(t.encode("utf-8")) <= 400 for t in texts.values()):
                    out.append(texts)
    return out


def parallel_windows(messages: list[dict], langs: tuple[str, ...], max_bytes: int) -> list[dict]:
    """Pack consecutive messages (joined by newlines) into parallel windows: the same messages in every language, as
    many as fit `max_bytes` in the longest language. `{lang: bytes}` per window; a lone message over the limit is
    skipped."""
    out, cur = [], []

    def size(ms, lang):
        return len("\n".join(m[lang] for m in ms).encode("utf-8"))

    for m in messages:
        if max(size(cur + [m], lang) for lang in langs) <= max_bytes:
            cur.append(m)
            continue
        if cur:
            out.append({lang: "\n".join(x[lang] for x in cur).encode("utf-8") for lang in langs})
        cur = [m] if max(size([m], lang) for lang in langs) <= max_bytes else []
    if cur:
        out.append({lang: "\n".join(x[lang] for x in cur).encode("utf-8") for lang in langs})
    return out


def corrupt_all(texts: list[bytes], rate: float, mean_span: float, spec: D.GateSpec, seed: int) -> list[tuple]:
    """Span corruption of every text with its own generator (seed, index): the same inputs for every model."""
    return [D.span_corrupt(t, rate, mean_span, spec, np.random.default_rng([seed, i])) for i, t in enumerate(texts)]


def batches_of(pairs: list[tuple], batch_size: int, spec: D.GateSpec) -> list[dict]:
    return [D.collate(pairs[i : i + batch_size], spec) for i in range(0, len(pairs), batch_size)]


def unigram_nats(train_pairs: list[tuple], held_pairs: list[tuple], vocab: int) -> float:
    """Cross-entropy (nats per target id) of the held-out targets under the training targets' unigram distribution
    (add-one smoothing): the loss of a decoder that ignores its input and its prefix."""
    counts = np.ones(vocab)
    for _, tgt in train_pairs:
        np.add.at(counts, tgt, 1)
    logp = np.log(counts / counts.sum())
    ids = np.concatenate([np.asarray(t) for _, t in held_pairs])
    return float(-logp[ids].mean())


# the controls' deletion masks


def deletable(input_ids: torch.Tensor, spec: D.GateSpec) -> torch.Tensor:
    """Bytes the gate may delete (not padding, sentinels or eos)."""
    return (input_ids < D.BYTES) & (input_ids != spec.pad_id)


def stride_mask(input_ids: torch.Tensor, rate: float, spec: D.GateSpec) -> torch.Tensor:
    """Evenly spaced deletion of a `rate` share of each row's deletable bytes: the j-th deletable byte (0-based) is
    deleted when floor((j + 1) rate) > floor(j rate), so every run of 1 / rate bytes loses rate of them (at rate 0.5:
    every second byte), a content-blind fixed stride."""
    ok = deletable(input_ids, spec)
    j = torch.cumsum(ok.long(), dim=1) - 1
    r = torch.tensor(rate, dtype=torch.float64)
    hit = torch.floor((j + 1).double() * r + 1e-9) > torch.floor(j.double() * r + 1e-9)
    return hit & ok


def random_mask(input_ids: torch.Tensor, rate: float, spec: D.GateSpec, gen: torch.Generator) -> torch.Tensor:
    """Each deletable byte deleted independently with probability `rate`."""
    return (torch.rand(input_ids.shape, generator=gen) < rate) & deletable(input_ids, spec)


# training objectives of the deleting arms


def forced_loss(mask_fn):
    """The shared trainer's `loss_fn` for a control: target cross-entropy under soft deletion of the mask
    `mask_fn(input_ids)` (k added at the deleted keys of every later layer and of the cross-attention)."""

    def loss(model: D.GatedSeq2Seq, batch: dict) -> torch.Tensor:
        delete = mask_fn(batch["input_ids"])
        logits = model(batch["input_ids"], batch["decoder_input_ids"], delete=delete)
        return F.cross_entropy(logits.flatten(0, 1).float(), batch["labels"].flatten(), ignore_index=-100)

    return loss


def controlled_loss(controller: D.RateController, trace: list | None = None):
    """The shared trainer's `loss_fn` for MrT5: `gated_loss` with `alpha` set by the PI controller from the deletion
    rate of the previous step's batch (MrT5's schedule); `trace` collects `(rate, alpha)` per step."""
    state = {"alpha": 0.0}

    def loss(model: D.GatedSeq2Seq, batch: dict) -> torch.Tensor:
        model.alpha = state["alpha"]
        out = D.gated_loss(model, batch)
        rate = D.deletion_rate(model.last)
        state["alpha"] = controller.update(rate)
        if trace is not None:
            trace.append((rate, model.alpha))
        return out

    return loss


def fresh_gate(model: D.GatedSeq2Seq, seed: int) -> None:
    """Re-draw the gate's weights (normal, std 0.02, from `seed`) and reset its bias and norm to their initial values:
    a new gate on a pre-trained model, as MrT5 adds one to ByT5."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model.gate.weight.copy_(torch.randn(model.gate.weight.shape, generator=gen) * 0.02)
        model.gate.bias.fill_(-2.0)
        model.gate_norm.reset_parameters()


def sampler(pairs: list[tuple], batch_size: int, spec: D.GateSpec):
    """The trainer's `batches(step, generator)`: `batch_size` random training pairs, collated."""

    def batches(step: int, gen: torch.Generator) -> dict:
        idx = torch.randint(0, len(pairs), (batch_size,), generator=gen).tolist()
        return D.collate([pairs[i] for i in idx], spec)

    return batches


# runtime


@torch.no_grad()
def time_forward(model: D.GatedSeq2Seq, batches: list[dict], arms: dict, repeats: int = 5) -> dict:
    """Seconds per pass over `batches` of the full forward (hard deletion), per arm, the arms interleaved within each
    repeat (so drifts of the machine hit all alike), after one untimed warm-up pass each: `{arm: [seconds per repeat]}`. `arms` maps a name to a
    `delete_fn(batch) -> mask or None` (None: the gate decides)."""
    model.eval()
    out = {a: [] for a in arms}
    for fn in arms.values():  # warm-up pass of every arm, not timed
        model(batches[0]["input_ids"], batches[0]["decoder_input_ids"], hard=True, delete=fn(batches[0]))
    for _ in range(repeats):
        for name, fn in arms.items():
            t0 = time.perf_counter()
            for b in batches:
                model(b["input_ids"], b["decoder_input_ids"], hard=True, delete=fn(b))
            out[name].append(time.perf_counter() - t0)
    return out
