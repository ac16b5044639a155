"""The emulator's HTTP front: `generateContent` and `countTokens` under /v1 and /v1beta."""

import asyncio
import base64
import hashlib
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
from elevra_pipeline.gemini.emulator.models import CURRENT, RETIRED, model_entry, model_page, not_found_body
from elevra_pipeline.gemini.emulator.quota_window import SlidingWindowQuotas, count_tokens, rate_limit_body
from elevra_pipeline.quotas.limits import QuotaConfig, takes_thinking_level

ROUTE = re.compile(r"^/(v1|v1beta|v1alpha)/models/([^/:]+):(generateContent|countTokens|batchGenerateContent)$")
BATCH_ROUTE = re.compile(r"^/(v1|v1beta|v1alpha)/(batches/[^/:]+)(:cancel)?$")
BATCH_LIST = re.compile(r"^/(v1|v1beta|v1alpha)/batches$")
MODEL_LIST = re.compile(r"^/(v1|v1beta|v1alpha)/models$")
MODEL_GET = re.compile(r"^/(v1|v1beta|v1alpha)/models/([^/:]+)$")
THOUGHTS_RATIO = 1.0  # thinking models' thought tokens per answer token (real Gemini 3 answers: 1-6x)


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
    max_tokens: int = 0  # the first N generateContent answers end MAX_TOKENS with no parts (spent thinking)
    safety: float = 0.0  # the answer is blocked: finishReason SAFETY, no parts
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def parse(cls, spec: str | None) -> "Faults":
        """`503=0.1,slow=0.05:3,malformed=0.02,schema=0.02,429=0.01,batch_error=0.2,expire_jobs=1,max_tokens=3,
        safety=0.1,seed=7`."""
        names = {
            "batch_error": "batch_error",
            "expire_jobs": "expire_jobs",
            "503": "server_error",
            "slow": "slow",
            "malformed": "malformed",
            "schema": "schema",
            "429": "bare_429",
            "max_tokens": "max_tokens",
            "safety": "safety",
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
            setattr(faults, name, int(value) if name in ("seed", "expire_jobs", "max_tokens") else float(value))
        faults.rng = random.Random(faults.seed)
        return faults

    def hit(self, name: str) -> bool:
        probability = getattr(self, name)
        return probability > 0 and self.rng.random() < probability

    def take(self, name: str) -> bool:
        """One of a counted fault's first N hits (e.g. `max_tokens`)."""
        left = getattr(self, name)
        if left > 0:
            setattr(self, name, left - 1)
        return left > 0


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
        retired: frozenset[str] | None = None,
        thoughts_ratio: float = THOUGHTS_RATIO,
        retire_after: dict[str, int] | None = None,
    ):
        self.retire_after = dict(retire_after or {})  # model -> calls answered before it is shut down
        self.retired = set(RETIRED if retired is None else retired)
        # served and listed: today's models and the quotas file's (unknown names are served too, leniently)
        self.listed = list(dict.fromkeys([*CURRENT, *(quotas.models if quotas else [])]))
        self.thoughts_ratio = thoughts_ratio
        self.quotas = SlidingWindowQuotas(quotas, record_arrivals) if quotas else None
        # a model's thinking time, for realistic benchmarks: per model, or `latency_seconds` for all
        self.latency = latency or LatencyProfile.fixed(latency_seconds)
        self.faults = faults or Faults()
        self.batches = BatchJobs(
            quotas,
            lambda model, request, tokens: generated(model, request, tokens, thoughts_ratio=self.thoughts_ratio),
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

    def retire(self, model: str) -> None:
        """From now on `model` answers 404 as a shut-down model does (tests: a model retired mid-run)."""
        with self._lock:
            self.retired.add(model)

    def models(self) -> list[str]:
        with self._lock:
            return [m for m in self.listed if m not in self.retired]

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
        if MODEL_LIST.match(path):
            size = int(request.query.get("pageSize") or 50)
            return _json(200, model_page(self.models(), request.query.get("pageToken"), size))
        if match := MODEL_GET.match(path):
            model = match.group(2)
            if model in self.retired:
                return _json(404, not_found_body(model, True))
            return _json(200, model_entry(model))
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
        if model in self.retired and method != "countTokens":
            return _json(404, not_found_body(model, True))
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
        if self._count(self.calls, model) > self.retire_after.get(model, 1 << 62):
            self.retire(model)  # shut down mid-run, as Google retires a model: 404 from now on
            return _json(404, not_found_body(model, True))
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
        cut = "MAX_TOKENS" if faults.take("max_tokens") else "SAFETY" if faults.hit("safety") else None
        return _json(200, generated(model, payload, tokens, corrupt, cut, self.thoughts_ratio))


def _json(status: int, body: dict) -> web.Response:
    return web.Response(status=status, body=json.dumps(body).encode(), content_type="application/json", charset="UTF-8")


def prompt_text(payload: dict) -> str:
    return "\n".join(p.get("text", "") for c in payload.get("contents", []) for p in c.get("parts", []))


def generated(
    model: str,
    payload: dict,
    tokens: int,
    corrupt: str | None = None,
    cut: str | None = None,
    thoughts_ratio: float = THOUGHTS_RATIO,
) -> dict:
    """A generateContent response to `payload` (online or as one request of a Batch API job), shaped as
    real answers are (elevra_pipeline_tests/fixtures/gemini_recorded): a thinking model reports
    `thoughtsTokenCount` and signs its part; an answer that does not fit `maxOutputTokens` (thoughts
    included) ends MAX_TOKENS with no parts, as does `cut="MAX_TOKENS"`; `cut="SAFETY"` is blocked."""
    text = json.dumps(answer(prompt_text(payload)), ensure_ascii=False)
    if corrupt == "malformed":
        text = text[: len(text) // 2]
    elif corrupt == "schema":
        text = json.dumps({"unexpected": "shape"})
    written = max(1, len(text) // 4)
    thinking = takes_thinking_level(model) or "2.5" in model
    thoughts = int(written * thoughts_ratio) if thinking else 0
    limit = (payload.get("generationConfig") or {}).get("maxOutputTokens")
    if cut is None and limit and written + thoughts > limit:
        cut = "MAX_TOKENS"
    usage = {"promptTokenCount": tokens, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": tokens}]}
    if cut:
        spent = min(limit or thoughts or written, 65536) if cut == "MAX_TOKENS" else 0
        usage.update(totalTokenCount=tokens + spent, **({"thoughtsTokenCount": spent} if spent else {}))
        candidate = {"content": {"role": "model"}, "finishReason": cut, "index": 0}
    else:
        part = {"text": text, **({"thoughtSignature": _signature(model, text)} if thinking else {})}
        candidate = {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}
        usage.update(candidatesTokenCount=written, totalTokenCount=tokens + written + thoughts)
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": f"emu-{time.time_ns()}",
    }


def _signature(model: str, text: str) -> str:
    """An opaque thought signature (base64), as thinking models put on their parts."""
    return base64.b64encode(hashlib.sha256(f"{model}:{text}".encode()).digest()).decode()


def start_in_thread(
    host: str = "127.0.0.1", port: int = 0, quotas: QuotaConfig | None = None, faults: Faults | None = None, **options
) -> EmulatorServer:
    server = EmulatorServer((host, port), quotas, faults, **options)
    threading.Thread(target=server.serve_forever, name="gemini-emulator", daemon=True).start()
    server._stopped.clear()  # running from now on: shutdown() waits for the loop to stop
    return server
