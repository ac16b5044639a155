"""The emulator's HTTP front: `generateContent` and `countTokens` under /v1 and /v1beta."""

import json
import logging
import random
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from elevra_pipeline.gemini.emulator.answers import answer
from elevra_pipeline.gemini.emulator.batches import BatchJobs
from elevra_pipeline.gemini.emulator.latency import LatencyProfile
from elevra_pipeline.gemini.emulator.quota_window import SlidingWindowQuotas, count_tokens, rate_limit_body
from elevra_pipeline.quotas.limits import QuotaConfig

log = logging.getLogger("elevra_pipeline.emulator")
ROUTE = re.compile(r"^/(v1|v1beta|v1alpha)/models/([^/:]+):(generateContent|countTokens|batchGenerateContent)$")
BATCH_ROUTE = re.compile(r"^/(v1|v1beta|v1alpha)/(batches/[^/:]+)(:cancel)?$")
BATCH_LIST = re.compile(r"^/(v1|v1beta|v1alpha)/batches$")


@dataclass
class Faults:
    """Injected faults, each a probability per generateContent call."""

    server_error: float = 0.0  # 503 UNAVAILABLE
    slow: float = 0.0  # sleep `slow_seconds` before answering
    slow_seconds: float = 2.0
    malformed: float = 0.0  # text that is not JSON
    schema: float = 0.0  # valid JSON that violates the schema
    bare_429: float = 0.0  # 429 with no details
    batch_error: float = 0.0  # a request of a Batch API job fails on its own
    expire_jobs: int = 0  # the first N Batch API jobs expire
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def parse(cls, spec: str | None) -> "Faults":
        """`503=0.1,slow=0.05:3,malformed=0.02,schema=0.02,429=0.01,batch_error=0.2,expire_jobs=1,seed=7`."""
        names = {
            "batch_error": "batch_error",
            "expire_jobs": "expire_jobs",
            "503": "server_error",
            "slow": "slow",
            "malformed": "malformed",
            "schema": "schema",
            "429": "bare_429",
            "seed": "seed",
        }
        faults = cls()
        for item in filter(None, (spec or "").split(",")):
            key, _, value = item.partition("=")
            if key.strip() not in names:
                raise ValueError(f"unknown fault '{key}'; known: {', '.join(names)}")
            if key.strip() == "slow" and ":" in value:
                value, seconds = value.split(":", 1)
                faults.slow_seconds = float(seconds)
            name = names[key.strip()]
            setattr(faults, name, int(value) if name in ("seed", "expire_jobs") else float(value))
        faults.rng = random.Random(faults.seed)
        return faults

    def hit(self, name: str) -> bool:
        probability = getattr(self, name)
        return probability > 0 and self.rng.random() < probability


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a stage may open hundreds of connections at once

    def __init__(
        self,
        address,
        quotas: QuotaConfig | None,
        faults: Faults | None = None,
        latency_seconds: float = 0.0,
        record_arrivals: bool = False,
        latency: LatencyProfile | None = None,
        batch_delay_seconds: float = 2.0,
    ):
        super().__init__(address, _Handler)
        self.quotas = SlidingWindowQuotas(quotas, record_arrivals) if quotas else None
        # a model's thinking time, for realistic benchmarks: per model, or `latency_seconds` for all
        self.latency = latency or LatencyProfile.fixed(latency_seconds)
        self.faults = faults or Faults()
        self.batches = BatchJobs(
            quotas,
            lambda model, request, tokens: generated(model, request, tokens),
            batch_delay_seconds,
            self.faults.batch_error,
            self.faults.expire_jobs,
        )
        self.calls: dict[str, int] = {}
        self.in_flight: dict[str, int] = {}  # calls being answered now, per model
        self.peak_in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def _count(self, counter: dict[str, int], model: str, step: int = 1) -> int:
        with self._lock:
            counter[model] = counter.get(model, 0) + step
            return counter[model]

    def stats(self) -> dict:
        with self._lock:
            return {
                "calls": dict(self.calls),
                "rejected": dict(self.quotas.rejected) if self.quotas else {},  # quota 429s
                "peak_in_flight": dict(self.peak_in_flight),
                "batch_jobs_created": dict(self.batches.created),
            }

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: avoid the 40 ms delayed-ACK stall

    def log_message(self, fmt, *args):
        log.debug(fmt, *args)

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if match := BATCH_ROUTE.match(path):
            return self._send(*self.server.batches.get(match.group(2), time.time()))
        if BATCH_LIST.match(path):
            token = next((v for k, _, v in (p.partition("=") for p in query.split("&")) if k == "pageToken"), None)
            return self._send(*self.server.batches.page(token, time.time()))
        self._send(200, {"status": "ok", "emulator": True, **self.server.stats()})

    def do_POST(self):
        now = time.time()
        path = self.path.split("?")[0]
        if (cancel := BATCH_ROUTE.match(path)) and cancel.group(3):
            return self._send(*self.server.batches.cancel(cancel.group(2), now))
        match = ROUTE.match(path)
        length = int(self.headers.get("Content-Length") or 0)
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            return self._send(
                400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "body is not JSON"}}
            )
        if not match:
            return self._send(404, {"error": {"code": 404, "status": "NOT_FOUND", "message": f"no route {self.path}"}})
        model, method = match.group(2), match.group(3)
        if method == "batchGenerateContent":
            return self._send(*self.server.batches.create(model, payload, now))
        tokens = count_tokens(payload)
        if method == "countTokens":
            return self._send(200, {"totalTokens": tokens})
        server, faults = self.server, self.server.faults
        if faults.hit("bare_429"):
            return self._send(429, rate_limit_body(model, "rpm", None, with_details=False))
        if server.quotas is not None:
            violation = server.quotas.admit(model, tokens, now)
            if violation:
                return self._send(429, rate_limit_body(model, violation[0], violation[1]))
        server._count(server.calls, model)
        now_in_flight = server._count(server.in_flight, model)
        with server._lock:
            server.peak_in_flight[model] = max(server.peak_in_flight.get(model, 0), now_in_flight)
        try:
            self._answer(model, payload, tokens)
        finally:
            server._count(server.in_flight, model, -1)

    def _answer(self, model: str, payload: dict, tokens: int) -> None:
        server, faults = self.server, self.server.faults
        if faults.hit("server_error"):
            return self._send(
                503, {"error": {"code": 503, "status": "UNAVAILABLE", "message": "The model is overloaded."}}
            )
        if faults.hit("slow"):
            time.sleep(faults.slow_seconds)
        prompt = prompt_text(payload)
        if thinking := server.latency.seconds(model, prompt):  # after admission: the quota counted the arrival
            time.sleep(thinking)
        corrupt = "malformed" if faults.hit("malformed") else "schema" if faults.hit("schema") else None
        self._send(200, generated(model, payload, tokens, corrupt))


def prompt_text(payload: dict) -> str:
    return "\n".join(p.get("text", "") for c in payload.get("contents", []) for p in c.get("parts", []))


def generated(model: str, payload: dict, tokens: int, corrupt: str | None = None) -> dict:
    """A generateContent response to `payload` (online or as one request of a Batch API job)."""
    text = json.dumps(answer(prompt_text(payload)), ensure_ascii=False)
    if corrupt == "malformed":
        text = text[: len(text) // 2]
    elif corrupt == "schema":
        text = json.dumps({"unexpected": "shape"})
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {
            "promptTokenCount": tokens,
            "candidatesTokenCount": len(text) // 4,
            "totalTokenCount": tokens + len(text) // 4,
        },
        "modelVersion": model,
        "responseId": f"emu-{time.time_ns()}",
    }


def start_in_thread(
    host: str = "127.0.0.1", port: int = 0, quotas: QuotaConfig | None = None, faults: Faults | None = None, **options
) -> EmulatorServer:
    server = EmulatorServer((host, port), quotas, faults, **options)
    threading.Thread(target=server.serve_forever, name="gemini-emulator", daemon=True).start()
    return server
