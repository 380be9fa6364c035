"""The layers contract: a package of ``kgrec_neo4j`` imports only packages of lower layers (or its own).

Layers, lowest first (the architecture ``ls kgrec_neo4j`` shows):

    core  <  llm  <  local  <  load  <  extract  <  concepts  <  users  <  discover  <  model  <  serve
          <  update  <  status  <  demo  <  cli

Every import counts: module level, inside functions (lazy imports) and under ``TYPE_CHECKING``. Within the
serving layer the order is scoring < explain < recommend < report < api.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "kgrec_neo4j"
LAYERS = ["core", "llm", "local", "load", "extract", "concepts", "users", "discover", "model", "serve", "update",
          "status", "demo", "cli"]
SERVE_ORDER = ["scoring", "explain", "recommend", "report", "api"]


def _module(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, absolute module)`` of every import in ``path`` that names a kgrec_neo4j module."""
    mod = _module(path)
    pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names]
            for t in [target, *names]:
                if t.startswith("kgrec_neo4j"):
                    out.append((node.lineno, t))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("kgrec_neo4j")]
    return out


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def violations() -> list[str]:
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        src = _module(path)
        src_layer = _layer(src)
        if src_layer is None:
            continue
        for line, target in _imports(path):
            dst_layer = _layer(target)
            if dst_layer is None or dst_layer == src_layer:
                if src_layer == dst_layer == "serve":
                    a, b = src.split(".")[2:3], target.split(".")[2:3]
                    if a and b and a[0] in SERVE_ORDER and b[0] in SERVE_ORDER \
                            and SERVE_ORDER.index(b[0]) > SERVE_ORDER.index(a[0]):
                        bad.append(f"{path.relative_to(PKG.parent)}:{line}: serve.{a[0]} imports serve.{b[0]}")
                continue
            if LAYERS.index(dst_layer) > LAYERS.index(src_layer):
                bad.append(f"{path.relative_to(PKG.parent)}:{line}: {src_layer} imports {dst_layer} ({target})")
    return bad


def test_every_package_is_in_a_layer():
    tops = {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    tops |= {p.stem for p in PKG.glob("*.py") if p.stem not in ("__init__", "__main__")}
    assert tops == set(LAYERS), f"packages without a layer: {sorted(tops - set(LAYERS))}"


def test_no_layer_imports_a_higher_one():
    bad = violations()
    assert not bad, "imports against the layers (a lower layer must not import a higher one):\n" + "\n".join(bad)


def test_checker_sees_a_violation(tmp_path, monkeypatch):
    """The checker itself: a core module that imports serve is reported."""
    fake = tmp_path / "kgrec_neo4j"
    for d in ("core", "serve"):
        (fake / d).mkdir(parents=True)
        (fake / d / "__init__.py").write_text("")
    (fake / "core" / "x.py").write_text("def f():\n    from ..serve import recommend\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", fake)
    assert any("core imports serve" in v for v in violations())


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_exists(layer):
    assert (PKG / layer).is_dir() or (PKG / f"{layer}.py").is_file()


def test_serving_never_imports_torch():
    """A serving process (the CLI's recommend / explain, the HTTP service) starts without torch: fold-in is numpy."""
    import subprocess

    code = ("import sys, kgrec_neo4j.cli, kgrec_neo4j.serve.api, kgrec_neo4j.serve.report; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torch_geometric')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", out
