"""What a workbook holds, measured in its zip parts before openpyxl reads any of them.

`load_workbook` reads some parts whole even in read-only mode (the manifest, the workbook, the
styles, the relationships, the whole shared-string table), and parses all of a sheet that states no
size to look for one; 200 KB of zip can hold ten million elements. So each part is measured first,
keeping nothing: the parts read whole by size and element count, the shared strings through expat,
and each sheet by its rows and by the elements one row (or one block after the rows) holds.
"""

import re
import zipfile
from pathlib import Path
from xml.parsers import expat

from openpyxl.packaging.manifest import Manifest
from openpyxl.reader.excel import _find_workbook_part
from openpyxl.reader.workbook import WorkbookParser
from openpyxl.xml import constants as xl
from openpyxl.xml.functions import fromstring

from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.limits import IntakeLimits, check_dimensions

MAX_PART_BYTES = 50 * 1024 * 1024  # a part read whole (a real styles part is under 10 MB)
MAX_PART_ELEMENTS = 250_000  # in a part read whole: Excel itself allows 64,000 cell formats
MAX_HELD_ELEMENTS = 100_000  # in one row or one block of a sheet: a row has at most 16,384 cells
MAX_STRING_PARTS = 10_000  # elements of one shared string (its formatting runs)
MAX_TEXT = 1 << 20  # characters (bytes in a sheet) of one text: Excel caps a cell at 32,767 characters
ELEMENTS_PER_CELL = 5  # `<c><v>` is 2, an inline string 3, a formula with its value 3
_SHEET = re.compile(rb"<(?:[\w.-]+:)?sheet[\s/>]")
_ROW = re.compile(rb"<(?:[\w.-]+:)?row[\s/>]")
_STRING = f"{xl.SHEET_MAIN_NS} si"
_ADVICE = "open it in Excel and save it as a new workbook (or export the list as CSV), and upload that"


def _elements(data: bytes) -> int:
    return data.count(b"<") - data.count(b"</")


def _refuse(path: Path, what: str):
    raise UnusableUploadError(f"'{path.name}' {what}, not what a spreadsheet program writes: {_ADVICE}.")


def _read_whole(path: Path, archive: zipfile.ZipFile, part: str) -> bytes:
    too_large = archive.getinfo(part).file_size > MAX_PART_BYTES
    data = b"" if too_large else archive.read(part)
    if too_large or _elements(data) > MAX_PART_ELEMENTS:
        _refuse(path, f"has a part '{part}' far larger than any spreadsheet's")
    return data


def count_shared_strings(path: Path, archive: zipfile.ZipFile, part: str, limits: IntakeLimits) -> None:
    """Strings (and any other element openpyxl would keep beside them), the pieces of one, characters."""
    count = depth = inside = pieces = chars = one = 0

    def refuse(what: str):
        raise UnusableUploadError(
            f"'{path.name}' carries {what} in its table of texts (Excel's shared strings), far more than a "
            f"candidate list uses: {_ADVICE}."
        )

    def start(name, attributes):
        nonlocal count, depth, inside, pieces, one
        depth += 1
        if inside:
            pieces += 1
            if pieces > MAX_STRING_PARTS:
                refuse(f"one text made of more than {MAX_STRING_PARTS:,} pieces")
        elif depth > 1:  # openpyxl keeps each string, and all of any other element under the table
            count += 1
            inside, pieces, one = (depth if name == _STRING else 0), 0, 0
            if count > limits.max_shared_strings:
                refuse(f"more than {limits.max_shared_strings:,} texts")

    def end(name):
        nonlocal depth, inside
        inside = 0 if depth == inside else inside
        depth -= 1

    def text(data):
        nonlocal chars, one
        chars, one = chars + len(data), one + len(data)
        if one > MAX_TEXT:
            refuse(f"one text of more than {MAX_TEXT:,} characters")
        if chars > limits.max_text_chars:
            refuse(f"more than {limits.max_text_chars:,} characters")

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    with archive.open(part) as source:
        while chunk := source.read(1 << 20):
            parser.Parse(chunk, False)
    parser.Parse(b"", True)


def scan_sheet(path: Path, archive: zipfile.ZipFile, part: str, sheet: str, limits: IntakeLimits) -> int:
    """Rows, and the elements one row (or one block after the rows) holds, counted on the raw bytes
    (no parse: fast); returns the sheet's elements."""
    rows = held = total = 0
    carry = b""
    with archive.open(part) as source:
        while chunk := source.read(1 << 20):
            if len(chunk) == 1 << 20 and b"<" not in chunk:
                _refuse(path, f"has, in sheet '{sheet}', a text of more than {MAX_TEXT:,} bytes in one place")
            data = carry + chunk
            cut = data.rfind(b"<")  # a tag cut by the chunk's end is counted with the next chunk
            data, carry = (data[:cut], data[cut:]) if cut > 0 else (data, b"")
            bounds = [0, *(m.start() for m in _ROW.finditer(data)), len(data)]
            rows += len(bounds) - 2
            for i in range(len(bounds) - 1):  # the first stretch goes on with the row before
                found = data.count(b"<", bounds[i], bounds[i + 1]) - data.count(b"</", bounds[i], bounds[i + 1])
                held, total = (held if i == 0 else 0) + found, total + found
                if held > MAX_HELD_ELEMENTS:
                    _refuse(
                        path,
                        f"has, in sheet '{sheet}', a row or block of more than {MAX_HELD_ELEMENTS:,} XML elements "
                        "(a spreadsheet row has at most 16,384 cells)",
                    )
            if rows > limits.max_rows:
                check_dimensions(path, sheet, rows, 0, limits)
    return total + _elements(carry)


def _sheet_parts(path: Path, archive: zipfile.ZipFile, manifest: Manifest, limits: IntakeLimits) -> list:
    """(sheet name, part) of each worksheet, once every part openpyxl reads whole is measured."""
    book = _find_workbook_part(manifest).PartName[1:]
    names = set(archive.namelist())
    whole = {book, xl.ARC_STYLE, xl.ARC_CORE, xl.ARC_CUSTOM, xl.ARC_THEME} | {n for n in names if n.endswith(".rels")}
    if any(n.startswith("xl/chartsheets/") for n in names):  # read with their drawings and charts
        whole |= {n for n in names if n.startswith(("xl/chartsheets/", "xl/drawings/", "xl/charts/"))}
    for part in sorted(whole & names):
        _read_whole(path, archive, part)
    if len(_SHEET.findall(archive.read(book))) > limits.max_sheets:
        raise UnusableUploadError(
            f"'{path.name}' has more than {limits.max_sheets} sheets, far more than a candidate list: keep "
            "only the sheets with candidates (or split the workbook into several files) and upload it again."
        )
    parser = WorkbookParser(archive, book, keep_links=False)
    parser.parse()
    return [(s.name, r.target) for s, r in parser.find_sheets() if r.target in names and "worksheet" in r.Type]


def check_parts(path: Path, archive: zipfile.ZipFile, limits: IntakeLimits) -> None:
    """Every part measured against the limits; raises UnusableUploadError for the first one over."""
    manifest = Manifest.from_tree(fromstring(_read_whole(path, archive, xl.ARC_CONTENT_TYPES)))
    sheets = _sheet_parts(path, archive, manifest, limits)
    strings = manifest.find(xl.SHARED_STRINGS)
    if strings is not None:
        count_shared_strings(path, archive, strings.PartName[1:], limits)
    elements = sum(scan_sheet(path, archive, part, name, limits) for name, part in sheets)
    if elements > ELEMENTS_PER_CELL * limits.max_cells:
        raise UnusableUploadError(
            f"'{path.name}' holds more than {limits.max_cells:,} cells, far more than a candidate list: "
            "remove the sheets that are not candidate lists (or split the file) and upload it again."
        )
