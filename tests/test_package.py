"""Packaging: the extension is there, the CLI runs (the import rules: test_layout.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import streamedit_sdk
from streamedit_sdk import cli
from streamedit_sdk.apps.bench import kernels as bench
from streamedit_sdk.perception.geometry import delaunay, frame_anchors


def test_extension_reports_its_build():
    from streamedit_sdk import _kernels

    assert isinstance(_kernels.built_with_cuda, bool)
    assert _kernels.default_num_threads() >= 1


def test_console_command_is_installed():
    script = Path(sys.executable).parent / "streamedit"  # installed beside the interpreter
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"streamedit {streamedit_sdk.__version__}"


def test_bench_kernels_prints_a_table_and_writes_json(tmp_path, capsys):
    path = tmp_path / "r.json"
    assert cli.main(["bench-kernels", "--size", "64x48", "--repeat", "2", "--json",
                     str(path)]) == 0
    text = capsys.readouterr().out
    assert "| 64x48 | grid_sample uint8x3 |" in text and "| 64x48 | barycentric_warp |" in text
    report = json.loads(path.read_text())
    assert {"machine", "results", "date"} <= set(report)
    assert {r["kernel"] for r in report["results"]} == {"grid_sample uint8x3", "barycentric_warp"}
    assert all(r["ms"] > 0 and r["baseline_ms"] > 0 for r in report["results"])


def test_targets_are_judged_on_1080p_rows_only():
    rows = [bench.Row("1920x1080", "grid_sample uint8x3", 2.0, "cv2.remap", 1.0, 2),
            bench.Row("1920x1080", "barycentric_warp", 4.0, "numpy reference", 100.0, 2),
            bench.Row("512x512", "grid_sample uint8x3", 9.0, "cv2.remap", 1.0, 2)]
    verdicts = bench.check_targets(rows)
    assert len(verdicts) == 2
    assert verdicts[0].startswith("MISS grid_sample") and verdicts[1].startswith("PASS")


@pytest.mark.parametrize("args, message", [
    (["--size", "512"], "size must look like 1280x720"),
    (["--repeat", "0"], "--repeat: must be a whole number >= 1, got '0'"),
])
def test_bad_options_are_usage_errors(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        cli.main(["bench-kernels", *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_delaunay_covers_the_frame_with_anchors(rng):
    pts = np.concatenate([rng.uniform(20, 80, (30, 2)), frame_anchors(100, 90)])
    tris = delaunay(pts)
    assert tris.shape[1] == 3 and tris.min() >= 0 and tris.max() < len(pts)
    # total triangle area == frame area (the anchors' hull)
    p = pts[tris]
    u, v = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    area = 0.5 * np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]).sum()
    assert abs(area - 99 * 89) < 1e-3


def _delaunay_point_by_point(points):
    """The plain form of :func:`delaunay`: one insert and one dictionary lookup per point."""
    import cv2

    pts = np.asarray(points, np.float32)
    x0, y0 = np.floor(pts.min(axis=0)) - 1
    x1, y1 = np.ceil(pts.max(axis=0)) + 2
    subdiv = cv2.Subdiv2D((int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
    index = {}
    for i, (x, y) in enumerate(pts):
        index.setdefault((float(x), float(y)), i)
        subdiv.insert((float(x), float(y)))
    tris = []
    for tri in subdiv.getTriangleList():
        ids = [index.get((float(np.float32(x)), float(np.float32(y))))
               for x, y in tri.reshape(3, 2)]
        if None not in ids:
            tris.append(ids)
    return np.asarray(tris, np.int32).reshape(-1, 3)


def test_delaunay_matches_the_point_by_point_triangulation(rng):
    """The vectorised triangulation (a reference replacement builds one on a worker thread,
    where a Python loop would hold the GIL the frame's thread needs) is the plain one."""
    for trial in range(60):
        pts = rng.uniform(0, rng.integers(2, 600), (rng.integers(3, 500), 2)).astype(np.float32)
        if trial % 3 == 0:
            pts = np.round(pts)  # duplicates keep their first index
        if trial % 4 == 0:
            pts = np.concatenate([pts, frame_anchors(512, 288)])
        if trial % 5 == 0:
            pts[0] = (-0.0, -0.0)
        assert np.array_equal(delaunay(pts), _delaunay_point_by_point(pts)), trial
