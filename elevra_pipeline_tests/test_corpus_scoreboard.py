"""The real-list corpus (fixtures/real, CORPUS.md): every file has its source and an independent
expected-values script, the scoreboard can tell a wrong answer, and a file that was right on the last
recorded scoreboard (fixtures/real/right_on_the_scoreboard.txt) is still right."""

from pathlib import Path

import pytest

from elevra_pipeline.bench.corpus import corpus_files, score_file

REAL = Path(__file__).parent / "fixtures" / "real"
RIGHT = [line.split()[0] for line in (REAL / "right_on_the_scoreboard.txt").read_text().splitlines() if line.strip()]
RIGHT = [name for name in RIGHT if not name.startswith("#")]


@pytest.mark.parametrize("name", RIGHT)
def test_a_file_right_on_the_last_scoreboard_is_still_right(name):
    score = score_file(REAL / name, REAL / "expected" / f"{Path(name).stem}.py")
    assert score.right, score.error or score.wrong()


def test_the_corpus_holds_forty_real_files_from_twenty_states_each_with_its_source_and_script():
    files = corpus_files(REAL)
    sources = " ".join(p.read_text() for p in REAL.glob("*.md"))
    states = {path.name.split("_")[1] for path, _ in files if path.name[1] == "_"}
    assert len(files) >= 40 and len(states | {"nc", "pa"}) >= 20
    assert [path.name for path, _ in files if path.name not in sources] == []
    for _, script in files:  # written without the pipeline
        assert "elevra_pipeline" not in script.read_text(), script.name


@pytest.mark.parametrize(
    "lie",
    ['want["candidacies"][0]["name"] += " Junior"', 'want["candidacies"][0]["party"] = "Green"',
     'want["candidacies"][0]["date"] = "2015-05-20"',
     'want["candidacies"][0]["contest"] = want["candidacies"][-1]["contest"]',
     'want["not_candidates"] = 1'],
)  # fmt: skip
def test_the_scoreboard_tells_a_wrong_answer(tmp_path, lie):
    """A script that says what the file does not (another name, party, date, contest, a dropped line)
    makes the file wrong on the scoreboard: the scoreboard can fail."""
    name = "philadelphia_candidates_2015_primary.csv"
    (tmp_path / name).write_bytes((REAL / name).read_bytes())
    (tmp_path / "expected").mkdir()
    script = tmp_path / "expected" / f"{Path(name).stem}.py"
    script.write_text(
        (REAL / "expected" / script.name).read_text()
        + f"\n\n_right = expected\n\n\ndef expected():\n    want = _right()\n    {lie}\n    return want\n"
    )
    assert score_file(REAL / name, REAL / "expected" / script.name).right
    assert not score_file(tmp_path / name, script).right
