"""What ``pip install`` puts in site-packages: one package, ``aptien_ops``, with the screens and
the adapters inside it (``aptien_ops.screens``, ``aptien_ops.backends``) and nothing generic
at the top level. Checked from a wheel, installed into a fresh virtual environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: Where each installed package's folder is in this repository.
ROOTS = {"aptien_ops.screens": REPO / "screens", "aptien_ops.backends": REPO / "backends"}


def _declared() -> list[str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages: list[str] = pyproject["tool"]["setuptools"]["packages"]
    return packages


def _on_disk() -> set[str]:
    """Every folder of the three trees that holds Python modules, and the data folder."""
    found = {"aptien_ops.data"}
    for top, root in {"aptien_ops": REPO / "aptien_ops", **ROOTS}.items():
        for path in [root, *root.rglob("*")]:
            relative = path.relative_to(root).parts
            if top == "aptien_ops" and relative[:1] in (("screens",), ("backends",)):
                continue  # the links to the top-level folders
            if path.is_dir() and "__pycache__" not in relative and any(path.glob("*.py")):
                found.add(".".join((top, *relative)))
    return found


def test_the_declared_packages_are_exactly_the_folders_of_the_three_trees() -> None:
    declared = _declared()
    assert len(declared) == len(set(declared))
    assert set(declared) == _on_disk()


def test_the_links_make_the_top_level_folders_the_installed_subpackages() -> None:
    for name, root in ROOTS.items():
        link = REPO / "aptien_ops" / name.rpartition(".")[2]
        assert link.is_symlink() and link.resolve() == root.resolve()


def test_a_wheel_installs_only_aptien_ops_and_runs_from_a_fresh_environment(
    tmp_path: Path,
) -> None:
    # Built from a copy: setuptools leaves a build/ folder beside the sources, and a stale one
    # would put modules deleted since into the wheel.
    source = tmp_path / "source"
    noise = (".venv", ".git", "build", "__pycache__", "*.egg-info", ".*_cache", "bench", "docs")
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(*noise))
    built = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(built), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    [wheel] = built.glob("aptien_ops-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"aptien_ops"}
    for expected in (
        "aptien_ops/screens/app.py",
        "aptien_ops/screens/tenants.tcss",
        "aptien_ops/backends/sql_catalog/engine.py",
        "aptien_ops/backends/catalog_migrations/versions/0001_initial.py",
        "aptien_ops/data/countries.csv",
        "aptien_ops/default_ops.toml",
    ):
        assert expected in names, expected

    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    with zipfile.ZipFile(wheel) as archive:  # what pip does with a pure-Python wheel
        archive.extractall(site)
    # The dependencies come from the development environment, read as a plain path (its .pth
    # files, among them the editable install's finder, are not processed).
    deps = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "PYTHONPATH": deps, "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}  # fmt: skip
    probe = (
        "import aptien_ops, aptien_ops.screens.app, aptien_ops.backends.sql_catalog;"
        "print(aptien_ops.__file__)"
    )
    where = subprocess.run(
        [python, "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path, env=env
    ).stdout.strip()
    assert where.startswith(site), where
    sandbox = tmp_path / "sbx"
    for args in (["sandbox", "init", "--path", str(sandbox)],
                 ["--config", str(sandbox / "ops.toml"), "--json", "tenant", "list"]):  # fmt: skip
        run = subprocess.run(
            [python, "-m", "aptien_ops", *args],
            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
