"""A model stage reports its progress only when it moved, or after a quiet minute (issue 40)."""

from elevra_pipeline.uploads.progress import CallProgress


def test_a_report_is_worth_telling_only_when_calls_were_answered_or_a_minute_passed():
    now = [0.0]
    progress = CallProgress("analysis", 10, clock=lambda: now[0])
    told = []
    for second in range(0, 145, 5):
        now[0] = float(second)
        if second == 20:
            progress.one_done()
        told.append(progress.worth_telling())
    seconds = [s for s, t in zip(range(0, 145, 5), told) if t]
    assert seconds == [0, 20, 80, 140]  # the first look, an answer, then once a quiet minute
