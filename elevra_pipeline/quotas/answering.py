"""Which model answered: Google may route a call for a retired id to a newer model and names the model
that answered in the answer's `modelVersion`; the team hears of it once per (asked, answered) pair."""

import re

_VERSION_SUFFIX = r"(-\d+)+"  # `-001`, `-002`, a dated build `-09-2025`: the same model


def answered_by_another(asked: str, answered: str | None) -> bool:
    """`answered` is another model than `asked`: not the same id, nor the same id with a version
    suffix (`gemini-3.8-flash-001` is gemini-3.8-flash; `gemini-3.8-flash-lite` is not)."""
    if not answered:
        return False  # no answer, or an answer that does not say
    asked, answered = asked.removeprefix("models/"), answered.removeprefix("models/")
    return re.fullmatch(re.escape(asked) + f"({_VERSION_SUFFIX})?", answered) is None
