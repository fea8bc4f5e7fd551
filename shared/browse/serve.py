"""Serve a built site on 127.0.0.1 only: a local preview, never a public server."""

import functools
import http.server
import threading
from pathlib import Path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with correct types for the site's assets, logging one short line per request."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".svg": "image/svg+xml",
                      ".js": "text/javascript", ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf"}  # fmt: skip

    def log_message(self, fmt, *args):
        if getattr(self.server, "verbose", True):
            super().log_message(fmt, *args)


def make_server(directory: Path, port: int = 8000, verbose: bool = True) -> http.server.ThreadingHTTPServer:
    """A server for `directory` bound to 127.0.0.1:`port` (0 picks a free port; read it from `server_address`)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.verbose = verbose
    return server


def serve_in_thread(directory: Path, port: int = 0) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Start a quiet server in a daemon thread (for tests and scripts); returns it and its base URL."""
    server = make_server(directory, port, verbose=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"
