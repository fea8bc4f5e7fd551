"""The project's kernels are started over Unix sockets (`shared.runner.kernels`): no TCP port to race for."""

import json
from pathlib import Path

from shared.runner.kernels import IPCSyncKernelManager, ipc_prefix


def test_prefixes_are_fresh_absolute_and_short_enough_for_a_unix_socket():
    prefixes = {ipc_prefix() for _ in range(50)}
    assert len(prefixes) == 50
    for p in prefixes:
        assert Path(p).is_absolute() and len(f"{p}-5".encode()) <= 107
        assert not any(Path(f"{p}-{i}").exists() for i in range(1, 6))


def test_a_kernel_runs_code_over_unix_sockets_and_leaves_no_socket_file():
    km = IPCSyncKernelManager(kernel_name="token-papers-cpu")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        info = json.loads(Path(km.connection_file).read_text())
        assert info["transport"] == "ipc" and Path(info["ip"]).is_absolute()
        sockets = [Path(f"{info['ip']}-{info[k]}") for k in ("shell_port", "iopub_port", "stdin_port",
                                                               "control_port", "hb_port")]  # fmt: skip
        assert all(s.is_socket() for s in sockets)
        outputs = []
        reply = kc.execute_interactive("print(6 * 7)", timeout=60, output_hook=lambda msg: outputs.append(msg))
        assert reply["content"]["status"] == "ok"
        assert any(m["content"].get("text", "").strip() == "42" for m in outputs)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    assert not any(s.exists() for s in sockets)
