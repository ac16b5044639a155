"""A loopback proxy in front of the Gemini emulator: it can rewrite answers (a hostile model), say another
model answered (Google routing a retired id), or go down.

The real google-genai client talks to it over HTTP, exactly as it talks to Gemini.
"""

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from elevra_pipeline.gemini import prompts

# (task, answer as JSON, call number) -> the answer to send instead
Rewrite = Callable[[str, dict, int], dict]
OVERLOADED = {
    "error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}
}


class ModelProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, rewrite: Rewrite | None = None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream.rstrip("/")
        self.rewrite = rewrite
        self.answered_as: dict[str, str] = {}  # an answer's modelVersion -> the one to say instead (Google's routing)
        self.down: str | None = None  # None (pass through), "503", or "refuse" (drop the connection)
        self._down_after: tuple[int, str] | None = None
        self.calls: list[str] = []  # task of each generateContent call that reached the model
        self.refused = 0
        self._lock = threading.Lock()

    def go_down_after(self, calls: int, how: str) -> None:
        """The model answers `calls` calls, then is down (`how`) for every call that arrives after them,
        however many are in flight (calls are counted as they arrive, not as they are answered)."""
        self._down_after = (calls, how)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> "ModelProxy":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


def task_of(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    for task in (prompts.TASK_STRUCTURE, prompts.TASK_ANALYZE, prompts.TASK_COLUMNS):
        if task in text:
            return task
    return "other"


class _Handler(BaseHTTPRequestHandler):
    server: ModelProxy

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        proxy = self.server
        with proxy._lock:
            if proxy._down_after and len(proxy.calls) >= proxy._down_after[0]:
                proxy.down, proxy._down_after = proxy._down_after[1], None
        if proxy.down:
            with proxy._lock:
                proxy.refused += 1
            if proxy.down == "refuse":
                self.close_connection = True
                self.connection.close()  # the client sees a dropped connection: a network error
                return
            return self._reply(503, OVERLOADED)
        task = task_of(body)
        with proxy._lock:
            proxy.calls.append(task)
            number = len(proxy.calls)
        request = urllib.request.Request(
            proxy.upstream + self.path,
            data=body,
            method="POST",
            headers={k: v for k, v in self.headers.items() if k.lower() in ("content-type", "x-goog-api-key")},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, answer = response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            status, answer = e.code, json.loads(e.read() or b"{}")
        if status == 200 and answer.get("modelVersion") in proxy.answered_as:
            answer["modelVersion"] = proxy.answered_as[answer["modelVersion"]]
        if status == 200 and proxy.rewrite is not None:
            part = answer["candidates"][0]["content"]["parts"][0]
            part["text"] = json.dumps(proxy.rewrite(task, json.loads(part["text"]), number))
        self._reply(status, answer)

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
