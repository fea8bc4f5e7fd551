"""Long real documents for long-context evaluation, from `data/` (a helper that may later move to `shared.data`)."""

import torch

from shared.data import load_text


def kjv_documents(tok, books: list[str], n_tokens: int) -> torch.Tensor:
    """The first `n_tokens` tokens of each KJV book (verses joined by spaces), no special tokens.

    Args:
        tok: a tokenizer callable as `tok(text, add_special_tokens=False).input_ids`.
        books (list[str]): book codes as in `data/text/kjv` (`"Ge"`, `"Exo"`, `"Mat"`, `"Isa"`, ...).

    Returns:
        torch.Tensor: `[len(books), n_tokens]` token ids.
    """
    ds = load_text("kjv")
    verses = list(zip(ds["book"], ds["text"]))
    docs = []
    for book in books:
        text = " ".join(t for b, t in verses if b == book)
        ids = tok(text, add_special_tokens=False).input_ids
        if len(ids) < n_tokens:
            raise ValueError(f"book {book} has only {len(ids)} tokens, {n_tokens} needed")
        docs.append(ids[:n_tokens])
    return torch.tensor(docs)
