"""What a generateContent answer (its wire JSON) says beyond its text: the tokens billed, and whether
it was cut short or blocked. Real answers (elevra_pipeline_tests/fixtures/gemini_recorded) carry
`thoughtsTokenCount` beside `candidatesTokenCount`: thinking is billed as output, so both count."""

from elevra_pipeline.exceptions import ModelCallError
from elevra_pipeline.quotas.failures import CallFailure

# A reason Gemini gives for not answering, in words an admin can act on (they reach the uploader).
BLOCKED_BECAUSE = {
    "SAFETY": "Gemini's safety filter would not answer for these rows (it judged some of their text harmful); "
    "check the rows for offensive or unusual text, correct it and upload these rows again",
    "RECITATION": "Gemini stopped because its answer would repeat text from elsewhere word for word; shorten long "
    "passages copied into the rows (biographies, statements) and upload these rows again",
    "BLOCKLIST": "the rows contain terms Gemini will not process; remove them and upload these rows again",
    "PROHIBITED_CONTENT": "the rows contain content Gemini will not process; remove it and upload these rows again",
    "SPII": "the rows contain sensitive personal data (such as ID or account numbers) that Gemini will not "
    "process; remove those columns and upload these rows again",
    "LANGUAGE": "the rows are in a language Gemini does not support here; translate them and upload again",
}


def billed_tokens(body: dict) -> dict:
    """Input and output tokens Google bills for an answer: output = candidates + thoughts."""
    usage = body.get("usageMetadata") or {}
    output = (usage.get("candidatesTokenCount") or 0) + (usage.get("thoughtsTokenCount") or 0)
    return {"input_tokens": usage.get("promptTokenCount") or 0, "output_tokens": output}


def answer_text(body: dict) -> str:
    """The first candidate's text, thoughts left out (as the SDK's `response.text`)."""
    candidates = body.get("candidates") or [{}]
    parts = ((candidates[0] or {}).get("content") or {}).get("parts") or []
    return "".join(p["text"] for p in parts if isinstance(p.get("text"), str) and not p.get("thought"))


def finish_problem(body: dict, model: str, billed: dict) -> ModelCallError | None:
    """A blocked prompt, a blocked answer or an answer cut at max_output_tokens, as the attempt's error
    (still billed); None for an answer that finished."""
    feedback = body.get("promptFeedback") or {}
    blocked = feedback.get("blockReason")
    candidates = body.get("candidates") or []
    reason = str((candidates[0] or {}).get("finishReason") or "") if candidates else ""
    if blocked or (not candidates and "promptFeedback" in body):
        said = f": {feedback['blockReasonMessage'][:200]}" if feedback.get("blockReasonMessage") else ""
        why = BLOCKED_BECAUSE.get(
            str(blocked),
            f"Gemini refused these rows before answering ({blocked or 'no reason given'}{said}); check the rows "
            "for unusual or sensitive text, correct it and upload these rows again",
        )
        return ModelCallError(
            f"blocked by Gemini ({blocked}): {why}",
            error_type=CallFailure.BLOCKED,
            retryable=False,
            status_code=200,
            **billed,
        )
    if reason == "MAX_TOKENS":
        return ModelCallError(
            f"{model} ran out of output tokens (finishReason MAX_TOKENS, {billed['output_tokens']} billed, "
            "thinking included)",
            error_type=CallFailure.MAX_TOKENS,
            status_code=200,
            **billed,
        )
    if reason in BLOCKED_BECAUSE:
        return ModelCallError(
            f"blocked by Gemini ({reason}): {BLOCKED_BECAUSE[reason]}",
            error_type=CallFailure.BLOCKED,
            retryable=False,
            status_code=200,
            **billed,
        )
    return None
