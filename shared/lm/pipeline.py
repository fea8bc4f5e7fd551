"""Entry points of the tiny-LM DVC stages (`shared/lm/dvc.yaml`): train the BPE, tokenize the corpus, train models.

    python -m shared.lm.pipeline tokenize --out trained/bpe-8k
    python -m shared.lm.pipeline train --config small --out trained/tiny-lm-small --metrics metrics/tiny-lm-small.json

Parameters come from `shared/lm/params.yaml`, so that DVC re-runs a stage exactly when they change.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import yaml

from shared import ROOT

HERE = Path(__file__).resolve().parent


def params() -> dict:
    return yaml.safe_load((HERE / "params.yaml").read_text())


def tokenize(out: Path, data_dir: Path) -> None:
    """Train the BPE on the corpus, then encode the corpus: `tokenizer.json` (+ HF files), `train.npy`, `val.npy`."""
    import numpy as np

    from shared.lm.bpe import as_transformers, corpus_texts, encode_stream, train_bpe

    p = params()["tokenizer"]
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tok = train_bpe(corpus_texts(data_dir), vocab_size=p["vocab_size"])
    print(f"trained BPE, vocab {tok.get_vocab_size():,}, in {time.perf_counter() - t0:.1f} s", flush=True)
    as_transformers(tok).save_pretrained(str(out))
    # every `val_every`-th document is held out, so validation covers prose and code alike
    docs = list(corpus_texts(data_dir))
    val = [d for i, d in enumerate(docs) if i % p["val_every"] == 0]
    train = [d for i, d in enumerate(docs) if i % p["val_every"] != 0]
    for name, texts in (("train", train), ("val", val)):
        ids = encode_stream(tok, texts)
        np.save(out / f"{name}.npy", ids)
        print(f"{name}: {len(texts):,} documents, {ids.size:,} tokens", flush=True)


def load_stream(folder: Path, name: str):
    import numpy as np
    import torch

    return torch.from_numpy(np.load(folder / f"{name}.npy").astype(np.int64))


def _device_name(device: str) -> str:
    from shared.lm.trainer import resolve_device

    d = resolve_device(device)
    import torch

    return torch.cuda.get_device_name(d) if d.type == "cuda" else "cpu"


def train(config: str, tokenizer_dir: Path, out: Path, metrics: Path) -> None:
    """Train one tiny LM; save it with its tokenizer (HF format) and write metrics (loss, throughput, size)."""
    import torch
    from transformers import PreTrainedTokenizerFast

    from shared.lm.configs import count_params, make_model
    from shared.lm.trainer import TrainConfig, config_dict
    from shared.lm.trainer import train as run

    p = params()["train"][config]
    tok = PreTrainedTokenizerFast.from_pretrained(str(tokenizer_dir))
    model = make_model(config, len(tok), seed=p.get("seed", 0), bos_token_id=tok.bos_token_id,
                       eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)  # fmt: skip
    cfg = TrainConfig(**{k: v for k, v in p.items() if k in TrainConfig.__dataclass_fields__})
    print(
        f"tiny-lm-{config}: {count_params(model):,} params, {cfg.steps} steps of {cfg.batch_size}x{cfg.seq_len}",
        flush=True,
    )
    result = run(model, load_stream(tokenizer_dir, "train"), cfg, val_tokens=load_stream(tokenizer_dir, "val"))
    out.mkdir(parents=True, exist_ok=True)
    # stored in fp16 (git-tracked: half the bytes); `shared.models.load` upcasts to the dtype asked for (fp32 default)
    model.to(torch.float16).save_pretrained(str(out), safe_serialization=True)
    tok.save_pretrained(str(out))
    record = {"config": config, "params": count_params(model), "params_non_embedding": count_params(model, False),
              "train": config_dict(cfg), "final_val_loss": round(result.final_val_loss, 4),
              "tokens": result.tokens, "seconds": round(result.seconds, 1),
              "tokens_per_s": round(result.tokens_per_s, 1), "torch": torch.__version__,
              "threads": torch.get_num_threads(), "device": _device_name(cfg.device), "stored_dtype": "float16"}  # fmt: skip
    (out / "train_log.json").write_text(json.dumps(result.to_dict(), indent=1) + "\n")
    metrics.parent.mkdir(parents=True, exist_ok=True)
    metrics.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    print(f"saved {out}: val loss {record['final_val_loss']}, {record['tokens_per_s']:,.0f} tok/s", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m shared.lm.pipeline")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tokenize")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--data", type=Path, default=ROOT / "data")
    r = sub.add_parser("train")
    r.add_argument("--config", required=True)
    r.add_argument("--tokenizer", type=Path, required=True)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--metrics", type=Path, required=True)
    a = ap.parse_args(argv)
    if a.cmd == "tokenize":
        tokenize(a.out, a.data)
    else:
        train(a.config, a.tokenizer, a.out, a.metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
