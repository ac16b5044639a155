"""E-mail bodies (plain text and HTML) for each kind, from the summary stored on the upload.

The first line of every e-mail is the outcome, so it reads on a phone's lock screen.
"""

from html import escape
from string import Template
from urllib.parse import quote

from elevra_pipeline.quotas.prices import format_cost
from elevra_pipeline.records.changes import change_line
from elevra_pipeline.records.withdrawn import report_lines
from elevra_pipeline.storage.batch_rules import reason_kind

LIST_LIMIT = 40
WAITING_NOTE = (
    "Gemini could not be used for these batches (down, out of quota, a retired model or a configuration "
    "problem on our side). Nothing is wrong with the file and there is nothing to re-upload: they are "
    "retried automatically when Gemini is back, and the Elevra team has been told of anything it must fix."
)
CONFIGURATION_FIXES = (
    ("API_KEY_INVALID", "GEMINI_API_KEY is not a valid key: set a valid key (a secret) and restart the pipeline."),
    ("401", "Gemini did not accept the key: check GEMINI_API_KEY."),
    (
        "403",
        "The key's project may not call the Gemini API: check in Google AI Studio / Cloud Console that the API is "
        "enabled, billing is active and the key is not restricted or suspended.",
    ),
    (
        "400",
        "Gemini rejected our request: check the quotas file's `stages:` settings (thinking_level is for Gemini 3 "
        "and later, thinking_budget for earlier models; max_output_tokens within the model's limit).",
    ),
)


def configuration_fix(reason: str) -> str:
    """What the team should change, from the error Gemini gave."""
    return next((fix for marker, fix in CONFIGURATION_FIXES if marker in reason), "Check GEMINI_API_KEY and billing.")


EMULATED_NOTE = (
    "EMULATED: processed by the offline Gemini emulator (GEMINI_API_KEY was not set), not by Gemini. "
    "Its records are test data, not real answers."
)

_HTML = Template("""<!doctype html><html><body style="font-family:Arial,sans-serif;max-width:640px;margin:auto">
<p style="font-size:18px;font-weight:bold">$headline</p>$body
<p style="color:#777;font-size:12px">Elevra upload pipeline · upload $upload_id · $filename</p></body></html>""")


def _lines(items: list[str], more: int) -> list[str]:
    return [f"- {i}" for i in items] + ([f"- … and {more} more (see the workbook)"] if more > 0 else [])


def _section(title: str, items: list[str]) -> tuple[str, str]:
    shown, more = items[:LIST_LIMIT], len(items) - LIST_LIMIT
    text = "\n".join([f"\n{title}"] + _lines(shown, more))
    html = (
        f"<h3>{escape(title)}</h3><ul>"
        + "".join(f"<li>{escape(i)}</li>" for i in shown)
        + (f"<li>… and {more} more (see the workbook)</li>" if more > 0 else "")
        + "</ul>"
    )
    return text, html


def _compose(upload, headline: str, paragraphs: list[str], sections: list[tuple[str, list[str]]]) -> tuple[str, str]:
    text_parts, html_parts = [headline, ""] + paragraphs, [f"<p>{escape(p)}</p>" for p in paragraphs]
    for title, items in sections:
        if items:
            t, h = _section(title, items)
            text_parts.append(t)
            html_parts.append(h)
    html = _HTML.substitute(
        headline=escape(headline),
        body="".join(html_parts),
        upload_id=upload.id,
        filename=escape(upload.original_filename),
    )
    return "\n".join(
        text_parts
    ) + f"\n\n-- Elevra upload pipeline, upload {upload.id} ({upload.original_filename})\n", html


def _fallbacks(stage: dict) -> list[str]:
    """One line per kind of fallback ('12 races: analysis used gemini-3-flash-preview: RPM limit
    reached …'), not one per race."""
    groups: dict[str, list[str]] = {}
    for f in stage.get("fallbacks", []):
        groups.setdefault(f["note"], []).append(f.get("race") or f["batch"])
    return [
        f"{len(races)} race{'s' if len(races) > 1 else ''}: {note}" + (f" ({races[0]})" if len(races) == 1 else "")
        for note, races in groups.items()
    ]


def _race(entry: dict) -> str:
    return entry.get("race") or entry["batch"]


def waiting_batches(summary: dict) -> list[dict]:
    """Every batch of the upload that waits for a model, from the stage summaries."""
    return [b for stage in summary.get("stages", {}).values() for b in stage.get("waiting_batches", [])]


def rows_line(rows: dict) -> str:
    """Where every row went, in one sentence (the counts add up to the rows read)."""
    parts = [
        f"{rows.get('candidates', 0)} became candidates",
        f"{rows.get('needs_reupload', 0)} need re-upload",
        f"{rows.get('dropped', 0)} were dropped",
        f"{rows.get('header', 0)} header row(s)",
    ]
    if rows.get("in_progress"):
        parts.append(f"{rows['in_progress']} still in progress")
    if rows.get("sent_again"):
        parts.insert(2, f"{rows['sent_again']} were sent again, fixed, in a later upload")
    return f"Rows: {rows.get('read', 0)} read: " + ", ".join(parts) + "."


def mapping_lines(intake: dict) -> list[str]:
    lines = []
    for sheet in intake.get("sheets", []):
        if sheet["status"] != "imported":
            lines.append(f"sheet '{sheet['name']}': not imported ({sheet['reason']}); {sheet['rows_read']} rows")
            continue
        roles = ", ".join(
            f"{m['column']} = {m['role']}" + ("" if m["decided_by"] == "alias" else f" ({m['decided_by']})")
            for m in sheet["mapping"]
            if m["role"] != "unused"
        )
        unused = [f"{m['column']} ({m['why']})" for m in sheet["mapping"] if m["role"] == "unused"]
        if unused:
            roles += "; not used: " + ", ".join(unused)
        note = f"; {sheet['mapping_note']}" if sheet.get("mapping_note") else ""
        if sheet.get("defaults_used"):
            note += "; filled from the upload's settings: " + ", ".join(
                f"{name} in {count} row(s)" for name, count in sheet["defaults_used"].items()
            )
        lines.append(f"sheet '{sheet['name']}' (header on row {sheet['header_row']}): {roles}{note}")
        lines += [f"sheet '{sheet['name']}': {w}" for w in sheet.get("warnings", [])]
    return lines


def _dropped_lines(summary: dict) -> list[str]:
    reasons: dict[str, int] = {}
    for d in summary.get("dropped_rows", []):
        reasons[d["reason"]] = reasons.get(d["reason"], 0) + (d.get("last_row") or d["row"]) - d["row"] + 1
    return [f"{reason}: {count}" for reason, count in reasons.items()]


def _resend_with_settings(upload, filename: str) -> str:
    """The way to read an upload's file again with new settings that works now: `retry` needs the stored
    copy, which goes once the upload completes; then the file itself is sent again."""
    if upload.stored_path:
        return f"run `elevra-pipeline retry {upload.id} --election-date …`"
    return (
        f"choose it again on the upload page with the setting, or run `elevra-pipeline process '{filename}' "
        "--election-date …`"
    )


def render(kind: str, upload, summary: dict, extra: dict | None = None) -> tuple[str, str, str]:
    """(subject, text, html) for one e-mail; an upload the emulator processed says so first."""
    subject, text, html = _render(kind, upload, summary, extra or {})
    if links := where_to_look(upload, (extra or {}).get("dagster_url")):
        text = text.rstrip("\n") + "\n" + "\n".join(links) + "\n"
        html = html.replace("</body>", "".join(f"<p>{escape(line)}</p>" for line in links) + "</body>", 1)
    if not summary.get("emulated"):
        return subject, text, html
    marked = f'<p style="color:#b00000;font-weight:bold">{escape(EMULATED_NOTE)}</p><p style="font-size:18px'
    headline, _, rest = text.partition("\n")  # the first line stays the outcome, as the subject
    text = f"{headline} [EMULATED]\n\n{EMULATED_NOTE}\n{rest}"
    return f"{subject} [EMULATED]", text, html.replace('<p style="font-size:18px', marked, 1)


def counted(n: int, noun: str) -> str:
    """'1 race', '2 races', '0 elections'."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def where_to_look(upload, dagster_url: str | None) -> list[str]:
    """The upload's status (any admin), and its partition in the Dagster UI when its address is set."""
    lines = [f"Status: elevra-pipeline status {upload.id}"]
    if dagster_url:
        lines.append(f"In Dagster: {dagster_url}/assets/result_workbook?partition={quote(upload.partition_key)}")
    return lines


def race_label(race: dict) -> str:
    """'Springfield Mayor, District 4' (never 'Springfield Mayor  ()')."""
    label = " ".join(p for p in (race.get("jurisdiction"), race.get("office")) if p) or "a race"
    return ", ".join(p for p in (label, race.get("district"), race.get("date")) if p)


def fix_lines(races: list[dict]) -> list[str]:
    """Races that need the uploader's fix, grouped by reason, the advice said once per reason."""
    groups: dict[str, list[dict]] = {}
    for race in races:
        groups.setdefault(reason_kind(race["reason"]), []).append(race)
    lines = []
    for kind, members in groups.items():
        advice = (members[0]["reason"] or "").partition(": ")[2]
        names = ", ".join(race_label(r) for r in members[:8]) + (
            f" and {len(members) - 8} more" if len(members) > 8 else ""
        )
        lines.append(
            f"{len(members)} race{'s' if len(members) > 1 else ''}: {kind} ({names})"
            + (f". {advice[:1].upper()}{advice[1:]}" if advice else "")
        )
    return lines


def _render(kind: str, upload, summary: dict, extra: dict) -> tuple[str, str, str]:
    name = upload.original_filename
    if kind == "queued":
        q = summary.get("queue", {})
        headline = f"Queued: {counted(q.get('batches', 0), 'race')} from {name} " + (
            "goes to the model" if q.get("batches", 0) == 1 else "go to the model"
        )
        intake = upload.intake_json or {}
        races = q.get("batches", 0) + q.get("needs_reupload", 0)
        paragraphs = [
            f"{intake.get('rows_read', 0)} rows read; {q.get('rows', 0)} candidate rows make {races} races "
            f"(an election: a place, an office, a district and a date)"
            + (
                f": {q.get('batches', 0)} go to the model, {q['needs_reupload']} need a fix from you (see below)."
                if q.get("needs_reupload")
                else "."
            ),
            f"Ahead of it: {q.get('uploads_ahead', 0)} upload(s) with {q.get('batches_ahead', 0)} batch(es).",
            f"Estimated completion: {q.get('eta', 'unknown')} "
            "(from the limits in force, the measured answer times and the work ahead).",
        ]
        plan = summary.get("plan") or {}
        if plan.get("mode") == "batch" or plan.get("requested", "auto") != "auto":  # news for the uploader
            paragraphs.append(f"Model calls: {plan['reason']}.")
        if (upload.options_json or {}).get("sidecar_error"):
            paragraphs.append(f"Warning: {upload.options_json['sidecar_error']}.")
        needs = summary.get("stages", {}).get("intake", {}).get("failed_batches", [])
        return headline, *_compose(
            upload,
            headline,
            paragraphs,
            [
                ("How the columns were read", mapping_lines(intake)),
                ("Needs re-upload", [f"{b['batch']}: {b['reason']}" for b in needs]),
                (
                    "Rows dropped",
                    [f"{reason}: {count}" for reason, count in intake.get("dropped_by_reason", {}).items()],
                ),
            ],
        )
    if kind in ("analysis_complete", "structure_complete"):
        stage = summary.get("stages", {}).get("analysis" if kind == "analysis_complete" else "structure", {})
        label = "Analysis" if kind == "analysis_complete" else "Structured output"
        headline = (
            f"{label} done for {name}: {stage.get('succeeded', 0)} ok, {stage.get('failed', 0)} need re-upload"
            + (f", {stage['waiting']} waiting for the model" if stage.get("waiting") else "")
        )
        paragraphs = [f"{label} finished for {stage.get('processed', 0)} batch(es) of this upload."]
        if stage.get("in_progress"):
            paragraphs.append(f"{stage['in_progress']} batch(es) are still being processed.")
        if stage.get("waiting"):
            paragraphs.append(WAITING_NOTE)
        return headline, *_compose(
            upload,
            headline,
            paragraphs,
            [
                ("Races that used a fallback model", _fallbacks(stage)),
                ("Waiting for the model", [f"{_race(b)}: {b['reason']}" for b in stage.get("waiting_batches", [])]),
            ],
        )
    if kind == "awaiting_approval":
        changes = summary.get("changes", {})
        headline = f"For review: what {name} would change; nothing is published until it is approved"
        return headline, *_compose(
            upload,
            headline,
            [
                f"Changes it would make: {change_line(changes)}. The attached workbook's Changes sheet lists them "
                "field by field.",
                f"To publish: `elevra-pipeline approve {upload.id}` (or the upload_admin job's approve action, then "
                f"materialize the partition). To drop them: `elevra-pipeline discard {upload.id}`.",
            ],
            [
                (
                    "Changes",
                    [
                        f"{c['record']}: new"
                        if c["action"] == "new"
                        else f"{c['record']}: {c['field']} '{c['old']}' -> '{c['new']}' ({c['action']})"
                        for c in changes.get("rows", [])
                    ],
                )
            ],
        )
    if kind == "waiting_for_model":
        waiting = waiting_batches(summary)
        b = summary.get("batches", {})
        headline = f"Waiting for Gemini: {len(waiting)} races of {name} will be finished automatically"
        return headline, *_compose(
            upload,
            headline,
            [
                WAITING_NOTE,
                f"So far {b.get('inserted', 0)} of {b.get('total', 0)} races were inserted. "
                "The final e-mail, with the result workbook, follows when the waiting races are done.",
            ],
            [("Waiting for the model", [f"{_race(w)}: {w['reason']}" for w in waiting])],
        )
    if kind == "model_unavailable":
        headline = f"Gemini model {extra['model']} is unavailable: its calls go to the next model of the chain"
        return headline, *_compose(
            upload,
            headline,
            [
                f"Gemini does not serve {extra['model']} for our key: {extra['reason']}",
                "Nothing is lost: each batch falls back to the next model of its stage's chain; when no model of "
                "a chain is left, the batches wait (waiting_for_model) instead of failing, and no uploader is "
                "asked to re-upload.",
                "Fix: name current models in the quotas file's chains (ELEVRA_QUOTAS_FILE; `elevra-pipeline "
                "models` lists what the key can use), then waiting uploads resume by themselves. A model marked "
                "by mistake: `elevra-pipeline models --reset MODEL`.",
            ],
            [],
        )
    if kind == "model_routed":
        asked, answered = extra["asked"], extra["answered"]
        headline = f"Gemini answered calls for {asked} with another model: {answered}"
        return headline, *_compose(
            upload,
            headline,
            [
                f"We asked for {asked}; the answer's modelVersion says {answered} answered (Google routes some "
                "retired model ids to a newer model instead of refusing them).",
                f"Nothing is lost: the answers were checked against the rows as usual. Each call is charged at "
                f"{answered}'s price when the quotas file has one, else at {asked}'s, and counted under {answered} "
                "in the usage tables.",
                f"Fix: if {asked} is retired, name {answered} (or another current model) in the quotas file's "
                "chains and prices (ELEVRA_QUOTAS_FILE; `elevra-pipeline models` lists what the key can use). "
                "This e-mail is sent once for this pair of models.",
            ],
            [],
        )
    if kind == "model_answers_rejected":
        races = extra["batches"]
        headline = f"Gemini's answers kept failing our checks: {len(races)} race(s) of {name} wait for the model"
        return headline, *_compose(
            upload,
            headline,
            [
                "Every model of the stage's chain was asked and each answer said something the rows do not (a "
                "candidate not in the rows, another row's party, an impossible date…). The rows are not at fault: "
                "the uploader is not asked to re-upload, and the races wait (waiting_for_model).",
                "They are retried automatically (the model recovery sensor, with backoff). If they keep failing, "
                "read the rejected answers (`elevra-pipeline status ID` lists the attempts and reasons), then try "
                "another model in the quotas file's chains or skip the races.",
            ],
            [("Waiting races and the last reason", [f"{_race(b)}: {b['reason']}" for b in races])],
        )
    if kind == "gemini_configuration":
        headline = f"Gemini configuration problem: {extra['batches']} batch(es) of {name} are blocked"
        return headline, *_compose(
            upload,
            headline,
            [
                f"Gemini refused our request: {extra['reason']}",
                f"Fix: {configuration_fix(extra['reason'])}",
                "The uploader is not asked to do anything. The upload resumes by itself: the model recovery "
                "sensor probes Gemini and re-runs it once a call is answered.",
            ],
            [],
        )
    if kind == "reverted":
        headline = f"Reverted: what {name} did to the records is undone"
        return headline, *_compose(
            upload,
            headline,
            [
                f"An admin reverted upload {upload.id}" + (f" ({extra['note']})" if extra.get("note") else "") + ": "
                f"{extra['restored']} value(s) it had set or changed are back to what they were, "
                f"{extra['removed']} record(s) only it had added are removed"
                + (
                    f", and {extra['kept_later_value']} value(s) a later upload changed since were left as they are."
                    if extra.get("kept_later_value")
                    else "."
                ),
                "Nothing else needs doing. The earlier result workbook no longer describes the records.",
            ],
            [],
        )
    if kind == "undeliverable":
        headline = f"E-mail not delivered: {extra['subject']}"
        return headline, *_compose(
            upload,
            headline,
            [
                f"The e-mail to {extra['recipient']} was given up on after {extra['attempts']} attempt(s).",
                f"Last error: {extra['error']}",
                "Its content is in `elevra-pipeline status` for this upload; send it by hand if needed.",
            ],
            [],
        )
    if kind == "final":
        b = summary["batches"]
        headline = (
            ("Updated: " if extra.get("updated") else "Done: ")
            + f"{counted(len(summary['elections']), 'election')} and "
            + f"{counted(len(summary['candidates']), 'candidate')} from {name}"
            + (f"; {counted(b['needs_reupload'], 'race')} need your fix" if b["needs_reupload"] else "")
        )
        if not b["inserted"] and b["needs_reupload"]:  # nothing is done: say what is needed first
            headline = f"Needs your fix: {counted(b['needs_reupload'], 'race')} from {name}; nothing was inserted yet"
        paragraphs = [
            f"{b['inserted']} of {b['total']} races were inserted. The result workbook is attached.",
            rows_line(summary.get("rows", {})),
        ]
        changes = summary.get("changes") or {}
        if any(n for counts in changes.get("counts", {}).values() for n in counts.values()):  # not "No records"
            paragraphs.append(f"What this upload did to the records: {change_line(changes)} (the Changes sheet).")
        paragraphs += report_lines(summary.get("not_on_ballot") or {})
        if link := (upload.summary_json or {}).get("replaces"):
            paragraphs.append(
                f"This upload replaces upload {link['upload_id']} ({link['file']}): the races of that upload "
                "it brings again are done here, and that upload no longer lists them as needing a fix."
            )
        named = summary.get("rows", {}).get("candidates", 0)
        if named > len(summary["candidates"]):
            paragraphs.append(
                f"{named} rows became {len(summary['candidates'])} candidates: a person listed twice in one "
                "race, or in a race the list repeats for each county it spans, is one candidate."
            )
        if b["needs_reupload"]:
            paragraphs.append(
                "To fix them, send the same file again with the fix (a sidecar with the setting, the Needs "
                f"Re-upload sheet of the workbook filled in, or `elevra-pipeline retry {upload.id} --election-date "
                "…`): only these are done again" + (", the races already inserted are kept." if b["inserted"] else ".")
            )
        if extra.get("updated"):
            paragraphs.insert(
                0,
                "This replaces the earlier result e-mail for this upload: a later run changed the "
                "outcome. The attached workbook is the current one.",
            )
        usage = [
            f"{m}: {u.get('calls', 0)} calls, {u.get('rate_limited', 0)} rate-limited, "
            f"{u.get('fallback_calls', 0)} as fallback, {u.get('input_tokens', 0)} input tokens"
            + (f", ${u['cost_usd']:.4f}" if u.get("cost_usd") is not None else "")
            for m, u in summary.get("model_usage", {}).items()
        ]
        if summary.get("model_usage"):
            usage.append(f"Cost: {format_cost(summary.get('cost_usd'))} ({summary.get('mode', 'online')} calls)")
        return headline, *_compose(
            upload,
            headline,
            paragraphs,
            [
                ("What to fix", fix_lines(summary["needs_reupload"])),
                ("Rows dropped (each listed in the workbook's Dropped Rows sheet)", _dropped_lines(summary)),
                ("Elections", [f"{e['name']} ({e['date']}): {e['url']}" for e in summary["elections"]]),
                (
                    "Candidates",
                    [
                        f"{c['name']} ({c['party'] or 'no party'}), {c['election']}: {c['url']}"
                        for c in summary["candidates"]
                    ],
                ),
                ("Model usage", usage),
                ("Fallbacks", [f"{f['batch']}: {f['note']}" for f in summary.get("fallbacks", [])]),
                (
                    "Cleaned from the model's answers",
                    [f"{n['batch']}: {n['note']}" for n in summary.get("output_notes", [])],
                ),
            ],
        )
    if kind == "rejected":
        headline = f"Rejected: {name} could not be processed"
        return headline, *_compose(
            upload,
            headline,
            [f"Reason: {upload.failure_reason}", "Nothing was inserted. Fix the file and upload it again."],
            [],
        )
    if kind == "batch_failed":
        batches = extra["batches"]
        headline = f"{len(batches)} races of {name} failed in the model"
        return headline, *_compose(
            upload,
            headline,
            [
                "The model kept getting these races wrong and used up their attempts; the rest carry on. A "
                "re-run (or the nightly backfill) tries them again."
            ],
            [("Races", [f"{_race(b)}: {b['reason']}" for b in batches])],
        )
    if kind == "run_failed":
        headline = f"Run failed for {name} at step {extra.get('step', '?')}"
        return headline, *_compose(
            upload,
            headline,
            [
                f"Error: {extra.get('error', 'unknown')}",
                f"Dagster run {extra.get('run_id', '?')}. An admin can re-run the "
                "partition; finished batches are not redone.",
            ],
            [],
        )
    if kind == "duplicate":
        headline = f"Already received: {extra['filename']} is the same file as upload {upload.id}"
        return headline, *_compose(
            upload,
            headline,
            [
                f"'{extra['filename']}' has exactly the content of upload {upload.id} "
                f"('{name}'), so it was not processed again.",
                f"Upload {upload.id} is {extra.get('state') or upload.status}"
                + (f": {upload.failure_reason}" if upload.failure_reason else ".")
                + (" Its workbook went out with its final e-mail." if upload.workbook_path else ""),
                "To give settings the file lacks (the election date, the city…), send it again with a "
                f"sidecar that has them, or {_resend_with_settings(upload, extra['filename'])}: the same file "
                "with new settings is read again.",
            ],
            [],
        )
    if kind == "cancelled":
        headline = f"Cancelled: {name}"
        return headline, *_compose(
            upload,
            headline,
            [
                upload.failure_reason or "cancelled by an admin",
                "Batches already inserted stay; the rest were not processed.",
            ],
            [],
        )
    raise ValueError(f"unknown e-mail kind {kind}")


def render_digest(day: str, states: list[str], lines: list[str]) -> tuple[str, str, str]:
    """The team's digest: one line per upload touched that day, those that need attention first;
    `states`: each upload's state as every view shows it (storage.shown_state)."""
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    tally = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    headline = f"Elevra uploads on {day}: {len(states)} ({tally or 'none'})"
    text = "\n".join([headline, "", *(f"- {line}" for line in lines), "", "-- Elevra upload pipeline, daily digest"])
    html = (
        f'<p style="font-size:18px"><b>{escape(headline)}</b></p><ul>'
        + "".join(f"<li>{escape(line)}</li>" for line in lines)
        + "</ul>"
    )
    return headline, text + "\n", html
