"""The package's shape, checked on its source: what the runtime imports, and from where."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import streamedit_sdk

SDK = Path(streamedit_sdk.__file__).parent
MODULES = sorted(p for p in SDK.rglob("*.py") if "models" not in p.parts)
# Imported only inside the functions that need them (training, GPU, plots, statistics, bars).
HEAVY = ("torch", "matplotlib", "scipy", "skimage", "tqdm", "streamedit_build", "diffusers",
         "transformers")


def _imports(path: Path) -> list[tuple[ast.AST, str, list[str], bool]]:
    """(node, module, names, at module level) of every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    top |= {id(n) for s in tree.body if isinstance(s, ast.If) for n in s.body}  # TYPE_CHECKING
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out.append((node, a.name, [], id(node) in top))
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append((node, node.module, [a.name for a in node.names], id(node) in top))
    return out


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.parent.name}/{path.name}:{node.lineno}"


def test_import_loads_no_heavy_dependency():
    code = ("import sys, streamedit_sdk, streamedit_sdk.kernels, streamedit_sdk.cli, "
            "streamedit_sdk.apps.bench.kernels; streamedit_sdk.kernels.cuda_available(); "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _build_modules() -> list[Path]:
    """The build side's modules (torch), where it is installed."""
    try:
        import streamedit_build
    except ImportError:
        return []
    return sorted(Path(next(iter(streamedit_build.__path__))).rglob("*.py"))


def test_no_module_imports_a_private_name_of_another():
    """The compiled extension ``_kernels`` is the one private module, wrapped by ``kernels``;
    the build side uses the runtime's public modules only."""
    bad = []
    for path in MODULES + _build_modules():
        for node, module, names, _ in _imports(path):
            parts = module.split(".")
            if parts[0] != "streamedit_sdk":
                continue
            private = [p for p in parts + names
                       if p.startswith("_") and not (p.startswith("__") and p.endswith("__"))]
            allowed = private == ["_kernels"] and path.parent.name == "kernels"
            if private and not allowed:
                bad.append(f"{_where(path, node)} imports {module}: {names}")
    assert not bad, "\n".join(bad)


def test_runtime_never_imports_the_build_side_and_heavy_modules_stay_lazy():
    bad = []
    for path in MODULES:
        for node, module, _, top in _imports(path):
            root = module.split(".")[0]
            if root == "streamedit_build" or (top and root in HEAVY):
                bad.append(f"{_where(path, node)} imports {module}")
    assert not bad, "\n".join(bad)


def test_the_top_level_is_small_and_leaf_modules_are_leaves():
    top = sorted(p.stem for p in SDK.glob("*.py"))
    assert top == ["__init__", "config", "errors", "frames", "maps", "timing"]
    for leaf in ("errors", "maps", "frames", "timing"):
        deps = [m for _, m, _, _ in _imports(SDK / f"{leaf}.py") if m.startswith("streamedit_sdk")]
        assert not deps, f"{leaf}.py imports {deps}"


@pytest.mark.parametrize("layer, may_not_import", [
    ("correspondence", ("streamedit_sdk.core", "streamedit_sdk.apps", "streamedit_sdk.cli")),
    ("sides", ("streamedit_sdk.core", "streamedit_sdk.correspondence", "streamedit_sdk.apps",
               "streamedit_sdk.cli")),
    ("perception", ("streamedit_sdk.core", "streamedit_sdk.correspondence",
                    "streamedit_sdk.apps", "streamedit_sdk.cli")),
    ("backends", ("streamedit_sdk.core", "streamedit_sdk.correspondence", "streamedit_sdk.sides",
                  "streamedit_sdk.apps", "streamedit_sdk.cli")),
    ("core", ("streamedit_sdk.apps", "streamedit_sdk.cli")),
    ("io", ("streamedit_sdk.core", "streamedit_sdk.apps", "streamedit_sdk.cli")),
])
def test_dependencies_run_one_way(layer, may_not_import):
    bad = [f"{_where(p, n)} imports {m}" for p in (SDK / layer).rglob("*.py")
           for n, m, _, _ in _imports(p) if m.startswith(may_not_import)]
    assert not bad, "\n".join(bad)
