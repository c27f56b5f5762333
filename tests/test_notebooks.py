"""The learning path's notebooks are committed clean: no outputs, no execution counts.

They are run top to bottom in CI by the documentation build (myst-nb executes each one
and fails on an error); locally, ``pytest --nbmake docs/notebooks`` runs them (the
``notebooks`` extra). These tests read them as JSON and need nothing installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import ROOT

# Not built copies (docs/_build, with outputs) nor virtual environments' files.
SKIPPED_FOLDERS = {"_build", "jupyter_execute", ".ipynb_checkpoints", "node_modules"}
NOTEBOOKS = sorted(
    path
    for path in ROOT.rglob("*.ipynb")
    if not SKIPPED_FOLDERS & set(path.relative_to(ROOT).parts)
    and not path.relative_to(ROOT).parts[0].startswith(".")
)
LEARNING_PATH = ROOT / "docs" / "notebooks"


def test_the_learning_path_has_its_six_notebooks_in_the_problem_sets_order() -> None:
    assert sorted(path.stem for path in LEARNING_PATH.glob("*.ipynb")) == [
        "01_svm_questions",
        "02_flat_backprop_svm",
        "03_two_layer_softmax",
        "04_matrix_example",
        "05_training_on_digits",
        "06_grading_a_submission",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_every_committed_notebook_is_stored_without_outputs(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    for number, cell in enumerate(notebook["cells"]):
        assert "id" in cell, f"cell {number} has no id (nbformat 4.5)"
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {number} has outputs"
            assert cell["execution_count"] is None, f"cell {number} has an execution count"
        assert cell.get("attachments", {}) == {}, f"cell {number} has attachments"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_every_notebook_teaches_in_short_cells(path: Path) -> None:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert cells[0]["cell_type"] == "markdown"
    assert "".join(cells[0]["source"]).startswith("# ")
    for number, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            assert len(cell["source"]) <= 25, f"cell {number} is {len(cell['source'])} lines"


def test_the_docs_list_every_notebook_of_the_learning_path() -> None:
    index = (ROOT / "docs" / "learning_path.md").read_text(encoding="utf-8")
    for path in LEARNING_PATH.glob("*.ipynb"):
        assert f"notebooks/{path.stem}" in index
