"""The layer contract (pyproject.toml's [tool.importlinter]) and the import-cycle check hold on the
tree, and fail on a copy of it with a back edge or a cycle put in on purpose."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CYCLES = ROOT / "scripts" / "import_cycles.py"
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]


def run(command: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packages' Python files and pyproject.toml, nothing else (about 200 small files)."""
    target = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            target / package,
            ignore=lambda folder, names: [
                name for name in names if not (name.endswith(".py") or (Path(folder) / name).is_dir())
            ],
        )
    shutil.copy(ROOT / "pyproject.toml", target)
    return target


def append(path: Path, line: str) -> str:
    original = path.read_text()
    path.write_text(f"{original}\n{line}\n")
    return original


def test_the_tree_keeps_the_layers_and_has_no_new_import_cycle() -> None:
    layers = run([LINT_IMPORTS, "--no-cache"], ROOT)
    assert layers.returncode == 0, layers.stdout + layers.stderr
    cycles = run([sys.executable, CYCLES], ROOT)
    assert cycles.returncode == 0, cycles.stdout + cycles.stderr


def test_a_back_edge_fails_the_layer_contract(copy: Path) -> None:
    # carbon is below scheduler: an import of the scheduler from carbon, even inside a function.
    module = copy / "carbon" / "zones.py"
    original = append(module, "def _back_edge():\n    from scheduler.models import BackupJob  # noqa")
    try:
        result = run([LINT_IMPORTS, "--no-cache"], copy)
    finally:
        module.write_text(original)
    assert result.returncode == 1
    assert "carbon.zones -> scheduler.models" in result.stdout


def test_a_cycle_inside_an_app_fails_the_cycle_check(copy: Path) -> None:
    # accounts.views imports accounts.roles at its top; the way back, hidden in a function.
    module = copy / "accounts" / "roles.py"
    original = append(module, "def _cycle():\n    from accounts import views  # noqa")
    try:
        result = run([sys.executable, CYCLES, copy], copy)
    finally:
        module.write_text(original)
    assert result.returncode == 1
    assert "import cycle: accounts.roles <-> accounts.views" in result.stdout
    assert "accounts.roles:" in result.stdout
