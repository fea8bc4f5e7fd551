"""Benchmark: loading zoo models from the converted HF cache vs straight from their GGUF, in the same run.

    .venv/bin/python ci/bench_models.py [NAME ...]     (default: the installed ones among gemma-3-270m, smollm2)

Each load runs in a fresh subprocess (so nothing is shared between them but the OS page cache, which is warmed first:
both paths are measured with their files in memory). The cache load includes the tokenizer. Target: <= 5 s for
Gemma-3-270M from the cache.
"""

import json
import os
import subprocess
import sys

TARGET_S = {"gemma-3-270m": 5.0}
CHILD = r"""
import json, os, sys, time
os.environ.setdefault("TQDM_DISABLE", "1")
t0 = time.perf_counter()
import torch, transformers  # noqa: F401  (import time reported separately)
t_import = time.perf_counter() - t0
from shared import models
name, how = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
model, tok = models.load(name) if how == "cache" else models.load_from_gguf(name)
t_load = time.perf_counter() - t0
ids = tok("The capital of France is", return_tensors="pt").input_ids
with torch.no_grad():
    logits = model(ids).logits[0, -1]
print(json.dumps({"import_s": t_import, "load_s": t_load, "top": int(logits.argmax())}))
"""


def run(name: str, how: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, name, how], capture_output=True, text=True,
                         env={**os.environ, "TRANSFORMERS_VERBOSITY": "error"})  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    from shared.models import ZOO
    from shared.models.zoo import installed

    names = sys.argv[1:] or [n for n in ("gemma-3-270m", "smollm2-135m-instruct") if installed(ZOO[n])]
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    for name in names:
        run(name, "cache")  # builds the cache if needed and warms the page cache
        cache = min((run(name, "cache") for _ in range(2)), key=lambda r: r["load_s"])
        gguf = run(name, "gguf")
        same = "same next token" if cache["top"] == gguf["top"] else "DIFFERENT next token"
        target = TARGET_S.get(name)
        verdict = f", target {target:.0f} s: {'met' if cache['load_s'] <= target else 'MISSED'}" if target else ""
        print(f"{name:28s} cache {cache['load_s']:6.1f} s   gguf {gguf['load_s']:6.1f} s   "
              f"speedup {gguf['load_s'] / cache['load_s']:5.1f}x   (import torch+transformers "
              f"{cache['import_s']:.1f} s; {same}{verdict})")  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
