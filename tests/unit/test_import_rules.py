"""The house's dependency rules (STYLE.md, issue 12), checked by walking every import in the tree:
the read side (portal/, api/) reads the storage contract through lake/ and never reaches into the
writers (etl/); the query layer (portal/) knows nothing of Dash; lake/ depends on neither side; web/
(HTTP headers, logs, limits) is read side too; and the web side opens no DuckDB of its own beside the
worker's reader (issue 13)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RULES = {  # package -> top-level modules it must never import
    "portal": {"etl", "dash", "flask", "layouts", "callbacks", "api"},
    "api": {"etl", "layouts", "callbacks"},
    "lake": {"etl", "portal", "api", "dash", "layouts", "callbacks"},
    "datasets": {"etl", "portal", "api", "dash"},
    "web": {"etl", "layouts", "callbacks"},  # HTTP concerns of the web process (headers, caching)
    "deploy": {"etl", "portal", "api", "dash", "layouts", "callbacks", "web"},  # files for the proxy, no app code
}


def imported_modules(source: str) -> list[tuple[int, str]]:
    """(line, module) for every import in `source`, including those inside functions."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
    return out


def violations(package: str, root: Path = ROOT) -> list[str]:
    forbidden = RULES[package]
    found = []
    for path in sorted((root / package).rglob("*.py")):
        for line, module in imported_modules(path.read_text()):
            if module.split(".")[0] in forbidden:
                found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return found


@pytest.mark.parametrize("package", sorted(RULES))
def test_package_keeps_to_its_side(package):
    assert violations(package) == []


def test_a_planted_import_of_the_writers_is_caught(tmp_path):
    # The rule must fail on exactly the import the issue names: `from etl import lake` in portal/.
    (tmp_path / "portal").mkdir()
    (tmp_path / "portal" / "planted.py").write_text("def f():\n    from etl import lake\n    return lake\n")
    assert violations("portal", tmp_path) == ["portal/planted.py:2 imports etl"]


def test_a_planted_dash_import_in_the_query_layer_is_caught(tmp_path):
    (tmp_path / "portal").mkdir()
    (tmp_path / "portal" / "planted.py").write_text("import dash.html as html\n")
    assert violations("portal", tmp_path) == ["portal/planted.py:1 imports dash.html"]


WEB_SIDE = ("portal", "api", "web", "callbacks", "layouts")


def duckdb_opened(root: Path = ROOT) -> list[str]:
    """Where the web side calls duckdb.connect: each would be a DuckDB with its own memory limit."""
    found = []
    for path in sorted(p for package in WEB_SIDE for p in (root / package).rglob("*.py")) + [root / "app.py"]:
        if not path.exists():
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "connect"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "duckdb"):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_every_web_read_shares_the_worker_s_one_duckdb():
    """Rows pages, downloads, Open311 and chart CSVs all run on the reader's connection, so
    PULSE_READER_MEMORY bounds them together (the review saw 611-668 MB per worker when each request
    opened its own)."""
    assert [spot.split(":")[0] for spot in duckdb_opened()] == ["portal/reader.py"]


def test_a_planted_duckdb_of_its_own_is_caught(tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "planted.py").write_text("import duckdb\n\ndef rows():\n    return duckdb.connect()\n")
    assert duckdb_opened(tmp_path) == ["api/planted.py:4"]
