"""H-Net (Hwang, Wang & Gu 2025, "Dynamic Chunking for End-to-End Hierarchical Sequence Modeling", arXiv:2507.07955)
at tiny scale: what is new for this paper only.

The hierarchical byte LM (H-Net's learned router with smoothing, straight-through confidence and ratio loss; the
fixed-stride router, the content-blind control) is `shared.lm.hierarchy`; the BPE transformer is a
`shared.lm.family` model; all training is `shared.lm.trainer`; the byte-level BPE trainer is `shared.lm.bpe`. Here:

- `domain_docs`: the three domains: English and Chinese (zh-cn) LibreOffice help paragraphs, the same paragraphs in
  both languages (Chinese side at least 20% CJK characters: untranslated paragraphs are dropped), and Python stdlib
  source files; held out by a hash of the document (the English paragraph, or the file's path: 1 in 10), so every
  profile and seed holds out the same text and a repeated paragraph never sits on both sides;
- `byte_stream`, `token_stream`, `token_byte_lengths`: UTF-8 byte ids, BPE ids, and each BPE id's length in bytes
  (a byte-level BPE maps each byte to one symbol, so a token's byte length is its symbol count);
- `lm_bits_per_byte`: the BPE model's held-out loss per byte (token NLL over the bytes of the predicted tokens), the
  byte models' counterpart of `shared.lm.hierarchy.bits_per_byte`;
- `macs_per_byte_chunked`, `macs_per_byte_lm`: multiply-accumulates per byte of text of each model (weights and
  attention scores; norms and activations left out), for the compute-matching precondition;
- `word_start_lift`: how much more often learned chunk boundaries fall at word starts than positions do at random.
"""

import hashlib
import math
import re

import numpy as np
import torch
from torch.nn import functional as F

CJK = re.compile(r"[\u3400-\u9fff]")
DOMAINS = ("en", "zh", "code")


def _held_out(key: str) -> bool:
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % 10 == 0


def cjk_share(text: str) -> float:
    return len(CJK.findall(text)) / max(len(text), 1)


def domain_docs(domain: str, max_train_bytes: int, max_held_bytes: int) -> tuple[list[str], list[str]]:
    """`(train documents, held-out documents)` of a domain, in corpus order, each list cut at about its byte budget
    (for en and zh counted in English bytes: the two languages then hold the same paragraphs)."""
    from shared.data.loaders import load_parallel, load_text

    if domain in ("en", "zh"):
        rows = load_parallel("en", "zh-cn", "libreoffice", unit="paragraph")
        # keyed by the English text: a repeated paragraph (and its translation) falls on one side of the split
        docs = [(r["en"], r["en"] if domain == "en" else r["zh-cn"]) for r in rows if cjk_share(r["zh-cn"]) >= 0.2]
    elif domain == "code":
        rows = load_text("cpython_stdlib")
        key = "path" if "path" in rows.column_names else None
        docs = [(r[key] if key else str(i), r["text"]) for i, r in enumerate(rows)]
    else:
        raise ValueError(f"unknown domain {domain!r}; choose one of {DOMAINS}")
    train, held, n_train, n_held = [], [], 0, 0
    for key, text in docs:
        # en / zh: budgets counted on the English side, so both languages hold exactly the same paragraphs
        size = len((key if domain in ("en", "zh") else text).encode("utf-8")) + 1
        if _held_out(f"{domain if domain == 'code' else 'libreoffice'}:{key}"):
            if n_held < max_held_bytes:
                held.append(text)
                n_held += size
        elif n_train < max_train_bytes:
            train.append(text)
            n_train += size
        if n_train >= max_train_bytes and n_held >= max_held_bytes:
            break
    return train, held


def byte_stream(docs: list[str]) -> torch.Tensor:
    """The documents' UTF-8 bytes, joined by newlines, as int64 ids 0..255."""
    return torch.tensor(list("\n".join(docs).encode("utf-8")), dtype=torch.long)


def token_stream(tok, docs: list[str]) -> torch.Tensor:
    """BPE ids of the documents joined by newlines (one encode: the same bytes as `byte_stream`)."""
    return torch.tensor(tok.encode("\n".join(docs)).ids, dtype=torch.long)


def token_byte_lengths(tok) -> torch.Tensor:
    """`[V]`: bytes per BPE id (0 for special tokens): a byte-level BPE writes each byte as one symbol."""
    specials = {t.content for t in tok.get_added_tokens_decoder().values()}
    lengths = torch.zeros(tok.get_vocab_size(), dtype=torch.long)
    for piece, i in tok.get_vocab().items():
        lengths[i] = 0 if piece in specials else len(piece)
    return lengths


@torch.no_grad()
def lm_bits_per_byte(model, ids: torch.Tensor, byte_len: torch.Tensor, window: int, batch: int = 32) -> float:
    """Held-out bits per byte of a token LM: consecutive windows of `window + 1` ids, each predicting `window` tokens;
    the summed NLL (nats) over the summed byte lengths of the predicted tokens, in bits."""
    model.eval()
    n = (ids.numel() - 1) // window
    if n < 1:
        raise ValueError(f"a stream of {ids.numel()} ids has no window of {window + 1}")
    rows = torch.stack([ids[i * window : i * window + window + 1] for i in range(n)])
    nats, nbytes = 0.0, 0
    for i in range(0, n, batch):
        b = rows[i : i + batch]
        logits = model(input_ids=b[:, :-1]).logits
        nats += F.cross_entropy(logits.flatten(0, 1).float(), b[:, 1:].flatten(), reduction="sum").item()
        nbytes += int(byte_len[b[:, 1:]].sum())
    return nats / nbytes / math.log(2)


def layer_macs(width: int, mlp_ratio: int, mean_context: float) -> float:
    """One Llama block per position: q, k, v, o projections, the SwiGLU MLP (three matrices), and the attention
    scores and value mix over `mean_context` keys."""
    return 4 * width**2 + 3 * mlp_ratio * width**2 + 2 * width * mean_context


def macs_per_byte_chunked(spec, ratio: float, window: int) -> float:
    """A `ChunkedByteLM` on windows of `window` bytes with `ratio` bytes per chunk: encoder and decoder at every byte,
    the main network at every chunk, the projections, router, residual and byte head at every byte."""
    d, dm = spec.hidden_size, spec.main_width
    per_byte = (spec.encoder_layers + spec.decoder_layers) * layer_macs(d, spec.mlp_ratio, (window + 1) / 2)
    chunks = window / ratio
    per_byte += spec.main_layers * layer_macs(dm, spec.mlp_ratio, (chunks + 1) / 2) / ratio
    per_byte += (2 * d * dm if dm != d else 0) + d * d + spec.vocab_size * d
    if spec.router == "learned":
        per_byte += 2 * d * d
    return per_byte


def macs_per_byte_lm(spec, bytes_per_token: float, window_tokens: int) -> float:
    """A token LM (`shared.lm.family.ModelSpec`) on windows of `window_tokens`, per byte of text."""
    per_token = spec.layers * layer_macs(spec.hidden_size, spec.mlp_ratio, (window_tokens + 1) / 2)
    per_token += spec.vocab_size * spec.hidden_size
    return per_token / bytes_per_token


def word_starts(ids: torch.Tensor) -> torch.Tensor:
    """`[..., T]` bool: byte t (t >= 1) is not whitespace and byte t - 1 is (space, tab, newline)."""
    ws = torch.isin(ids, torch.tensor([32, 9, 10, 13]))
    out = torch.zeros_like(ws)
    out[..., 1:] = ~ws[..., 1:] & ws[..., :-1]
    return out


def word_start_lift(ids: torch.Tensor, starts: torch.Tensor) -> tuple[float, float, float]:
    """`(lift, precision, base rate)`: the share of chunk boundaries (position 0 excluded) that fall at word starts,
    over the share of all positions (0 excluded) that are word starts. 1 is chance; a router that only cuts at word
    starts has lift 1 / base rate."""
    ws = word_starts(ids)[..., 1:]
    b = starts[..., 1:]
    base = float(ws.float().mean())
    if int(b.sum()) == 0 or base == 0:
        return float("nan"), float("nan"), base
    precision = float((ws & b).sum() / b.sum())
    return precision / base, precision, base


def t_mean(values, n_unit: str = "seeds", unit: str = ""):
    """The mean over seeds with a Student-t interval (`Measurement.t_mean`)."""
    from shared.claims import Measurement

    return Measurement.t_mean(np.asarray(values, dtype=float), n_unit=n_unit, unit=unit)
