"""Small upload files built to take gigabytes when read: the hostile-intake benchmark and its tests.

Each workbook is written part by part straight into the zip (openpyxl would take the memory the bomb
is about), and each holds a real three-row candidate list on its first sheet, so a file that no
limit stops is read to the end and accepted.
"""

import zipfile
from collections.abc import Iterable
from pathlib import Path

from openpyxl.utils import get_column_letter

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument"
LIST = [["Office", "Candidate"], ["Mayor", "Ann Lee"], ["Mayor", "Bo Chan"]]


def cell(column: int, row: int, text: str) -> str:
    return f'<c r="{get_column_letter(column)}{row}" t="inlineStr"><is><t>{text}</t></is></c>'


def candidate_rows() -> str:
    return "".join(
        f'<row r="{r}">' + "".join(cell(c, r, v) for c, v in enumerate(values, 1)) + "</row>"
        for r, values in enumerate(LIST, 1)
    )


def _write(archive: zipfile.ZipFile, name: str, chunks: Iterable[str]) -> None:
    with archive.open(name, "w", force_zip64=True) as part:
        buffer: list[str] = []
        size = 0
        for chunk in chunks:
            buffer.append(chunk)
            size += len(chunk)
            if size >= 1 << 20:
                part.write("".join(buffer).encode())
                buffer, size = [], 0
        part.write("".join(buffer).encode())


def write_workbook(
    path: Path, sheets: list[Iterable[str]], strings: Iterable[str] | None = None, styles: Iterable[str] = ()
) -> Path:
    """A bare .xlsx: each sheet as chunks of worksheet XML (dimension, sheetData, mergeCells), and
    optionally a shared string table as chunks of `<si>` items and a styles part's chunks."""
    names = [f"sheet{i}" for i in range(1, len(sheets) + 1)]
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/{n}.xml" ContentType="{_TYPE}.spreadsheetml.worksheet+xml"/>'
        for n in names
    )
    if strings is not None:
        overrides += (
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_TYPE}.spreadsheetml.sharedStrings+xml"/>'
        )
    rels = "".join(
        f'<Relationship Id="r{i}" Type="{_REL}/worksheet" Target="worksheets/{n}.xml"/>' for i, n in enumerate(names, 1)
    )
    if strings is not None:
        rels += f'<Relationship Id="s1" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}</Types>",
        )
        archive.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="w" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        sheet_list = "".join(f'<sheet name="S{i}" sheetId="{i}" r:id="r{i}"/>' for i in range(1, len(sheets) + 1))
        archive.writestr(
            "xl/workbook.xml", f'<workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets>{sheet_list}</sheets></workbook>'
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>',
        )
        for name, chunks in zip(names, sheets):
            _write(archive, f"xl/worksheets/{name}.xml", [f'<worksheet xmlns="{_NS}">', *chunks, "</worksheet>"])
        if strings is not None:
            _write(archive, "xl/sharedStrings.xml", [f'<sst xmlns="{_NS}">', *strings, "</sst>"])
        if styles:
            _write(archive, "xl/styles.xml", [f'<styleSheet xmlns="{_NS}">', *styles, "</styleSheet>"])
    return path


def _sheet(rows: Iterable[str], dimension: str = "", merged: str = "") -> list:
    return [
        f'<dimension ref="{dimension}"/>' if dimension else "",
        "<sheetData>",
        candidate_rows(),
        *rows,
        "</sheetData>",
        f'<mergeCells><mergeCell ref="{merged}"/></mergeCells>' if merged else "",
    ]


def _far_rows(rows: int, column: int) -> Iterable[str]:
    return (f'<row r="{r}">{cell(column, r, "x")}</row>' for r in range(len(LIST) + 1, rows + 1))


def many_sheets(path: Path, sheets: int = 500, row: int = 249_999) -> Path:
    """Many sheets, each with one value far down and no dimension: every skipped row is a blank row."""
    return write_workbook(path, [_sheet([f'<row r="{row}">{cell(1, row, "x")}</row>']) for _ in range(sheets)])


def far_column(path: Path, sheets: int = 2, rows: int = 250_000, column: int = 999) -> Path:
    """Rows with one value far to the right: each row is as wide as its last value."""
    return write_workbook(path, [_sheet(_far_rows(rows, column)) for _ in range(sheets)])


def false_dimension(path: Path, rows: int = 300_000, column: int = 999, dimension: str = "A1:D3") -> Path:
    """A sheet that declares a tiny size and then holds far more."""
    return write_workbook(path, [_sheet(_far_rows(rows, column), dimension=dimension)])


def shared_strings(path: Path, count: int = 22_000_000) -> Path:
    """A shared string table of millions of one-letter strings that no cell uses."""
    return write_workbook(path, [_sheet([])], strings=("<si><t>x</t></si>" for _ in range(count)))


def merged_range(path: Path, row: int = 250_000, columns: int = 1_000) -> Path:
    """One merged range over the whole sheet: its top-left value belongs to every cell it covers."""
    ref = f"A1:{get_column_letter(columns)}{row}"
    return write_workbook(path, [_sheet([f'<row r="{row}">{cell(1, row, "x")}</row>'], merged=ref)])


def styles(path: Path, count: int = 4_000_000) -> Path:
    """A styles part of millions of cell formats (Excel allows 64,000): openpyxl reads it whole."""
    xf = '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    return write_workbook(path, [_sheet([])], styles=["<cellXfs>", *(xf for _ in range(count)), "</cellXfs>"])


def wide_row(path: Path, cells: int = 10_000_000) -> Path:
    """One row of millions of empty cells: a parser holds the whole row before it hands it over."""
    return write_workbook(path, [_sheet(['<row r="4">', *("<c/>" for _ in range(cells)), "</row>"])])


def long_text(path: Path, chars: int = 300_000_000) -> Path:
    """One cell holding hundreds of megabytes of text (Excel caps a cell at 32,767 characters)."""
    text = "x" * (1 << 20)
    chunks = ['<row r="4"><c r="A4" t="inlineStr"><is><t>', *(text for _ in range(chars >> 20)), "</t></is></c></row>"]
    return write_workbook(path, [_sheet(chunks)])


def csv_cells(path: Path, rows: int = 250_000, columns: int = 96) -> Path:
    """A plain CSV of millions of one-letter cells."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("Office,Candidate" + ",x" * (columns - 2) + "\n")
        line = ",".join(["Mayor", "Ann Lee"] + ["x"] * (columns - 2)) + "\n"
        for _ in range(rows - 1):
            handle.write(line)
    return path


def long_cells(path: Path, rows: int = 3, chars: int = 120_000) -> Path:
    """A CSV whose candidates' names are each 120,000 characters: before the cell limit, its one race made
    four model calls of some 90,000 tokens each."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("Office,Candidate,Date\n")
        for row in range(rows):
            handle.write(f"Mayor,{chr(65 + row) * chars},2026-11-03\n")
    return path


def long_cell_xlsx(path: Path, chars: int = 30_000) -> Path:
    """A workbook with one candidate name of 30,000 characters (under Excel's 32,767 a cell)."""
    return write_workbook(path, [_sheet([f'<row r="4">{cell(1, 4, "Mayor")}{cell(2, 4, "B" * chars)}</row>'])])


def long_race(path: Path, rows: int = 80, chars: int = 1_900) -> Path:
    """One race whose every cell is under the cell limit, but whose rows (each with a 1,900-character note)
    would make a model prompt above the token budget for one call."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("Office,Jurisdiction,Candidate,Date,Notes\n")
        for row in range(rows):
            handle.write(f"Mayor,Springfield,Candidate {row},2026-11-03,{'note ' * (chars // 5)}\n")
    return path
