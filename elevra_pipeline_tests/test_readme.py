"""The README's and the manual's commands are real: every `elevra-pipeline` command in a code block
parses with the CLI's own parser, every `make` target the README names is in the Makefile, and every
relative link (and its heading, if it names one) points to something that exists."""

import contextlib
import io
import re
import shlex
import unicodedata
from pathlib import Path

from elevra_pipeline.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
MANUAL = [README, *DOCS]

ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S*\s+")
COMMAND = re.compile(r"^(?:\.venv/bin/)?elevra-pipeline\s+(.*)$")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")  # links and images
INLINE_CODE = re.compile(r"`([^`\n]+)`")
MAKE = re.compile(r"(?:^|[\s;&|(`])make\s+([A-Za-z0-9_][\w.-]*)")


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def code_blocks(path: Path) -> list[tuple[int, str]]:
    """(line number, line) of every line inside a fenced code block, continuation lines joined."""
    lines, inside, pending, start = [], False, "", 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.lstrip().startswith("```"):
            inside, pending = not inside, ""
            continue
        if not inside:
            continue
        if pending:
            line = pending + " " + line.strip()
        else:
            start = number
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1].rstrip()
            continue
        pending = ""
        lines.append((start, line))
    return lines


def prose(path: Path) -> str:
    """The file without its fenced code blocks."""
    kept, inside = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            inside = not inside
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def cli_commands() -> list[tuple[str, str]]:
    """(where, arguments) of every `elevra-pipeline …` line of a code block in the README and docs/."""
    found = []
    for path in MANUAL:
        for number, line in code_blocks(path):
            text = line.strip()
            if text.startswith("$ "):
                text = text[2:].lstrip()
            while match := ENV_ASSIGNMENT.match(text):
                text = text[match.end() :]
            if command := COMMAND.match(text):
                found.append((f"{_name(path)}:{number}: {line.strip()}", command.group(1)))
    return found


COMMANDS = cli_commands()


def test_the_manual_shows_commands():
    assert len(COMMANDS) >= 20, COMMANDS
    assert {"process", "retry", "status", "emulator", "bench"} <= {a.split()[0] for _, a in COMMANDS}


def bad_command(arguments: str) -> str | None:
    """Why argparse refuses these arguments, or None when they parse."""
    try:
        words = shlex.split(arguments, comments=True)
    except ValueError as e:  # e.g. an unclosed quote
        return f"cannot be split into arguments: {e}"
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(words)
    except SystemExit as e:  # argparse's way to refuse; `--help` exits 0 and is a real command
        return f"exit {e.code}: {errors.getvalue().strip()}" if e.code else None
    return None


def test_every_command_parses():
    """One test for all of them (each test here pays a garbage collection): it names every bad line."""
    bad = [f"{where}\n    {why}" for where, arguments in COMMANDS if (why := bad_command(arguments))]
    assert not bad, "commands in the manual that the CLI refuses:\n" + "\n".join(bad)


def test_a_wrong_command_is_caught():
    assert bad_command("retry ID --election-date 2026-11-03").startswith("exit 2: usage:")
    assert "argument upload_id: invalid int value" in bad_command("retry ID")
    assert bad_command("process FILE --no-such-option")
    assert bad_command("status --json 'unclosed") == "cannot be split into arguments: No closing quotation"
    assert bad_command("process FILE --election-date 2026-11-03  # a comment's apostrophe") is None
    assert bad_command("retry --help") is None


def _makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(r"^([A-Za-z0-9_][\w.-]*)\s*:(?!=)", text, re.MULTILINE)}


def make_targets_named(path: Path) -> set[tuple[str, str]]:
    """(target, where) of every `make X` in a code block or an inline code span (not prose: "make sure")."""
    code = [line for _, line in code_blocks(path)] + INLINE_CODE.findall(prose(path))
    return {(m.group(1), f"{_name(path)}: {snippet.strip()}") for snippet in code for m in MAKE.finditer(snippet)}


def test_every_make_target_in_the_readme_exists():
    targets = _makefile_targets()
    assert {"run", "test"} <= {target for target, _ in make_targets_named(README)}
    named = set().union(*(make_targets_named(path) for path in MANUAL))
    missing = sorted(f"make {target} ({where})" for target, where in named if target not in targets)
    assert not missing, f"the manual names make targets the Makefile lacks: {missing}"
    assert _makefile_targets() >= {"setup", "run", "test", "bench", "sample", "clean"}


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation (but - and _) removed, spaces to -."""
    text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    text = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for line in prose(path).splitlines():
        if match := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line):
            slug = github_anchor(match.group(1))
            result.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
            seen[slug] = seen.get(slug, 0) + 1
    return result


def relative_links() -> list[tuple[str, Path, str, str]]:
    """(where, target file, anchor, link) of every relative link in the README and docs/."""
    found = []
    for path in MANUAL:
        text = INLINE_CODE.sub("", prose(path))
        for link in LINK.findall(text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", link, re.IGNORECASE):
                continue  # http:, https:, mailto: …
            file_part, _, anchor = link.partition("#")
            target = (path.parent / file_part).resolve() if file_part else path
            found.append((f"{_name(path)}: ({link})", target, anchor, link))
    return found


LINKS = relative_links()


def test_the_manual_links_its_parts():
    linked = {target for _, target, _, _ in LINKS}
    assert set(DOCS) <= linked, sorted(_name(d) for d in set(DOCS) - linked)


def test_every_relative_link_points_to_something():
    headings = {target: anchors(target) for _, target, _, _ in LINKS if target.suffix == ".md" and target.exists()}
    bad = [
        f"{where}: no such file {target}"
        if not target.exists()
        else f"{where}: {_name(target)} has no heading #{anchor}"
        for where, target, anchor, _ in LINKS
        if not target.exists() or (anchor and target.suffix == ".md" and anchor not in headings[target])
    ]
    assert not bad, "broken links in the manual:\n" + "\n".join(bad)


def test_anchors_are_githubs():
    assert github_anchor("Concurrency limits (`dagster.yaml`)") == "concurrency-limits-dagsteryaml"
    assert github_anchor("The model's answers are checked against the rows") == (
        "the-models-answers-are-checked-against-the-rows"
    )
    assert github_anchor("Uploader e-mail and settings: the sidecar convention") == (
        "uploader-e-mail-and-settings-the-sidecar-convention"
    )


def test_each_manual_page_says_what_it_is_and_for_whom():
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("# ") and not lines[0].startswith("## "), f"{_name(path)}: no one-line title"
        assert re.search(r"\bfor\b", " ".join(lines[1:6]), re.IGNORECASE), (
            f"{_name(path)}: no sentence saying who it is for"
        )


def test_the_readme_is_a_front_door():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < 250, f"README.md has {len(lines)} lines; move detail into docs/"
