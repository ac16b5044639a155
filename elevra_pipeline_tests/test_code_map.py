"""The code map (docs/code-map.md) stays true: every path it names exists, and every top-level package and
every layer of the import contract is on it."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE_MAP = (ROOT / "docs" / "code-map.md").read_text()
NAMED = sorted(set(re.findall(r"`(elevra_pipeline(?:_tests)?/[\w/.]*)`", CODE_MAP)))


def test_the_map_names_paths():
    assert len(NAMED) > 30


def test_every_path_the_map_names_exists():
    missing = [path for path in NAMED if not (ROOT / path).exists()]
    assert not missing, f"docs/code-map.md names paths that do not exist: {missing}"


def test_every_top_level_package_is_on_the_map():
    package = ROOT / "elevra_pipeline"
    tops = [p.name + "/" for p in package.iterdir() if (p / "__init__.py").exists()]
    tops += [p.name for p in package.glob("*.py") if p.name != "__init__.py"]
    absent = [top for top in sorted(tops) if f"`elevra_pipeline/{top}" not in CODE_MAP]
    assert not absent, f"add these to docs/code-map.md: {absent}"


def test_every_layer_of_the_import_contract_is_on_the_map():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    names = [name.strip() for layer in layers for name in re.split(r"[|:]", layer)]
    absent = [n for n in names if not re.search(rf"`elevra_pipeline/{n}(\.py|/)`", CODE_MAP)]
    assert not absent, f"layers of [tool.importlinter] missing from docs/code-map.md: {absent}"
