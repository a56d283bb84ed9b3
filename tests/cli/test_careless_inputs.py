"""Issue 22: inputs that used to pass the preflight, write a file or fail after spending.

Each is refused in one line, exit 2, before anything is written: no file in the working
folder and none in the system temp directory (``TMPDIR`` points at an empty folder).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ("--include", "seq_len", "--fidelity", "0.05", "--repeats", "2")
TINY += ("--baseline-repeats", "2", "--idle-seconds", "0")


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else ""
        for p in folder.rglob("*")
    }


def _refused(cwd: Path, *args: str) -> list[str]:
    """Run the CLI in ``cwd``; assert exit 2, nothing written; return the error lines."""
    tmp = cwd.parent / f"{cwd.name}-tmp"
    tmp.mkdir()
    before = _tree(cwd)
    proc = subprocess.run(
        [sys.executable, "-m", "greensearch", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)},
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert _tree(cwd) == before, "a file was created or changed"
    assert list(tmp.iterdir()) == [], "a file was left in the temp directory"
    return proc.stderr.strip().splitlines()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes\n", encoding="utf-8")
    (folder / "adir").mkdir()
    (folder / "pool.toml").write_text(
        'name = "pool"\n[model_config]\nclassifier_pooling = "bogus"\n', encoding="utf-8"
    )
    (folder / "seed.toml").write_text('name = "s"\nseed = -3\n', encoding="utf-8")
    (folder / "two.csv").write_text("text,label\nhello,a\nbye,b\n", encoding="utf-8")
    (folder / "two.toml").write_text(
        'name = "two"\ndataset = "two.csv"\ntext_column = "text"\nlabel_column = "label"\n',
        encoding="utf-8",
    )
    return folder


E = "greensearch: error: "


@pytest.mark.parametrize(
    ("args", "lines"),
    [
        (
            ("optimize", "--study", "pool.toml", *TINY),
            [
                f"{E}[model_config] of study 'pool.toml' is refused by ModernBertConfig: "
                "Field 'classifier_pooling' expected one of ('cls', 'mean'), got bogus"
            ],
        ),
        (
            ("optimize", *TINY, "--idle-seconds", "-5"),
            [f"{E}--idle-seconds must be a number of seconds, 0 or more, got -5"],
        ),
        (
            ("optimize", *TINY, "--idle-seconds", "nan"),
            [f"{E}--idle-seconds must be a number of seconds, 0 or more, got nan"],
        ),
        (
            ("run", "--idle-seconds", "nan"),
            [f"{E}--idle-seconds must be a number of seconds, 0 or more, got nan"],
        ),
        (
            ("optimize", *TINY, "--include", "seq_lenn"),
            [f"{E}unknown knob 'seq_lenn'; did you mean seq_len? `greensearch knobs` lists them"],
        ),
        (
            ("optimize", *TINY, "--storage", "journal:notes.txt"),
            [
                f"{E}--storage file 'notes.txt' is not an Optuna journal; it is left "
                "untouched. Give a new file name or the storage `greensearch optimize` made"
            ],
        ),
        (
            ("optimize", *TINY, "--storage", "journal:"),
            [f"{E}--storage 'journal:' names no file; use journal:FILE"],
        ),
        (
            ("optimize", *TINY, "--storage", "sqlite:///:memory:"),
            [
                f"{E}--storage 'sqlite:///:memory:' keeps the study in memory: it is lost at "
                "exit and cannot be resumed or reported; use sqlite:///FILE.db"
            ],
        ),
        (
            ("optimize", "--study", "adir", *TINY),
            [f"{E}--study 'adir' is a folder; pass a study TOML file in it"],
        ),
        (
            ("check", "--csv", "adir", "--knobs", "precision=bf16"),
            [f"{E}--csv 'adir' is a folder; pass a CSV file such as paper_table.csv"],
        ),
        (
            ("check", "--knobs", "bogus,precision=fp64,seq_len=abc"),
            [
                f"{E}unknown knob 'bogus'; `greensearch knobs` lists them",
                f"{E}knob 'precision': dtype must be one of fp16|bf16, got 'fp64'",
                f"{E}knob 'seq_len': tokens must be int, got 'abc'",
            ],
        ),
        (
            ("optimize", "--study", "seed.toml", *TINY),
            [f"{E}'seed' in study 'seed.toml' must be in 0..4294967295, got -3"],
        ),
        (
            ("optimize", *TINY, "--exclude", "seq_len"),
            [f"{E}--exclude removes every knob --include names (seq_len); drop one of the two"],
        ),
        (
            ("optimize", "--fidelity", "x"),
            [
                "usage: greensearch optimize [options] (--help lists them)",
                "greensearch optimize: error: argument --fidelity: invalid float value: 'x'",
            ],
        ),
        (
            ("optimize", "--bogus"),
            [
                "usage: greensearch optimize [options] (--help lists them)",
                "greensearch optimize: error: unrecognized arguments: --bogus",
            ],
        ),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_a_careless_input_is_one_line_exit_2_and_writes_nothing(work, args, lines):
    got = [line for line in _refused(work, *args) if not line.startswith(("WARNING", "INFO"))]
    assert got == lines


def test_a_repeated_include_keeps_and_checks_every_one(work):
    lines = _refused(work, "optimize", *TINY, "--include", "bogus_one", "--include", "bogus_two")
    assert lines == [
        f"{E}unknown knob 'bogus_one'; `greensearch knobs` lists them",
        f"{E}unknown knob 'bogus_two'; `greensearch knobs` lists them",
    ]


def test_a_two_row_file_is_too_few_rows_to_split(work):
    assert _refused(work, "optimize", "--study", "two.toml", *TINY) == [
        f"{E}dataset '{work / 'two.csv'}' has 2 rows: too few to split into train, validation "
        "and test with two classes in each (split 'validation' has 0 rows); add rows"
    ]


def test_every_help_shows_defaults_and_its_examples_parse_as_printed():
    import shlex

    from greensearch.cli import build_parser

    parser = build_parser()
    examples = 0
    for name, sub in parser.commands.items():
        for action in sub._actions:
            takes_value = action.option_strings and action.nargs != 0 and action.dest != "help"
            if takes_value and not action.required:
                assert "default" in (action.help or ""), f"{name} {action.option_strings[0]}"
        text = sub.format_help()
        assert "%%" not in text, name
        for line in text.splitlines():
            if line.startswith("  greensearch "):
                args = parser.parse_args(shlex.split(line)[1:])  # exits 2 if it does not parse
                assert args.command == name
                examples += 1
    assert examples >= 7
