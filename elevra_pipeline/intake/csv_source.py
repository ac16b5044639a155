"""CSV uploads: detect the encoding and the delimiter, then read every record as a row."""

import codecs
import csv
import io
from collections import Counter
from pathlib import Path

from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.limits import IntakeLimits, check_dimensions
from elevra_pipeline.intake.sheets import RawSheet, clean_value

DELIMITERS = (",", ";", "\t", "|")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _looks_like_utf16_without_bom(raw: bytes) -> str | None:
    sample = raw[:4000]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > len(sample) * 0.4:
        return "utf-16-le"
    if even > len(sample) * 0.4:
        return "utf-16-be"
    return None


def decode(raw: bytes, name: str) -> tuple[str, str]:
    """(text, encoding): UTF-8 (BOM or not), UTF-16 (BOM, or plainly interleaved), else Windows-1252 / Latin-1."""
    candidates = [enc for bom, enc in _BOMS if raw.startswith(bom)]
    candidates += [enc for enc in [_looks_like_utf16_without_bom(raw)] if enc]
    candidates += ["utf-8", "cp1252", "latin-1"]
    for encoding in dict.fromkeys(candidates):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(ch < " " and ch not in "\t\r\n" for ch in text[:20000])
        if controls > max(2, len(text[:20000]) // 100):
            break  # decodes, but as binary noise
        return text, encoding
    raise UnusableUploadError(
        f"'{name}' could not be decoded as text (it looks like binary data, not a CSV): "
        "export the sheet from your spreadsheet program as 'CSV UTF-8' and upload it again."
    )


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number (> 1) of fields most often."""
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
    return best


def read_csv(path: Path, limits: IntakeLimits) -> tuple[RawSheet, dict]:
    text, encoding = decode(path.read_bytes(), path.name)
    delimiter = sniff_delimiter(text)
    rows: list[list[str]] = []
    try:
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            rows.append([clean_value(c) for c in record])
            if len(rows) > limits.max_rows or len(record) > limits.max_columns:
                check_dimensions(path, "csv", len(rows), len(record), limits)
    except csv.Error as e:
        raise UnusableUploadError(f"'{path.name}' could not be read as CSV at record {len(rows) + 1}: {e}") from e
    return RawSheet(name="csv", rows=rows), {"encoding": encoding, "delimiter": {"\t": "tab"}.get(delimiter, delimiter)}
