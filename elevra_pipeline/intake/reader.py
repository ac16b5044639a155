"""Read `.xlsx` (every sheet) and `.csv` (UTF-8 or Latin-1) into clean, de-duplicated rows."""

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.headers import FIELD_ALIASES, REQUIRED_FIELDS, map_headers

SUPPORTED_SUFFIXES = (".xlsx", ".csv")
CANONICAL_FIELDS = tuple(FIELD_ALIASES)


@dataclass
class ParsedUpload:
    rows: list[dict] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    blank_rows: int = 0
    duplicate_rows: int = 0
    rows_without_candidate: int = 0


def clean_cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = str(value).replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip()


def _read_frames(path: Path) -> dict[str, pd.DataFrame]:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnusableUploadError(
            f"'{path.name}' is not a spreadsheet we can read: upload an .xlsx or .csv file.")
    if path.stat().st_size == 0:
        raise UnusableUploadError(f"'{path.name}' is empty (0 bytes).")
    if suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "latin-1"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        try:
            return {"csv": pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                                       skip_blank_lines=False)}
        except (pd.errors.EmptyDataError, pd.errors.ParserError) as e:
            raise UnusableUploadError(f"'{path.name}' could not be read as CSV: {e}") from e
    try:
        return pd.read_excel(path, sheet_name=None, dtype=str, engine="openpyxl")
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as e:
        raise UnusableUploadError(
            f"'{path.name}' is not a valid Excel workbook (the file looks corrupt or is not .xlsx); "
            "re-save it from Excel or export it as CSV and upload again.") from e


def read_upload(path: Path) -> ParsedUpload:
    parsed = ParsedUpload()
    seen: set[tuple] = set()
    usable_sheets = 0
    missing_report: list[str] = []
    for sheet, frame in _read_frames(path).items():
        mapping = map_headers(list(frame.columns))
        missing = [f for f in REQUIRED_FIELDS if f not in mapping.values()]
        if missing:
            if len(frame.index) or len(frame.columns):
                missing_report.append(f"sheet '{sheet}' has no {' or '.join(m.replace('_', ' ') for m in missing)} column")
            continue
        usable_sheets += 1
        parsed.sheets.append(str(sheet))
        for index, record in enumerate(frame.to_dict("records"), start=2):
            cells = {str(k): clean_cell(v) for k, v in record.items()}
            if not any(cells.values()):
                parsed.blank_rows += 1
                continue
            row = {f: "" for f in CANONICAL_FIELDS}
            row.update({mapping[h]: v for h, v in cells.items() if h in mapping})
            row["extra"] = {h: v for h, v in cells.items() if h not in mapping and v and not h.startswith("Unnamed")}
            if not row["candidate_name"]:
                parsed.rows_without_candidate += 1
                continue
            key = tuple(row[f].casefold() for f in CANONICAL_FIELDS)
            if key in seen:
                parsed.duplicate_rows += 1
                continue
            seen.add(key)
            row["source"] = {"sheet": str(sheet), "row": index}
            parsed.rows.append(row)
    if not usable_sheets:
        detail = "; ".join(missing_report) or "it has no rows"
        raise UnusableUploadError(
            f"'{path.name}' has no sheet with a candidate and an office column ({detail}). "
            "Expected headers such as 'Candidate Name' and 'Office' (or Position/Seat).")
    if not parsed.rows:
        raise UnusableUploadError(f"'{path.name}' has headers but no candidate rows.")
    return parsed
