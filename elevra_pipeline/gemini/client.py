"""One structured-output call through google-genai, with every failure turned into a ModelCallError."""

import asyncio
import json
import os
import re
import ssl
import weakref
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, Awaitable, Callable

import aiohttp
import certifi
from google import genai
from google.genai import _common, _transformers, errors, types
from google.genai import models as genai_models
from pydantic import BaseModel, ValidationError

from elevra_pipeline.exceptions import InvalidModelOutput, ModelCallError
from elevra_pipeline.gemini.finish import answer_text, billed_tokens, finish_problem
from elevra_pipeline.gemini.silence import SilenceWatch
from elevra_pipeline.quotas.engine import CallResult, Outcome, QuotaEngine
from elevra_pipeline.quotas.failures import CallFailure, is_outage
from elevra_pipeline.quotas.limits import QuotaConfig, StageSettings
from elevra_pipeline.quotas.server_errors import parse_rate_limit


def _connection_limits(connections: int):
    """The SDK's synchronous HTTP pool (httpx2 where installed, else httpx) defaults to 100 connections:
    as many as the calls we keep in flight, or the pool, not the quota, would cap them. (The model
    stages' async path uses the SDK's aiohttp session, which sets no cap: the quota engine is the cap.)"""
    try:
        import httpx2 as http
    except ImportError:  # pragma: no cover - depends on the SDK's optional backend
        import httpx as http
    return http.Limits(max_connections=connections, max_keepalive_connections=connections)


def _ssl_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """The TLS contexts google-genai 3.4 builds by default, built once: (httpx's, aiohttp's). Given in
    the client's options, every client made from them (one per model stage, see `async_session`)
    reuses them; else each new client loads the CA bundles again, about 70 ms of CPU per stage."""
    cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    try:
        import httpx2
    except ImportError:  # pragma: no cover - depends on the SDK's optional backend
        httpx2 = None
    if httpx2 is None:
        for_httpx = ssl.create_default_context(cafile=cafile or certifi.where(), capath=capath)
    elif cafile or capath:
        for_httpx = ssl.create_default_context(cafile=cafile, capath=capath)
    else:
        for_httpx = httpx2.create_ssl_context()  # the OS trust store (truststore), as the SDK does
    return for_httpx, ssl.create_default_context(cafile=cafile or certifi.where(), capath=capath)


def make_client(
    api_key: str | None, base_url: str | None, timeout_seconds: float, connections: int = 100
) -> genai.Client:
    for_httpx, for_aiohttp = _ssl_contexts()
    options = types.HttpOptions(
        timeout=int(timeout_seconds * 1000),
        base_url=base_url or None,
        client_args={"limits": _connection_limits(connections), "verify": for_httpx},
        async_client_args={"verify": for_httpx, "ssl": for_aiohttp},  # each client keeps the args it takes
        # one attempt per request: the quota engine retries (with the server's retryDelay and the
        # ledger); without this the SDK's async path silently resends after a connection error, 1-10 s later
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    return genai.Client(api_key=api_key or "emulator-no-key", http_options=options)


Thinking = tuple[tuple[str, object], ...]  # the one thinking setting a model takes, hashable
Sampling = tuple[tuple[str, object], ...]  # temperature, top_p, top_k: only those configured


@lru_cache(maxsize=256)
def structured_config(
    system: str,
    schema: type[BaseModel],
    max_output_tokens: int | None = None,
    thinking: Thinking = (),
    sampling: Sampling = (),
) -> types.GenerateContentConfig:
    """JSON answers that must match `schema`; no sampling setting unless one is configured (Gemini 3's
    guide: keep its default temperature). Built once per prompt kind: the schema goes in already
    converted (the SDK would rebuild it from the class on every call, ~2 ms), and automatic function
    calling is off (we pass no tools; left on, the SDK deep-copies the config on every call, 0.4 of its
    2.2 ms of CPU). What is sent is the same."""
    return types.GenerateContentConfig(
        system_instruction=system,
        response_mime_type="application/json",
        response_schema=_transformers.t_schema(None, schema),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        max_output_tokens=max_output_tokens,
        thinking_config=types.ThinkingConfig(**dict(thinking)) if thinking else None,
        **dict(sampling),
    )


def stage_config(
    system: str, schema: type[BaseModel], settings: StageSettings, model: str, max_output_tokens: int | None = None
) -> types.GenerateContentConfig:
    """What one stage's call to `model` sends beside its prompt, online and in a Batch API job alike:
    the schema, the thinking setting the model takes, the output cap (the stage's first unless grown)."""
    return structured_config(
        system,
        schema,
        max_output_tokens or settings.max_output_tokens,
        tuple(sorted(settings.thinking_for(model).items())),
        tuple(sorted(settings.sampling().items())),
    )


def grown_budget(current: int | None, model_limit: int) -> int | None:
    """max_output_tokens after an answer cut at `current` (None: the model's default, its limit):
    doubled, up to the model's limit; None when there is no more room to give."""
    current = current or model_limit
    return None if current >= model_limit else min(model_limit, current * 2)


class OutputBudget:
    """One call's max_output_tokens: the stage's first, grown after each MAX_TOKENS answer. `configs`,
    shared by a stage's calls, holds each request config once it is built: the key to `stage_config`'s
    cache (the settings' thinking and sampling, sorted) was itself worth rebuilding only once per stage."""

    def __init__(self, config: QuotaConfig, stage: str, configs: dict | None = None):
        self.config = config
        self.settings = config.stage(stage)
        self.tokens = self.settings.max_output_tokens
        self.configs = {} if configs is None else configs

    def thinking(self, model: str) -> Thinking:
        return tuple(sorted(self.settings.thinking_for(model).items()))

    def request_config(self, system: str, schema: type[BaseModel], model: str) -> types.GenerateContentConfig:
        key = (system, schema, model, self.tokens)
        built = self.configs.get(key)
        if built is None:
            built = self.configs[key] = stage_config(system, schema, self.settings, model, self.tokens)
        return built

    def after(self, model: str, error: ModelCallError) -> None:
        """A MAX_TOKENS answer: the next attempt gets more room, or none is left and it is not retried."""
        if error.error_type != CallFailure.MAX_TOKENS:
            return
        grown = grown_budget(self.tokens, self.config.limits(model).output_tokens)
        if grown is None:
            error.retryable, error.in_the_rows = False, True  # the rows: more than one answer can hold
            error.args = (
                f"{error}; already at the model's output limit: the election has too many rows for one answer",
            )
        else:
            self.tokens = grown


def classify(error: Exception) -> ModelCallError:
    """An SDK or transport error as a ModelCallError whose `error_type` is its CallFailure (quotas.failures)."""
    if isinstance(error, errors.APIError):
        body = error.details if isinstance(error.details, dict) else {}
        text = json.dumps(body)[:2000] if body else str(error)
        message = f"{error.code} {error.status}: {error.message}"
        if error.code == 429:
            info = parse_rate_limit(body)
            return ModelCallError(
                f"429 {error.status}: {error.message}",
                error_type=CallFailure.RATE_LIMITED,
                status_code=429,
                quota_id=info.quota_id,
                retry_delay=info.retry_delay,
                body=text,
                scope=info.scope,
            )
        kind = http_failure(error.code or 0, str(error.message or ""), body)
        return ModelCallError(
            message,
            error_type=kind,
            status_code=error.code,
            retryable=is_outage(kind) or error.code in (408, 409),
            body=text,
        )
    name = type(error).__name__
    kind = CallFailure.TIMEOUT if "Timeout" in name else CallFailure.NETWORK
    return ModelCallError(f"{kind}: {name}: {error}", error_type=kind)


_TOO_LARGE = re.compile(r"input token count.*exceeds|exceeds the maximum number of tokens|request payload size", re.I)


# google.rpc.ErrorInfo reasons of a 403 that hold for every model: the key or the project
KEY_WIDE_REASONS = {"CONSUMER_SUSPENDED", "SERVICE_DISABLED", "BILLING_DISABLED", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}


def names_the_key(body: dict, message: str) -> bool:
    """A 403 about the key or the project (`API_KEY_SERVICE_BLOCKED`, a suspended consumer…), not a model."""
    details = (body.get("error") or {}).get("details") or []
    reasons = {str(d.get("reason") or "") for d in details if isinstance(d, dict)}
    return any(r.startswith("API_KEY_") or r in KEY_WIDE_REASONS for r in reasons) or "suspended" in message


def http_failure(code: int, message: str, body: dict | None = None) -> CallFailure:
    """What an HTTP error answer means for us (429 is read by `classify`, with its quota details)."""
    if code >= 500:
        return CallFailure.SERVER_ERROR
    if code == 499:  # CANCELLED "The operation was cancelled." (reason backendError), seen under load
        return CallFailure.CANCELLED
    if code == 404:
        return CallFailure.MODEL_NOT_FOUND  # "models/X is not found for API version v1beta ..."
    if code == 400 and _TOO_LARGE.search(message):
        return CallFailure.INPUT_TOO_LARGE
    if code == 403 and not names_the_key(body or {}, message):
        return CallFailure.MODEL_REFUSED  # PERMISSION_DENIED for this model, perhaps: the engine tries the next
    if code in (400, 401, 403):
        return CallFailure.CONFIGURATION  # API_KEY_INVALID, PERMISSION_DENIED, billing, a request it rejects
    return CallFailure.CLIENT_ERROR


def _is_transport_error(error: Exception) -> bool:
    """Errors of the SDK's HTTP layers: APIError, OSError (timeouts included), and httpx's, httpx2's
    or aiohttp's own connection errors, which are neither."""
    module = type(error).__module__
    return isinstance(error, (errors.APIError, OSError)) or "httpx" in module or "aiohttp" in module


def call_sdk(request: Callable[[], Any]) -> Any:
    """One SDK request; every way it can fail becomes a ModelCallError (see `classify`)."""
    try:
        return request()
    except Exception as e:
        if not _is_transport_error(e):
            raise
        raise classify(e) from e


async def call_sdk_async(request: Callable[[], Awaitable[Any]]) -> Any:
    """`call_sdk` on the event loop."""
    try:
        return await request()
    except Exception as e:
        if not _is_transport_error(e):
            raise
        raise classify(e) from e


def _rejected(
    message: str, text: str, billed: dict, model_version: str | None = None, in_the_rows: bool = False
) -> ModelCallError:
    """An answer our checks refused: retried like a failure, and billed all the same."""
    return ModelCallError(
        message,
        error_type=CallFailure.INVALID_OUTPUT,
        status_code=200,
        body=text[:2000],
        model_version=model_version,
        retryable=not in_the_rows,  # rows that fail the check themselves fail it on every answer
        in_the_rows=in_the_rows,
        **billed,
    )


def read_answer(
    response: types.GenerateContentResponse, model: str, schema: type[BaseModel], check: Callable[[Any], Any] | None
) -> CallResult:
    """An answer as the SDK's response object (one of a Batch API job's, or `generate_content`'s): read
    from its wire JSON like the model stages' answers, so both bill thoughts and see finish reasons."""
    body = response.model_dump(mode="json", by_alias=True, exclude_none=True)
    return read_answer_json(body, model, schema, check)


def read_answer_json(body: dict, model: str, schema: type[BaseModel], check: Callable[[Any], Any] | None) -> CallResult:
    """generateContent's JSON as it came over the wire: cut or blocked answers are errors (billed all the
    same), the text is the first candidate's parts without thoughts, parsed against `schema` and checked."""
    billed = billed_tokens(body)
    version = body.get("modelVersion") or None  # Google may answer a retired id with a newer model
    if problem := finish_problem(body, model, billed):
        problem.body, problem.model_version = json.dumps(body)[:2000], version
        raise problem
    return checked_answer(answer_text(body), billed, model, schema, check, model_version=version)


def checked_answer(
    text: str,
    billed: dict,
    model: str,
    schema: type[BaseModel],
    check: Callable[[Any], Any] | None,
    parsed: BaseModel | None = None,
    model_version: str | None = None,
) -> CallResult:
    try:
        value = parsed if parsed is not None else schema.model_validate_json(text)
    except (ValidationError, ValueError) as e:
        raise _rejected(f"invalid structured output from {model}: {str(e)[:300]}", text, billed, model_version) from e
    if check is not None:
        try:
            value = check(value)
        except InvalidModelOutput as e:
            raise _rejected(f"invalid output from {model}: {e}", text, billed, model_version, e.in_the_rows) from e
    return CallResult(value, billed["input_tokens"], billed["output_tokens"], text, model_version)


def request_template(client: genai.Client, config: types.GenerateContentConfig) -> dict:
    """generateContent's body for a prompt kind, all but `contents`, converted by the SDK's own code
    (`models._GenerateContentParameters_to_mldev`, what `generate_content` runs on every call).

    Why not `client.aio.models.generate_content` per call: it deep-copies and converts the same config
    every time, about 2 ms of CPU of a call's 3 (measured with 1,000 calls in flight), and one process
    sends a stage's calls. No public SDK call sends a prepared body, so the async path sends this one
    through the SDK's HTTP client (`_api_client.async_request`: its auth, base URL, timeout and error
    types). A test checks the emulator receives the same body from both paths."""
    params = types._GenerateContentParameters(model="m", contents="-", config=config)
    body = genai_models._GenerateContentParameters_to_mldev(client._api_client, params, None, params)
    for key in ("config", "_url", "_query", "contents"):
        body.pop(key, None)
    return _common.encode_unserializable_types(_common.convert_to_dict(body))


class GeminiCaller:
    """Structured output under the quota engine; `response.parsed` is checked, never trusted."""

    def __init__(
        self,
        client: genai.Client,
        engine: QuotaEngine,
        stage_timeouts: dict[str, float] | None = None,
        watch: SilenceWatch | None = None,
    ):
        self.client = client
        self.engine = engine
        self.stage_timeouts = stage_timeouts or {}  # seconds per stage; else the client's own timeout
        self.watch = watch or SilenceWatch(self._probe)
        self._probe_path = "models"
        self._templates: dict[int, tuple[types.GenerateContentConfig, dict]] = {}
        self._paths: dict[str, str] = {}  # model -> its generateContent path
        self._loop_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._stage_configs: dict[str, dict] = {}  # stage -> its request configs (OutputBudget.configs)

    @asynccontextmanager
    async def async_session(self):
        """The running loop's calls go through one aiohttp session of ours (closed at the end), with
        `trust_env` off: the SDK's own session has it on, and then every request reads ~/.netrc and the
        proxy variables in a worker thread, two thread hops that, with a thousand calls starting at
        once, held every request back by about a second. (Proxies from the environment are not used.)"""
        api = self.client._api_client
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), trust_env=False) as session:
            options = api._http_options.model_copy(update={"aiohttp_client": session})
            loop = asyncio.get_running_loop()
            self._loop_clients[loop] = genai.Client(api_key=api.api_key, http_options=options)
            try:
                yield
            finally:
                self._loop_clients.pop(loop, None)

    def _async_api(self):
        client = self._loop_clients.get(asyncio.get_running_loop(), self.client)
        return client.aio._api_client

    def request_body(self, config: types.GenerateContentConfig, prompt: str) -> dict:
        # configs are built once each (structured_config); holding each one keeps its id unique
        known = self._templates.get(id(config))
        if known is None:
            known = self._templates[id(config)] = (config, request_template(self.client, config))
        template = known[1]
        return {**template, "contents": [{"parts": [{"text": prompt}], "role": "user"}]}

    async def _probe(self) -> bool:
        """Whether the endpoint answers at all (`SilenceWatch`): any HTTP answer, even an error, is one."""
        try:
            await call_sdk_async(lambda: self._async_api().async_request("get", self._probe_path, {}))
        except ModelCallError as e:
            return e.status_code is not None
        return True

    async def _ainvoke(
        self, model: str, system: str, prompt: str, schema: type[BaseModel], check=None, budget=None, timeout=None
    ) -> CallResult:
        budget = budget or OutputBudget(self.engine.config, "")
        path = self._paths.get(model)
        if path is None:
            path = self._paths[model] = f"{_transformers.t_model(self.client._api_client, model)}:generateContent"
        self._probe_path = path.removesuffix(":generateContent")
        body = self.request_body(budget.request_config(system, schema, model), prompt)
        request = lambda: call_sdk_async(lambda: self._async_api().async_request("post", path, body))  # noqa: E731
        try:
            response = await (self.watch.call(request, timeout) if timeout else request())
            try:
                answer = json.loads(response.body) if response.body else {}
            except ValueError as e:
                raise _rejected(f"unreadable answer from {model}: {e}", response.body or "", {}) from e
            return read_answer_json(answer if isinstance(answer, dict) else {}, model, schema, check)
        except ModelCallError as e:
            budget.after(model, e)
            raise

    async def arun(
        self,
        stage: str,
        system: str,
        prompt: str,
        schema: type[BaseModel],
        context: dict | None = None,
        chain: list[str] | None = None,
        check: Callable[[Any], Any] | None = None,
    ) -> Outcome:
        """`run` on the event loop (the model stages: one thread, hundreds of calls in flight)."""
        budget = OutputBudget(self.engine.config, stage, self._stage_configs.setdefault(stage, {}))
        return await self.engine.acall(
            stage,
            len(system) + len(prompt),
            lambda model: self._ainvoke(model, system, prompt, schema, check, budget, self.stage_timeouts.get(stage)),
            chain,
            context,
        )

    def _invoke(
        self, model: str, system: str, prompt: str, schema: type[BaseModel], check=None, budget=None
    ) -> CallResult:
        budget = budget or OutputBudget(self.engine.config, "")
        config = budget.request_config(system, schema, model)
        try:
            response = call_sdk(
                lambda: self.client.models.generate_content(model=model, contents=prompt, config=config)
            )
            return read_answer(response, model, schema, check)
        except ModelCallError as e:
            budget.after(model, e)
            raise

    def run(
        self,
        stage: str,
        system: str,
        prompt: str,
        schema: type[BaseModel],
        context: dict | None = None,
        chain: list[str] | None = None,
        check: Callable[[Any], Any] | None = None,
    ) -> Outcome:
        """`check` turns the parsed answer into what is kept, or raises InvalidModelOutput (then retried)."""
        budget = OutputBudget(self.engine.config, stage)
        return self.engine.call(
            stage,
            len(system) + len(prompt),
            lambda model: self._invoke(model, system, prompt, schema, check, budget),
            chain,
            context,
        )
