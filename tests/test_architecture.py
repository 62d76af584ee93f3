"""The package keeps its shape: the import-linter layers contract in pyproject.toml holds, no import
cycles, no private name imported across modules (tests/architecture.py reads the source)."""
import subprocess
import sys
from pathlib import Path

from tests import architecture
from tests.conftest import REPO


def test_import_linter_layers_contract_holds():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout and "1 kept" in result.stdout.replace("Contracts: ", "")


def test_no_import_cycles():
    graph, _private = architecture.imports()
    assert architecture.cycles(graph) == []


def test_no_private_names_imported_across_modules():
    _graph, private = architecture.imports()
    assert private == []


def test_the_checks_would_catch_a_cycle_and_a_private_import(tmp_path):
    package = tmp_path / "pipeline"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pipeline.b import _hidden\n")
    (package / "b.py").write_text("def f():\n    from pipeline import a\n_hidden = 1\n")
    graph, private = architecture.imports(package)
    assert architecture.cycles(graph) == [["pipeline.a", "pipeline.b"]]
    assert private == [("pipeline.a", "pipeline.b", "_hidden")]
