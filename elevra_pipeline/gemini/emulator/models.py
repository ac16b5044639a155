"""Which models the emulator serves, as today's Gemini API does (read 2026-12-01 from Google's
deprecations and models pages): the current Gemini 3.x models and those of the quotas file it runs
with; the source document's four models and the early Gemini 3 previews are shut down and answer 404
with Google's own body."""

# Shut down: Gemini answers 404 NOT_FOUND to generateContent and does not list them.
RETIRED = frozenset(
    {
        "gemini-1.5-pro",
        "gemini-1.5-flash",
        "gemini-2.0-flash",
        "gemini-2.0-flash-001",
        "gemini-2.0-flash-lite",
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-3-pro-preview",
        "gemini-3.1-flash-lite-preview",
    }
)
CURRENT = (
    "gemini-3.1-pro-preview",
    "gemini-3-flash-preview",
    "gemini-3.8-flash",
    "gemini-3.7-flash",
    "gemini-3.6-flash",
    "gemini-3.5-flash-lite",
    "gemini-3.1-flash-lite",
)
METHODS = ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]


def not_found_body(model: str, retired: bool) -> dict:
    """Google's 404 for a model it does not serve (no `details`, as recorded)."""
    message = (
        f"This model models/{model} is no longer available to new users. Please update your code to use a "
        "newer model for the latest features and improvements."
        if retired
        else f"models/{model} is not found for API version v1beta, or is not supported for generateContent. "
        "Call ListModels to see the list of available models and their supported methods."
    )
    return {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}}


def model_entry(model: str) -> dict:
    """One model as `GET /v1beta/models` lists it."""
    return {
        "name": f"models/{model}",
        "version": "001",
        "displayName": model,
        "description": "emulated",  # gemini.model_check.EMULATED: how the pipeline knows it is not Gemini
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": METHODS,
        "temperature": 1.0,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2.0,
        "thinking": True,
    }


def model_page(models: list[str], page_token: str | None, page_size: int = 50) -> dict:
    start = int(page_token or 0)
    page = models[start : start + page_size]
    body = {"models": [model_entry(m) for m in page]}
    if start + page_size < len(models):
        body["nextPageToken"] = str(start + page_size)
    return body
