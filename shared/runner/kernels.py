"""Kernel managers that talk to their kernel over Unix sockets instead of TCP ports.

Over TCP, jupyter_client picks five free ports by binding to port 0 and closing the sockets again; the kernel binds
them a second or two later, once Python has started. A second kernel started in that window, by another process, can
be handed the same port, and then one of them dies at start with `ZMQError: Address already in use` (the caller sees
"Kernel died before replying to kernel_info"; papermill#511, ipython#12372). `papers run --jobs N` and nbval under
`pytest -n 2` start kernels side by side all the time, so the project's runs use the `ipc` transport: every kernel
gets socket files under a fresh name of its own, and there is nothing to collide on.
"""

import os
import tempfile
import uuid

from jupyter_client.manager import AsyncKernelManager, KernelManager

from shared.runner import IPC_DIR_ENV

# a Unix socket path holds at most 107 bytes; the longest of ours is the prefix plus "-5"
_MAX_PREFIX = 100


def ipc_prefix() -> str:
    """A fresh absolute prefix for a kernel's five socket files (`<prefix>-1` .. `<prefix>-5`): in the runner's folder
    for this run when it gave one (so a killed kernel's sockets go with the folder), else in the temporary folder."""
    name = f"tpk-{uuid.uuid4().hex[:16]}"
    for base in filter(None, (os.environ.get(IPC_DIR_ENV), tempfile.gettempdir(), "/tmp")):
        prefix = os.path.join(base, name)
        if len(prefix.encode()) <= _MAX_PREFIX and os.path.isdir(base) and os.access(base, os.W_OK):
            return prefix
    raise RuntimeError(f"no writable temporary folder with a path short enough for a Unix socket (TMPDIR={base!r})")


class _IPC:
    def __init__(self, **kwargs):
        # ZeroMQ has no ipc transport on Windows: TCP there, as jupyter_client does by default
        kwargs.setdefault("transport", "tcp" if os.name == "nt" else "ipc")
        if kwargs["transport"] == "ipc":
            kwargs.setdefault("ip", ipc_prefix())
        super().__init__(**kwargs)


class IPCKernelManager(_IPC, AsyncKernelManager):
    """nbclient's (and so papermill's) kernel manager, over Unix sockets."""


class IPCSyncKernelManager(_IPC, KernelManager):
    """The blocking kernel manager (nbval's), over Unix sockets."""
