"""The project's kernels: installed, discoverable, and pinning what they promise in a real kernel process."""

import json
import queue

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import start_new_kernel

from shared import ROOT

SPECS = sorted((ROOT / "kernels").glob("*/kernel.json"))
PINNED = ("PYTHONHASHSEED", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM",
          "TQDM_DISABLE", "TOKEN_PAPERS_KERNEL", "TOKEN_PAPERS_DEFAULT_THREADS", "TOKEN_PAPERS_DEVICE")  # fmt: skip


def test_kernels_folder_is_not_a_python_package():
    # the import name `kernels` belongs to Hugging Face's kernel hub, which transformers probes for
    assert not (ROOT / "kernels" / "__init__.py").exists()
    assert {p.parent.name for p in SPECS} >= {"cpu", "gpu"}


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.parent.name)
def test_kernelspec_pins_the_environment(spec):
    k = json.loads(spec.read_text())
    assert k["argv"][:3] == ["python", "-m", "shared.kernel"] and "{connection_file}" in k["argv"]
    assert set(PINNED) <= set(k["env"]), f"missing: {set(PINNED) - set(k['env'])}"
    assert "MPLBACKEND" not in k["env"], "an MPLBACKEND hides inline figures"
    installed = KernelSpecManager().find_kernel_specs()
    assert f"token-papers-{spec.parent.name}" in installed, "run `make setup` to install the kernels"


def _run(kc, code: str) -> tuple[str, str]:
    kc.execute(code)
    out, err = [], []
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=60)
        except queue.Empty:
            raise AssertionError("kernel went silent") from None
        if msg["msg_type"] == "stream":
            (out if msg["content"]["name"] == "stdout" else err).append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            raise AssertionError("\n".join(msg["content"]["traceback"]))
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(out), "".join(err)


@pytest.mark.slow
def test_cpu_kernel_is_deterministic_offline_and_quiet(monkeypatch):
    monkeypatch.setenv("TOKEN_PAPERS_THREADS", "1")  # what the runner sets for parallel jobs
    km, kc = start_new_kernel(kernel_name="token-papers-cpu", startup_timeout=120)
    try:
        out, err = _run(
            kc,
            """
import os, json, warnings, torch
from shared.repro import fingerprint
warnings.warn("a library warning")
fp = fingerprint()
print(json.dumps({k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "HF_HUB_OFFLINE", "PYTHONHASHSEED")}))
print(torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(), hash("token") == hash("token"))
print(fp["kernel"], fp["torch_threads"], sorted(fp))
""",
        )
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    lines = out.splitlines()
    assert json.loads(lines[0]) == {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONHASHSEED": "0"}
    assert lines[1] == "1 True True"
    assert lines[2].startswith("token-papers-cpu 1 ")
    for key in ("commit", "packages", "cpu", "gpu", "lock_sha256", "torch_threads"):
        assert f"'{key}'" in lines[2]
    assert err == "", f"the kernel wrote to stderr: {err!r}"
