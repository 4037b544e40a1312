"""The layering rules of docs/architecture.md, checked on the import statements of the package.

- The math core (earth/, models/, filters/) knows no scenario: it never imports sim/,
  sensors/, tracking/ or impact/.
- Truth never depends on the estimator: sim/ never imports filters/ (nor tracking/).
"""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "trackers"

RULES = {
    "earth": {"sim", "sensors", "tracking", "impact", "filters", "models"},
    "models": {"sim", "sensors", "tracking", "impact", "filters"},
    "filters": {"sim", "sensors", "tracking", "impact"},
    "sim": {"filters", "tracking", "impact"},
}


def _imported_subpackages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "trackers" and len(parts) > 1:
                out.add(parts[1])
    return out


@pytest.mark.parametrize("layer", sorted(RULES))
def test_layer_does_not_import_forbidden_packages(layer):
    files = sorted((PKG / layer).rglob("*.py"))
    assert files, f"no modules in trackers/{layer}"
    bad = {
        f"{p.relative_to(PKG)} imports trackers.{dep}"
        for p in files
        for dep in _imported_subpackages(p) & RULES[layer]
    }
    assert not bad, sorted(bad)


def test_the_checker_sees_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import numpy\nfrom trackers.sim import simulate\nimport trackers.filters.rules\n"
    )
    assert _imported_subpackages(probe) == {"sim", "filters"}
