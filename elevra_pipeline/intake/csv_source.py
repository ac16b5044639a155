"""CSV uploads: detect the encoding and the delimiter, then read every record as a row.

The file is streamed, never decoded whole: one pass checks the encoding, the next reads records,
each counted against the same cell and text limits as a workbook's before it is kept; a line longer
than any real record is refused before it is read whole.
"""

import codecs
import csv
from collections import Counter
from pathlib import Path

from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.limits import CellBudget, IntakeLimits, check_dimensions
from elevra_pipeline.intake.sheets import RawSheet, SparseRows, clean_value

DELIMITERS = (",", ";", "\t", "|")
NO_DELIMITER = "\x1f"  # a text report whose lines no delimiter splits: each line is one cell
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
CHUNK = 1 << 20
MAX_LINE_CHARS = 1_000_000  # 1,000 columns of 1,000 characters


def _looks_like_utf16_without_bom(raw: bytes) -> str | None:
    sample = raw[:4000]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > len(sample) * 0.4:
        return "utf-16-le"
    if even > len(sample) * 0.4:
        return "utf-16-be"
    return None


def _decodes(path: Path, encoding: str) -> str | None:
    """The first 20,000 characters when the whole file decodes as `encoding`, else None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    head = ""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                text = decoder.decode(chunk)
                head = head or text[:20000]
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return head


def detect_encoding(path: Path) -> str:
    """UTF-8 (BOM or not), UTF-16 (BOM, or plainly interleaved), else Windows-1252 / Latin-1."""
    with path.open("rb") as handle:
        start = handle.read(4000)
    candidates = [enc for bom, enc in _BOMS if start.startswith(bom)]
    candidates += [enc for enc in [_looks_like_utf16_without_bom(start)] if enc]
    candidates += ["utf-8", "cp1252", "latin-1"]
    for encoding in dict.fromkeys(candidates):
        head = _decodes(path, encoding)
        if head is None:
            continue
        controls = sum(ch < " " and ch not in "\t\r\n" for ch in head)
        if controls > max(2, len(head) // 100):
            break  # decodes, but as binary noise
        return encoding
    raise UnusableUploadError(
        f"'{path.name}' could not be decoded as text (it looks like binary data, not a CSV): "
        "export the sheet from your spreadsheet program as 'CSV UTF-8' and upload it again."
    )


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number (> 1) of fields most often; none
    when most lines are one field whatever the delimiter (a printed report saved as text: a comma in
    'MAY 15, 2018' is no column)."""
    lines = text[:65536].splitlines()[:50]
    best, best_score = ",", 0.0
    for delimiter in DELIMITERS:
        widths = [len(r) for r in csv.reader(lines, delimiter=delimiter) if any(c.strip() for c in r)]
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        score = (count / len(widths)) * (width > 1) + min(width, 50) / 1000
        if score > best_score:
            best, best_score = delimiter, score
    return best if best_score >= 0.1 else NO_DELIMITER


def _lines(path: Path, handle):
    while line := handle.readline(MAX_LINE_CHARS + 1):
        if len(line) > MAX_LINE_CHARS:
            raise UnusableUploadError(
                f"'{path.name}' has a line of more than {MAX_LINE_CHARS:,} characters, not a row of a candidate "
                "list: export the sheet from your spreadsheet program as CSV and upload it again."
            )
        yield line


def read_csv(path: Path, limits: IntakeLimits) -> tuple[RawSheet, dict]:
    encoding = detect_encoding(path)
    rows, budget = SparseRows(), CellBudget(path, limits)
    with path.open(encoding=encoding, newline="") as handle:
        delimiter = sniff_delimiter(handle.read(65536))
        handle.seek(0)
        try:
            for index, record in enumerate(csv.reader(_lines(path, handle), delimiter=delimiter)):
                if index >= limits.max_rows or len(record) > limits.max_columns:
                    check_dimensions(path, "csv", index + 1, len(record), limits)
                row = [clean_value(c) for c in record]
                budget.spend(max(len(row), 1), sum(map(len, row)), row=index + 1)
                if row and max(map(len, row)) > limits.max_cell_chars:
                    column = max(range(len(row)), key=lambda c: len(row[c]))
                    budget.check_cell(row[column], index + 1, column + 1)
                rows.put(index, row)
        except csv.Error as e:
            raise UnusableUploadError(f"'{path.name}' could not be read as CSV at record {len(rows) + 1}: {e}") from e
    source = {"encoding": encoding, "delimiter": {"\t": "tab", NO_DELIMITER: "none"}.get(delimiter, delimiter)}
    return RawSheet(name="csv", rows=rows), source
