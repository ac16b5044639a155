"""The emulator's HTTP front: `generateContent` and `countTokens` under /v1 and /v1beta."""

import asyncio
import json
import random
import re
import threading
import time
from dataclasses import dataclass, field

from aiohttp import web

from elevra_pipeline.gemini.emulator.answers import answer
from elevra_pipeline.gemini.emulator.batches import BatchJobs
from elevra_pipeline.gemini.emulator.latency import LatencyProfile
from elevra_pipeline.gemini.emulator.quota_window import SlidingWindowQuotas, count_tokens, rate_limit_body
from elevra_pipeline.quotas.limits import QuotaConfig

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


class EmulatorServer:
    """The emulator on one asyncio event loop (aiohttp's server): hundreds of calls arriving at once are
    read as they come, and a model's thinking is an `asyncio.sleep`, so the answer times hold under load
    (a thread per connection could not accept a thousand connections a second on a busy machine).
    `serve_forever()` runs it in the calling thread; `shutdown()` (from another thread) stops it."""

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
        self._lock = threading.Lock()  # stats() is read from other threads
        self._loop = asyncio.new_event_loop()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, address[0], address[1], backlog=1024, reuse_address=True)
        self._loop.run_until_complete(site.start())
        self.server_address = site._server.sockets[0].getsockname()
        self._stopped = threading.Event()
        self._stopped.set()

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

    def serve_forever(self) -> None:
        self._stopped.clear()
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._stopped.wait(10)

    def server_close(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.method == "GET":
            return self._get(request)
        if request.method == "POST":
            return await self._post(request)
        return _json(405, {"error": {"code": 405, "status": "METHOD_NOT_ALLOWED", "message": request.method}})

    def _get(self, request: web.Request) -> web.Response:
        path = request.path
        if match := BATCH_ROUTE.match(path):
            return _json(*self.batches.get(match.group(2), time.time()))
        if BATCH_LIST.match(path):
            return _json(*self.batches.page(request.query.get("pageToken"), time.time()))
        return _json(200, {"status": "ok", "emulator": True, **self.stats()})

    async def _post(self, request: web.Request) -> web.Response:
        arrived = time.time()
        path = request.path
        if (cancel := BATCH_ROUTE.match(path)) and cancel.group(3):
            return _json(*self.batches.cancel(cancel.group(2), arrived))
        match = ROUTE.match(path)
        try:
            payload = json.loads(await request.read() or b"{}")
        except json.JSONDecodeError:
            return _json(400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "body is not JSON"}})
        if not match:
            return _json(404, {"error": {"code": 404, "status": "NOT_FOUND", "message": f"no route {request.path_qs}"}})
        model, method = match.group(2), match.group(3)
        now = time.time()
        if method == "batchGenerateContent":
            return _json(*self.batches.create(model, payload, now))
        tokens = count_tokens(payload)
        if method == "countTokens":
            return _json(200, {"totalTokens": tokens})
        if self.faults.hit("bare_429"):
            return _json(429, rate_limit_body(model, "rpm", None, with_details=False))
        if self.quotas is not None:
            violation = self.quotas.admit(model, tokens, now)
            if violation:
                return _json(429, rate_limit_body(model, violation[0], violation[1]))
        self._count(self.calls, model)
        now_in_flight = self._count(self.in_flight, model)
        with self._lock:
            self.peak_in_flight[model] = max(self.peak_in_flight.get(model, 0), now_in_flight)
        try:
            return await self._answer(model, payload, tokens, arrived)
        finally:
            self._count(self.in_flight, model, -1)

    async def _answer(self, model: str, payload: dict, tokens: int, arrived: float) -> web.Response:
        faults = self.faults
        if faults.hit("server_error"):
            return _json(503, {"error": {"code": 503, "status": "UNAVAILABLE", "message": "The model is overloaded."}})
        if faults.hit("slow"):
            await asyncio.sleep(faults.slow_seconds)
        prompt = prompt_text(payload)
        # after admission (the quota counted the arrival); the model thinks from the call's arrival
        if thinking := self.latency.seconds(model, prompt):
            await asyncio.sleep(max(0.0, thinking - (time.time() - arrived)))
        corrupt = "malformed" if faults.hit("malformed") else "schema" if faults.hit("schema") else None
        return _json(200, generated(model, payload, tokens, corrupt))


def _json(status: int, body: dict) -> web.Response:
    return web.Response(status=status, body=json.dumps(body).encode(), content_type="application/json", charset="UTF-8")


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
    server._stopped.clear()  # running from now on: shutdown() waits for the loop to stop
    return server
