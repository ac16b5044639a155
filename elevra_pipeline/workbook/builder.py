"""Write the result workbook (openpyxl) from the database; formula-looking cells are escaped."""

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from elevra_pipeline.notifications.templates import EMULATED_NOTE
from elevra_pipeline.records.changes import change_line
from elevra_pipeline.records.insert import candidate_url, election_url
from elevra_pipeline.storage.batch_rules import BatchStatus
from elevra_pipeline.storage.models import Candidate, CandidateLink, Election, ElectionLink, Upload
from elevra_pipeline.storage.repository import Repository

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SHEETS = ("Summary", "Elections", "Candidates", "Changes", "Needs Re-upload", "Dropped Rows", "Columns", "Model Usage")


CHANGE_WORDS = {
    "new": "added (a new record)",
    "set": "filled in (was empty)",
    "updated": "changed (this upload is newer)",
    "conflict": "NOT changed: the stored value came from this or a newer upload",
}


def safe_cell(value: object) -> object:
    """A leading apostrophe keeps spreadsheet programs from running text as a formula (OWASP)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def link_rows(summary: dict) -> list[list]:
    """The uploads this one replaces or is replaced by (a changed file of the same name, or its result
    workbook sent back): the same words as `status` and the e-mails."""
    rows = []
    for key, label in (("replaces", "Replaces upload"), ("replaced_by", "Replaced by upload")):
        if link := summary.get(key):
            rows.append([label, f"{link['upload_id']} ({link['file']}, {link['how']})"])
    return rows


def _sheet(book: Workbook, title: str, header: list[str], rows: list[list]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    for index, name in enumerate(header, start=1):
        widest = max([len(str(name))] + [len(str(r[index - 1] or "")) for r in rows[:200]])
        sheet.column_dimensions[get_column_letter(index)].width = min(60, widest + 2)
    sheet.freeze_panes = "A2"


def accounting_rows(summary: dict) -> list[list]:
    """Rows read = header rows + candidate rows + rows needing re-upload + dropped rows (+ in progress)."""
    rows = summary.get("rows", {})
    lines = [
        ["Rows read", rows.get("read", 0)],
        ["Header rows", rows.get("header", 0)],
        ["Rows that became candidates", rows.get("candidates", 0)],
        ["Rows needing re-upload", rows.get("needs_reupload", 0)],
        ["Rows dropped (see Dropped Rows)", rows.get("dropped", 0)],
    ]
    if rows.get("in_progress"):
        lines.append(["Rows still in progress", rows["in_progress"]])
    lines += [[f"Warning ({s['name']})", w] for s in summary.get("sheets", []) for w in s.get("warnings", [])]
    if summary.get("options_note"):
        lines.append(["Warning (sidecar)", summary["options_note"]])
    return lines


def build_workbook(repo: Repository, upload: Upload, summary: dict, base_url: str, path: Path) -> Path:
    batches = repo.batches(upload.id)
    elections = repo.rows_by_ids(Election, [e["id"] for e in summary["elections"]])
    candidates = repo.rows_by_ids(Candidate, [c["id"] for c in summary["candidates"]])
    e_links = repo.links_for(ElectionLink, "election_id", [e.id for e in elections])
    c_links = repo.links_for(CandidateLink, "candidate_id", [c.id for c in candidates])
    names = {e.id: e.name for e in elections}
    book = Workbook()
    book.remove(book.active)
    b = summary["batches"]
    _sheet(
        book,
        "Summary",
        ["Item", "Value"],
        [
            ["Upload", upload.original_filename],
            ["Upload id", upload.id],
            ["Status", upload.status],
            *link_rows(upload.summary_json or {}),
            ["Batches", b["total"]],
            ["Batches inserted", b["inserted"]],
            ["Batches needing re-upload", b["needs_reupload"]],
            ["Batches skipped", b["skipped"]],
            ["Elections", len(elections)],
            ["Candidates", len(candidates)],
            ["Model calls", sum(m["calls"] for m in summary["model_usage"].values())],
            ["Sent", summary.get("mode", "online")],
            ["Gemini", EMULATED_NOTE if summary.get("emulated") else "Gemini API"],
            ["Cost (USD)", "unknown" if summary.get("cost_usd") is None else summary["cost_usd"]],
            ["Fallbacks", "; ".join(f"{f['batch']}: {f['note']}" for f in summary["fallbacks"]) or "none"],
            [
                "Cleaned from the model's answers",
                "; ".join(f"{n['batch']}: {n['note']}" for n in summary.get("output_notes", [])) or "nothing",
            ],
            *accounting_rows(summary),
        ],
    )
    _sheet(
        book,
        "Elections",
        ["Election", "Jurisdiction", "Office", "District", "Date", "Type", "Elevra URL", "Links"],
        [
            [
                e.name,
                e.jurisdiction,
                e.office,
                e.district,
                e.election_date,
                e.election_type,
                election_url(base_url, e.slug),
                " ".join(link.url for link in e_links.get(e.id, [])),
            ]
            for e in elections
        ],
    )
    _sheet(
        book,
        "Candidates",
        ["Candidate", "Party", "Election", "Website", "Elevra URL", "Links", "Incumbent"],
        [
            [
                c.name,
                c.party,
                names.get(c.election_id),
                c.website,
                candidate_url(base_url, c.slug),
                " ".join(link.url for link in c_links.get(c.id, [])),
                "yes" if c.incumbent else "",
            ]
            for c in candidates
        ],
    )
    reupload = []
    for batch in batches:
        if batch.status in (BatchStatus.NEEDS_REUPLOAD, BatchStatus.SKIPPED, BatchStatus.CANCELLED):
            for row in batch.rows_json:
                reupload.append(
                    [
                        batch.jurisdiction,
                        batch.office,
                        batch.district,
                        batch.election_date,
                        batch.status,
                        batch.error_reason,
                        batch.admin_note,
                        row.get("candidate_name"),
                        row.get("party"),
                        row.get("website"),
                        f"{row['source']['sheet']}!{row['source'].get('column', '')}{row['source']['row']}",
                    ]
                )
    changes = summary.get("changes", {})
    _sheet(
        book,
        "Changes",
        ["Record", "Type", "Field", "Before", "This upload", "What happened"],
        [
            [c["record"], c["type"], c["field"], c["old"], c["new"], CHANGE_WORDS[c["action"]]]
            for c in changes.get("rows", [])
        ]
        + [[change_line(changes), "", "", "", "", ""]],
    )
    _sheet(
        book,
        "Needs Re-upload",
        [
            "Jurisdiction",
            "Office",
            "District",
            "Election date",
            "Status",
            "Reason",
            "Admin note",
            "Candidate",
            "Party",
            "Website",
            "Original row",
        ],
        reupload,
    )
    _sheet(
        book,
        "Dropped Rows",
        ["Sheet", "Row", "Reason", "Detail"],
        [
            [
                d["sheet"],
                d["row"] if not d.get("last_row") or d["last_row"] == d["row"] else f"{d['row']}-{d['last_row']}",
                d["reason"],
                d.get("detail", ""),
            ]
            for d in summary.get("dropped_rows", [])
        ],
    )
    _sheet(
        book,
        "Columns",
        ["Sheet", "Status", "Header row", "Column", "Role", "Decided by", "Note"],
        [
            [
                sheet["name"],
                sheet["status"],
                sheet["header_row"],
                m["column"],
                m["role"],
                m["decided_by"],
                "; ".join(filter(None, [m.get("why"), sheet["reason"], sheet["mapping_note"]])),
            ]
            for sheet in summary.get("sheets", [])
            for m in (sheet["mapping"] or [{"column": "", "role": "", "decided_by": ""}])
        ],
    )
    _sheet(
        book,
        "Model Usage",
        ["Model", "Calls", "OK", "429s", "Errors", "Fallback calls", "Input tokens", "Output tokens", "Cost (USD)"],
        [
            [
                m,
                u.get("calls", 0),
                u.get("ok", 0),
                u.get("rate_limited", 0),
                u.get("errors", 0),
                u.get("fallback_calls", 0),
                u.get("input_tokens", 0),
                u.get("output_tokens", 0),
                "unknown" if u.get("cost_usd") is None else u["cost_usd"],
            ]
            for m, u in summary["model_usage"].items()
        ],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
