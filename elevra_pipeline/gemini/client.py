"""One structured-output call through google-genai, with every failure turned into a ModelCallError."""

import json
from functools import lru_cache
from typing import Any, Callable

from google import genai
from google.genai import _transformers, errors, types
from pydantic import BaseModel, ValidationError

from elevra_pipeline.exceptions import InvalidModelOutput, ModelCallError
from elevra_pipeline.quotas.engine import CallResult, Outcome, QuotaEngine
from elevra_pipeline.quotas.server_errors import parse_rate_limit


def _connection_limits(connections: int):
    """The SDK's HTTP pool (httpx2 where installed, else httpx) defaults to 100 connections: as many as
    the calls we keep in flight, or the pool, not the quota, would cap them."""
    try:
        import httpx2 as http
    except ImportError:  # pragma: no cover - depends on the SDK's optional backend
        import httpx as http
    return http.Limits(max_connections=connections, max_keepalive_connections=connections)


def make_client(
    api_key: str | None, base_url: str | None, timeout_seconds: float, connections: int = 100
) -> genai.Client:
    options = types.HttpOptions(
        timeout=int(timeout_seconds * 1000),
        base_url=base_url or None,
        client_args={"limits": _connection_limits(connections)},
    )
    return genai.Client(api_key=api_key or "emulator-no-key", http_options=options)


@lru_cache(maxsize=64)
def structured_config(system: str, schema: type[BaseModel]) -> types.GenerateContentConfig:
    """JSON answers that must match `schema`, deterministic (temperature 0). Built once per prompt kind:
    the schema goes in already converted (the SDK would rebuild it from the class on every call, ~2 ms),
    and automatic function calling is off (we pass no tools; left on, the SDK deep-copies the config on
    every call, 0.4 of its 2.2 ms of CPU). What is sent is the same."""
    return types.GenerateContentConfig(
        system_instruction=system,
        response_mime_type="application/json",
        response_schema=_transformers.t_schema(None, schema),
        temperature=0,
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )


def classify(error: Exception) -> ModelCallError:
    if isinstance(error, errors.APIError):
        body = error.details if isinstance(error.details, dict) else {}
        text = json.dumps(body)[:2000] if body else str(error)
        if error.code == 429:
            info = parse_rate_limit(body)
            return ModelCallError(
                f"429 {error.status}: {error.message}",
                error_type="rate_limited",
                status_code=429,
                quota_id=info.quota_id,
                retry_delay=info.retry_delay,
                body=text,
                scope=info.scope,
            )
        if error.code and error.code >= 500:
            return ModelCallError(
                f"{error.code} {error.status}: {error.message}",
                error_type="server_error",
                status_code=error.code,
                body=text,
            )
        return ModelCallError(
            f"{error.code} {error.status}: {error.message}",
            error_type="client_error",
            status_code=error.code,
            retryable=error.code in (408, 409),
            body=text,
        )
    name = type(error).__name__
    kind = "timeout" if "Timeout" in name else "network"
    return ModelCallError(f"{kind}: {name}: {error}", error_type=kind)


def call_sdk(request: Callable[[], Any]) -> Any:
    """One SDK request; every way it can fail becomes a ModelCallError (see `classify`)."""
    try:
        return request()
    except (errors.APIError, OSError) as e:
        raise classify(e) from e
    except Exception as e:  # httpx (or httpx2) timeouts and connection errors are not APIError
        if "httpx" not in type(e).__module__:
            raise
        raise classify(e) from e


def _rejected(message: str, text: str, billed: dict) -> ModelCallError:
    """An answer our checks refused: retried like a failure, and billed all the same."""
    return ModelCallError(message, error_type="invalid_output", status_code=200, body=text[:2000], **billed)


def read_answer(
    response: types.GenerateContentResponse, model: str, schema: type[BaseModel], check: Callable[[Any], Any] | None
) -> CallResult:
    """An answer (online, or one of a Batch API job's) parsed against `schema` and checked; a bad one is a
    ModelCallError that still carries the tokens Google billed."""
    usage = response.usage_metadata
    billed = {
        "input_tokens": (usage.prompt_token_count or 0) if usage else 0,
        "output_tokens": (usage.candidates_token_count or 0) if usage else 0,
    }
    text = response.text or ""
    try:
        value = response.parsed if isinstance(response.parsed, schema) else schema.model_validate_json(text)
    except (ValidationError, ValueError) as e:
        raise _rejected(f"invalid structured output from {model}: {str(e)[:300]}", text, billed) from e
    if check is not None:
        try:
            value = check(value)
        except InvalidModelOutput as e:
            raise _rejected(f"invalid output from {model}: {e}", text, billed) from e
    return CallResult(value, billed["input_tokens"], billed["output_tokens"], text)


class GeminiCaller:
    """Structured output under the quota engine; `response.parsed` is checked, never trusted."""

    def __init__(self, client: genai.Client, engine: QuotaEngine):
        self.client = client
        self.engine = engine

    def _invoke(
        self, model: str, system: str, prompt: str, schema: type[BaseModel], check: Callable[[Any], Any] | None = None
    ) -> CallResult:
        response = call_sdk(
            lambda: self.client.models.generate_content(
                model=model, contents=prompt, config=structured_config(system, schema)
            )
        )
        return read_answer(response, model, schema, check)

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
        return self.engine.call(
            stage,
            len(system) + len(prompt),
            lambda model: self._invoke(model, system, prompt, schema, check),
            chain,
            context,
        )
