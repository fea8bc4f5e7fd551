"""The model zoo behind one function: `model, tok = shared.models.load("gemma-3-270m")`.

Packaged GGUF models are assembled from their PyPI parts, checked by sha256 and converted once to an HF folder under
`~/.cache/token-papers/models/` (`TOKEN_PAPERS_CACHE` moves it), so that later loads take seconds; the tiny LMs come
from the `shared/lm` DVC stage. A model that is not installed raises `ModelMissing` with the command that installs it.

    from shared.models import load, require
    require("gemma-3-270m")                                # fail early, before any work
    model, tok = load("gemma-3-270m", attn_implementation="eager")  # eager: attention weights available
"""

import os
import shutil
import time
from pathlib import Path

from shared.data.deps import MissingDependency, cache_root
from shared.data.manifest import file_sha256
from shared.models import cache
from shared.models.zoo import TINY_DIR, ZOO, Entry, dist_folder, dist_largest_file, installed

__all__ = ["ZOO", "ModelMissing", "load", "load_from_gguf", "require", "require_for_paper", "gguf_file", "onnx_file",
           "cache_dir", "stage_dir"]  # fmt: skip


class ModelMissing(MissingDependency):
    """A zoo model is not installed; the message says `needs model X: run ...`."""


def _offline() -> None:
    # the hub is unreachable on the project's machines: never let transformers try it
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(var, "1")


def entry(name: str) -> Entry:
    if name not in ZOO:
        raise KeyError(f"unknown zoo model {name!r}; known: {', '.join(ZOO)}")
    return ZOO[name]


def install_command(name: str) -> str:
    return f"papers models install {name}"


def require(*names: str) -> None:
    """Raise `ModelMissing` for the first zoo model that is not installed: call it at the top of a notebook."""
    missing = [n for n in names if not installed(entry(n))]
    if missing:
        raise ModelMissing(f"needs model{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
                           f"run `papers models install {' '.join(missing)}`")  # fmt: skip


def require_for_paper(slug: str, papers_dir: Path | None = None) -> None:
    """Fail early when a paper's declared models (`models:` in paper.yaml) or data folders (`data:`) are missing."""
    from shared.data.loaders import data_path
    from shared.paper import Paper

    meta = (Paper(slug, papers_dir) if papers_dir else Paper(slug)).meta
    missing = [n for n in meta.get("models") or [] if not installed(entry(n))]
    if missing:
        raise ModelMissing(f"{slug} needs model{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
                           f"run `papers models install --paper {slug}`")  # fmt: skip
    for rel in meta.get("data") or []:
        data_path(rel)


def gguf_file(name: str) -> Path:
    """The GGUF of a zoo model, checked by sha256; multi-part packages are concatenated once into the cache."""
    e = entry(name)
    require(name)
    if len(e.parts) == 1:
        path = dist_largest_file(e.parts[0])
        # single-file packages are read in place; their hash is checked once per (size, mtime) and remembered
        stamp = cache_root() / "gguf" / f"{e.name}.sha256-checked"
        st = path.stat()
        key = f"{path} {st.st_size} {st.st_mtime_ns} {e.sha256}"
        if not stamp.exists() or stamp.read_text() != key:
            if file_sha256(path) != e.sha256:
                raise ModelMissing(f"{path} does not match the pinned sha256 of {name}: reinstall with "
                                   f"`papers models install --force {name}`")  # fmt: skip
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(key)
        return path

    def assemble(tmp: Path) -> dict:
        out = tmp / f"{e.name}.gguf"
        with open(out, "wb") as f:
            for dist in e.parts:
                with open(dist_largest_file(dist), "rb") as g:
                    shutil.copyfileobj(g, f, 1 << 24)
        got = file_sha256(out)
        if got != e.sha256:
            raise ModelMissing(f"assembled {name} has sha256 {got}, expected {e.sha256}: the part packages are not "
                               f"the pinned ones; run `papers models install --force {name}`")  # fmt: skip
        return {"zoo": name, "sha256": got}

    folder = cache.ensure(cache_root() / "gguf" / f"{e.name}-{e.sha256[:12]}", assemble, quiet=True)
    return folder / f"{e.name}.gguf"


def cache_dir(name: str, dtype: str = "float32") -> Path:
    """Where the converted HF folder of a GGUF model lives; the key includes the GGUF hash and transformers version."""
    import transformers

    e = entry(name)
    return cache_root() / "models" / f"{e.name}-{e.sha256[:12]}-tf{transformers.__version__}-{dtype}"


def load_from_gguf(name: str, dtype=None, attn_implementation: str | None = None):
    """Load a GGUF zoo model straight from its GGUF (slow: tokenizer conversion and dequantisation every time)."""
    _offline()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = gguf_file(name)
    tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    kwargs = {"attn_implementation": attn_implementation} if attn_implementation else {}
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=dtype or torch.float32,
                                                 **kwargs)  # fmt: skip
    return model.eval(), tok


def convert(name: str, dtype: str = "float32", full_check: bool = False) -> Path:
    """The converted HF folder of a GGUF model, built on first use (and rebuilt when a file is damaged)."""
    import torch
    import transformers

    def build(tmp: Path) -> dict:
        print(f"converting {name} from GGUF to an HF folder (once per machine; ~20-70 s) ...", flush=True)
        model, tok = load_from_gguf(name, dtype=getattr(torch, dtype))
        # a GGUF-loaded model refuses save_pretrained ("quantized with gguf and is not serializable"); its weights
        # are already dequantised, so dropping the quantizer record is enough
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        return {"zoo": name, "gguf_sha256": entry(name).sha256, "dtype": dtype,
                "transformers": transformers.__version__, "torch": torch.__version__}  # fmt: skip

    return cache.ensure(cache_dir(name, dtype), build, full=full_check)


def onnx_file(name: str) -> Path:
    """The ONNX graph of an `onnx-vit` zoo model, checked by sha256 once per (size, mtime)."""
    e = entry(name)
    require(name)
    path = dist_folder(e.parts[0], e.weights_file)
    stamp = cache_root() / "onnx" / f"{e.name}.sha256-checked"
    st = path.stat()
    key = f"{path} {st.st_size} {st.st_mtime_ns} {e.sha256}"
    if not stamp.exists() or stamp.read_text() != key:
        if st.st_size != e.size or file_sha256(path) != e.sha256:
            raise ModelMissing(f"{path} does not match the pinned sha256 of {name}: reinstall with "
                               f"`papers models install --force {name}`")  # fmt: skip
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(key)
    return path


def convert_vit(name: str, full_check: bool = False) -> Path:
    """The converted HF folder of an `onnx-vit` model (weights, config, image processor), built on first use."""
    import torch
    import transformers

    from shared.models import vit

    e = entry(name)

    def build(tmp: Path) -> dict:
        print(f"converting {name} from ONNX to an HF folder (once per machine; seconds) ...", flush=True)
        model = vit.model_from_onnx(onnx_file(name))
        model.save_pretrained(str(tmp))
        vit.image_processor().save_pretrained(str(tmp))
        return {"zoo": name, "onnx_sha256": e.sha256, "transformers": transformers.__version__,
                "torch": torch.__version__}  # fmt: skip

    folder = cache_root() / "models" / f"{e.name}-{e.sha256[:12]}-tf{transformers.__version__}-float32"
    return cache.ensure(folder, build, full=full_check)


def fast_tokenizer(folder: Path):
    """A `PreTrainedTokenizerFast` read from `folder/tokenizer.json` once.

    `AutoTokenizer.from_pretrained` parses tokenizer.json twice (once with Python's json, once in Rust) and
    `tokenizer_object=` deep-copies it; with Gemma's 262k vocabulary each pass costs seconds. Special tokens and the
    chat template come from the small files `save_pretrained` wrote next to it.
    """
    import json

    from transformers import PreTrainedTokenizerFast

    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    kwargs = {k: v for k, v in config.items() if k.endswith("_token") and isinstance(v, str)}
    if (folder / "chat_template.jinja").exists():
        kwargs["chat_template"] = (folder / "chat_template.jinja").read_text(encoding="utf-8")
    elif isinstance(config.get("chat_template"), str):
        kwargs["chat_template"] = config["chat_template"]
    for key in ("model_max_length", "padding_side", "clean_up_tokenization_spaces"):
        if key in config:
            kwargs[key] = config[key]
    return PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"), **kwargs)


def load(name: str, dtype: str = "float32", attn_implementation: str | None = None, verify: bool = False):
    """Load a zoo model and its tokenizer.

    Args:
        name (str): a key of `ZOO` (`gemma-3-270m`, `qwen2.5-coder-0.5b-instruct`, `smollm2-135m-instruct`,
            `all-minilm-l6-v2`, `tiny-lm-small`, ...).
        dtype (str): `float32` (default) or `bfloat16`; for GGUF models each dtype has its own cache folder.
        attn_implementation (str, Optional): `eager` for papers that read attention weights; default: transformers'.
        verify (bool): hash every cached file before loading (otherwise only files whose size or mtime changed).

    Returns:
        tuple: `(model, tokenizer)`, the model in eval mode on the CPU; for a vision model (`dinov2-s`) the second
        item is its image processor (`shared.models.vit.image_processor`), and attention is eager unless asked.
    """
    _offline()
    import torch
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    e = entry(name)
    require(name)
    kwargs = {"attn_implementation": attn_implementation} if attn_implementation else {}
    if e.kind == "gguf":
        folder = convert(name, dtype, full_check=verify)
        model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=getattr(torch, dtype), **kwargs)
        tok = fast_tokenizer(folder)
    elif e.kind == "hf":
        folder = dist_folder(e.parts[0], e.hf_dir)
        weights = folder / e.weights_file
        if weights.stat().st_size != e.size or (verify and file_sha256(weights) != e.sha256):
            raise ModelMissing(
                f"{weights} does not match the pinned {name}: run `papers models install --force {name}`"
            )
        model = AutoModel.from_pretrained(str(folder), dtype=getattr(torch, dtype), **kwargs)
        tok = AutoTokenizer.from_pretrained(str(folder))
    elif e.kind == "onnx-vit":
        from transformers import AutoImageProcessor, Dinov2Model

        folder = convert_vit(name, full_check=verify)
        model = Dinov2Model.from_pretrained(str(folder), dtype=getattr(torch, dtype),
                                            attn_implementation=attn_implementation or "eager")  # fmt: skip
        tok = AutoImageProcessor.from_pretrained(str(folder))
    elif e.kind == "tiny":
        from shared.lm.model import load_trained

        model, tok = load_trained(TINY_DIR / name, dtype=getattr(torch, dtype), **kwargs)
    else:
        raise ValueError(f"{name} is a {e.kind} entry, not a model: use shared.models.stage_dir({name!r})")
    return model.eval(), tok


def stage_dir(name: str) -> Path:
    """The folder of a DVC-stage entry (`bpe-8k`: `tokenizer.json`, `train.npy`, `val.npy`; tiny LMs: HF files),
    after checking it is installed (`ModelMissing` names the install command otherwise)."""
    e = entry(name)
    if not e.stage:
        raise ValueError(f"{name} is a packaged {e.kind} model: use shared.models.load({name!r})")
    require(name)
    return TINY_DIR / name


def timed_load(name: str, **kwargs):
    """`load` plus the seconds it took: `(model, tok, seconds)`."""
    t0 = time.perf_counter()
    model, tok = load(name, **kwargs)
    return model, tok, time.perf_counter() - t0
