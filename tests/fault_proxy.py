"""Test plumbing: a loopback proxy in front of the real vLLM server that can fail on demand —
answer slowly, break a streamed response off midway, drop each connection before answering,
answer 500, or refuse connections like a server that is not running — and then behave again,
so a test sees the service ride out a real fault."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

import httpx

Mode = Literal["pass", "slow", "cut", "drop", "error"]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A peer that hung up mid-response is what these tests provoke, not an error."""


class FaultProxy:
    def __init__(self, upstream: str, port: int) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = port
        self.mode: Mode = "pass"
        self.delay_s = 0.0
        self.cut_after_chunks = 3
        self.cuts = 0
        self.requests = 0  # requests forwarded upstream
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                proxy._connections.add(self.connection)

            def finish(self) -> None:
                proxy._connections.discard(self.connection)
                super().finish()

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.mode == "drop":  # accepted, then gone: a server that crashes on it
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if proxy.mode == "error":
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                proxy.requests += 1
                if proxy.mode == "slow":
                    time.sleep(proxy.delay_s)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length")}  # fmt: skip
                with httpx.stream(self.command, proxy.upstream + self.path, content=body,
                                  headers=headers, timeout=300) as resp:  # fmt: skip
                    self.send_response(resp.status_code)
                    for k, v in resp.headers.items():
                        if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                            self.send_header(k, v)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for n, chunk in enumerate(resp.iter_raw()):
                        if proxy.mode == "cut" and n >= proxy.cut_after_chunks:
                            proxy.cuts += 1
                            # An abrupt end, as when the server process dies mid-answer.
                            self.connection.shutdown(socket.SHUT_RDWR)
                            self.close_connection = True
                            return
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")

            do_GET = do_POST = _forward  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def start(self) -> FaultProxy:
        self._server = _QuietServer(("127.0.0.1", self.port), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Nothing listens on the port any more: connections are refused, and the open ones
        are dropped, as when the server process dies."""
        for conn in list(self._connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
