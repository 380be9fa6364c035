"""The package installs as a wheel and runs without the source tree: a wheel is built from this checkout,
installed into a fresh virtual environment (dependencies come from this environment's site-packages, never the
checkout), and ``kgrec --help``, ``kgrec schema apply`` and one query of each stage run from it against the test
server. Also: the package list in ``pyproject.toml`` names every package on disk."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MAPPED = {"kgrec_neo4j.cypher", "kgrec_neo4j.schema", "kgrec_neo4j.local.assembly"}


def test_pyproject_names_every_package():
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "kgrec_neo4j").rglob("__init__.py")}
    assert set(cfg["packages"]) == on_disk | MAPPED
    assert set(cfg["package-dir"]) == MAPPED


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(REPO)], check=True, cwd=tmp)
    [wheel] = dist.glob("kgrec_neo4j-*.whl")
    env_dir = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    site = env_dir / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    # the dependencies: this environment's site-packages folders (plain paths: their .pth files, among them an
    # editable install of this checkout, are not processed), never the checkout itself
    deps = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    deps = list(dict.fromkeys([sysconfig.get_paths()["purelib"], *deps]))
    (site / "zz_dependencies.pth").write_text("\n".join(deps) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, cwd=tmp)
    return env_dir, tmp


def _run(venv, *args, **kw):
    env_dir, cwd = venv
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}:{env.get('PATH', '')}"
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, **kw)


def test_installed_package_is_not_the_checkout(venv):
    env_dir, _ = venv
    r = _run(venv, str(env_dir / "bin" / "python"), "-c",
             "import sys, kgrec_neo4j; from kgrec_neo4j.core import resources as r; "
             "print(kgrec_neo4j.__file__); print(r.folder('cypher')); print(r.path('assembly', 'pom.xml')); "
             f"print(any(p.rstrip('/') == {str(REPO)!r} for p in sys.path))")
    assert r.returncode == 0, r.stderr
    pkg, cypher, pom, repo_on_path = r.stdout.split()
    assert pkg.startswith(str(env_dir)) and cypher.startswith(str(env_dir)) and pom.startswith(str(env_dir)), r.stdout
    assert repo_on_path == "False"
    # the package says it is typed (PEP 561): an application's mypy reads its annotations
    assert (Path(pkg).parent / "py.typed").is_file()


def test_kgrec_help_runs_from_the_wheel(venv):
    r = _run(venv, "kgrec", "--help")
    assert r.returncode == 0, r.stderr
    assert "recommend" in r.stdout and "schema" in r.stdout


def test_schema_apply_and_one_query_per_stage_from_the_wheel(venv, db):
    r = _run(venv, "kgrec", "schema", "apply")
    assert r.returncode == 0, r.stdout + r.stderr
    script = """
import collections
from kgrec_neo4j.core import resources
from kgrec_neo4j.core.config import load_settings
from kgrec_neo4j.core.db import connect
stages = collections.OrderedDict()
for name in resources.cypher_names():
    if "$REL" not in resources.cypher(name):  # a template: the code fills the relationship type in
        stages.setdefault(name.split("/")[0], name)
with connect(load_settings()) as db:
    for stage, name in stages.items():
        text = "\\n".join(l for l in resources.cypher(name).splitlines() if not l.lstrip().startswith(":"))
        db.query("EXPLAIN " + text.strip().rstrip(";"))
        print(stage, name)
    print("runs", db.query(resources.cypher("recommend/current_run")))
"""
    env_dir, _ = venv
    r = _run(venv, str(env_dir / "bin" / "python"), "-c", script)
    assert r.returncode == 0, r.stdout + r.stderr
    stages = [line.split()[0] for line in r.stdout.splitlines() if line and not line.startswith("runs")]
    assert {"load", "extract", "concepts", "interests", "train", "recommend", "explain"} <= set(stages), r.stdout
