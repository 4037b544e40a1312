"""Every notebook under notebooks/ executes top to bottom without error, at its CI size.

The parameterised notebooks (02, 03, 04) keep their parameters in the first code cell with
``FULL = False`` (the small size executed here; ``FULL = True`` is the size quoted in their
text, run by hand), are stored without outputs, and must show their figures when executed.
"""

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
#: Parameterised notebooks and the least number of figures each shows at the CI size.
PARAMETERISED = {"02_filter_comparison.ipynb": 2, "03_separation_false_alert.ipynb": 6,
                 "04_radar_linking.ipynb": 2}  # fmt: skip


def _execute(nb, tmp_path):
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    return nb


def _outputs(nb, kind):
    return [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
        if o.get("output_type") == kind or kind in o.get("data", {})
    ]  # fmt: skip


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert "01_hokkaido_flight.ipynb" in names
    assert set(PARAMETERISED) <= names


@pytest.mark.parametrize("name", sorted(PARAMETERISED))
def test_parameters_are_ci_size_and_outputs_stripped(name):
    nb = nbformat.read(NOTEBOOKS[0].parent / name, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert re.search(r"^FULL = False\s*$", first.source, re.M), first.source
    assert re.search(r"^RUNS = ", first.source, re.M)
    assert nb.cells[0].cell_type == "markdown" and "**Question.**" in nb.cells[0].source
    assert any(c.cell_type == "markdown" and "## Caveats" in c.source for c in nb.cells)
    stored = [c for c in nb.cells if c.cell_type == "code" and c.get("outputs")]
    assert not stored, "store the notebook without outputs (the test executes it)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path, tmp_path):
    nb = _execute(nbformat.read(path, as_version=4), tmp_path)
    assert not _outputs(nb, "error")
    if path.name in PARAMETERISED:
        assert len(_outputs(nb, "image/png")) >= PARAMETERISED[path.name]


def test_a_failing_cell_fails_the_test(tmp_path):
    """Negative case: the harness does not swallow an exception raised in a cell."""
    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[v4.new_code_cell("x = 1"), v4.new_code_cell("raise ValueError(x)")])
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="ValueError"):
        _execute(nb, tmp_path)
