"""A loopback HTTP server standing in for Resend or Gemini: records each request, answers from a script."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class CaptureServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a test may open dozens of connections at once

    def __init__(self, replies: list[tuple[int, dict, dict]] | None = None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.replies = list(replies or [])  # (status, body, headers), used in order; then 200s
        self.decide = None  # optional: request -> (status, body, headers), or None for the default
        self._count = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> "CaptureServer":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: CaptureServer

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._answer("GET", None)

    def do_POST(self):
        self._answer("POST", json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}"))

    def _answer(self, method: str, body: dict | None):
        self.server.requests.append({"method": method, "path": self.path, "headers": dict(self.headers), "json": body})
        self.server._count += 1
        decided = self.server.decide(self.server.requests[-1]) if self.server.decide else None
        status, reply, headers = decided or (
            self.server.replies.pop(0) if self.server.replies else (200, {"id": f"email-{self.server._count}"}, {})
        )
        self.server.requests[-1]["status"] = status
        data = json.dumps(reply).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
