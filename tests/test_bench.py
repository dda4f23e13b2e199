"""``streamedit bench``: what it times, the JSON it writes, the benchmarks page made from it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from streamedit_sdk.apps.bench import pipeline, report
from streamedit_sdk.apps.bench.machine import describe
from streamedit_sdk.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results():
    return pipeline.run(pipeline.FrameSource(), sizes=[(160, 120), (200, 200)],
                        backends=["ort-cpu"], frames=12, progress=False, replace_every=4,
                        correspondences=("ppce",))


def test_json_has_the_documented_keys(results):
    data = json.loads(json.dumps(report.to_json(results, describe(), "synthetic")))
    assert {"machine", "source", "results"} <= set(data)
    assert {"cpu", "cores", "gpu", "versions"} <= set(data["machine"])
    assert [r["size"] for r in data["results"]] == ["160x120", "200x200"]
    for r in data["results"]:
        assert tuple(r) == report.RESULT_KEYS
        assert r["backend"] == "ort-cpu" and r["frames"] == 12 and r["gpu_mb"] is None
        assert r["correspondence"] == "ppce"
        assert r["fps"] > 0 and r["fps_pipelined"] > 0 and r["baseline_fps"] > 0
        assert r["speedup"] == pytest.approx(r["fps"] / r["baseline_fps"], rel=0.01)
        # CPU per frame: some, and not more than every core for the whole frame
        cores = data["machine"]["cores"]
        for cpu, fps in ((r["cpu_ms"], r["fps"]), (r["baseline_cpu_ms"], r["baseline_fps"])):
            assert 0 < cpu <= cores * 1000.0 / fps * 1.05 + 1.0
        assert 0 < r["p50_ms"] <= r["p99_ms"] and r["rss_mb"] > 50
        assert 0 < r["live_p50_ms"] <= r["live_p99_ms"]
        slowest = r["live_slowest"]
        assert len(slowest) == 5 and slowest[0]["ms"] >= r["live_p99_ms"] - 1e-3
        assert all(f["ms"] == pytest.approx(f["queued_ms"] + f["process_ms"], abs=0.02)
                   for f in slowest)
        assert {"frame", "replaced", "swapped", "stages"} <= set(slowest[0])
        for f in slowest:  # the frame thread's stages, within the frame's process time
            assert {"landmark_warp", "propagation"} <= set(f["stages"])
            assert "landmarks" in f["stages"]  # not lagged: the mesh is on the frame thread
            outer = sum(v for k, v in f["stages"].items() if k not in ("flow", "refine", "head",
                                                                       "backbone", "match"))
            assert outer <= f["process_ms"] + 0.1
        for name in ("landmarks", "landmark_warp", "flow", "backbone", "head", "propagation",
                     "reference_update"):
            assert tuple(r["stages"][name]) == report.STAGE_KEYS, name
        assert r["stages"]["landmarks"]["count"] == 12
        assert r["stages"]["reference_update"]["count"] == 3  # every 4 of 12 timed frames


def test_the_default_benches_what_the_editor_runs_by_default():
    """``auto``, resolved as the editor resolves it: the weight-free flow on the host."""
    (result,) = pipeline.run(pipeline.FrameSource(), sizes=[(96, 96)], backends=["ort-cpu"],
                             frames=3, progress=False)
    assert result.correspondence == "flow" and "head" not in result.stages
    assert result.fps > 0


def test_bench_times_the_editor_with_and_without_visibility():
    """The visibility stage is timed where it runs, and absent (and labelled) where it is off."""
    on, off = pipeline.run(pipeline.FrameSource(), sizes=[(160, 120)], backends=["ort-cpu"],
                           frames=4, progress=False, visibilities=("network", "off"))
    assert (on.visibility, off.visibility) == ("network", "off")
    assert on.stages["visibility"].count == 4 and "visibility" not in off.stages
    assert report._engine(on.to_json()) == "ort-cpu flow"
    assert report._engine(off.to_json()) == "ort-cpu flow, visibility off"


def test_frames_are_fitted_and_played_back_and_forth():
    frame = np.zeros((100, 50, 3), np.uint8)
    frame[:, :25] = 200
    fitted = pipeline.fit(frame, 160, 90)
    assert fitted.shape == (90, 160, 3)
    order = [int(f[0, 0, 0]) for f in pipeline.playback([np.full((1, 1, 1), i) for i in range(4)],
                                                        9)]
    assert order == [0, 1, 2, 3, 2, 1, 0, 1, 2]


def test_table_and_plot(results, tmp_path):
    data = report.to_json(results, describe(), "synthetic")
    table = report.format_table(data)
    assert "| 160x120 | ort-cpu ppce |" in table and "| landmarks |" in table
    slow = [line for line in table.splitlines() if line.startswith("| 200x200 ort-cpu ppce |")]
    assert len(slow) == 5  # the live run's slowest frames, each with its costliest stages
    worst = data["results"][1]["live_slowest"][0]
    assert f"| {worst['frame']} | {worst['ms']:.1f} = " in slow[0]
    assert max(worst["stages"], key=worst["stages"].get) in slow[0]
    old = {**data, "results": [{k: v for k, v in r.items() if k != "live_slowest"}
                               for r in data["results"]]}
    assert "slowest live frames" not in report.format_table(old)  # stored before the run
    report.plot(data, tmp_path / "b.png")
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_rejects_flow_on_a_device_backend(capsys):
    assert main(["bench", "--backend", "torch-cuda", "--correspondence", "flow", "-q"]) == 2
    assert "runs on the host" in capsys.readouterr().err


def test_cli_says_why_a_gpu_backend_cannot_run(capsys, monkeypatch):
    import streamedit_sdk.kernels as kernels
    monkeypatch.setattr(kernels, "cuda_available", lambda: False)
    code = main(["bench", "--backend", "torch-cuda", "--size", "64x64", "--frames", "2", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "CUDA" in err, err


def test_cli_benches_the_device_pipeline_on_cpu_tensors(tmp_path, capsys):
    pytest.importorskip("torch", reason="the device pipeline runs on torch tensors")
    out = tmp_path / "bench.json"
    assert main(["bench", "--backend", "torch-cpu", "--size", "128x96", "--frames", "3", "-q",
                 "--json", str(out)]) == 0
    r = json.loads(out.read_text())["results"][0]
    assert r["backend"] == "torch-cpu" and r["gpu_mb"] is None and r["fps"] > 0
    for name in ("upload", "landmark_warp", "refine", "backbone", "head", "propagation",
                 "download"):
        assert r["stages"][name]["count"] >= 3, name


def test_low_latency_bench_times_the_deferred_swaps():
    (r,) = pipeline.run(pipeline.FrameSource(), sizes=[(160, 120)], backends=["ort-cpu"],
                        frames=12, progress=False, replace_every=4, low_latency=True)
    data = r.to_json()
    assert data["low_latency"] is True
    assert data["stages"]["reference_update"]["count"] == 3  # triggers at 12, 16, 20
    # the next frame takes the new reference (13, 17, 21), 3 frames on its inpainted edit
    # (11: from the trigger at 8, 15, 19)
    assert data["stages"]["reference_swap"]["count"] == 6
    assert report._engine(data) == "ort-cpu flow, low latency"
    for f in data["live_slowest"]:  # lagged: the mesh is off the frame thread, its wait on it
        assert "landmarks" not in f["stages"] and "process_ms" in f


def test_bench_times_the_flow_beside_the_face_mesh_and_from_it(tmp_path):
    out = tmp_path / "bench.json"
    for start in ("previous", "mesh"):
        assert main(["bench", "--size", "128x96", "--frames", "4", "-q", "--flow-start", start,
                     "--json", str(out)]) == 0
        r = json.loads(out.read_text())["results"][0]
        assert r["flow_start"] == start
        waited = r["stages"].get("landmarks_wait", {}).get("count", 0)
        assert (waited > 0) == (start == "previous")  # beside the mesh: the frame waits for it
        assert report._engine(r) == ("ort-cpu flow" if start == "previous"
                                     else "ort-cpu flow, flow from the mesh")


def test_cli_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--size", "128x96", "--frames", "3", "-q", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["results"][0]["size"] == "128x96" and "date" in data
    assert "| 128x96 | ort-cpu flow |" in capsys.readouterr().out


def test_the_benchmarks_page_is_made_from_the_stored_results(tmp_path):
    """bench/update_docs.py writes every table of docs/benchmarks.md from bench/results (the
    page itself is not checked for staleness: regenerating it is a command)."""
    out = tmp_path / "benchmarks.md"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "update_docs.py"), "-o",
                           str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    for title in ("`streamedit eval`", "`streamedit bench`", "--backend torch-cuda"):
        assert "## " in page and title in page
    assert "| **mean** |" in page  # the eval table's summary row
    assert page.count("| size | backend | fps |") == 2  # the CPU and GPU bench tables
    assert "](../bench/results/" in page  # links work from docs/


def test_cpu_parts_times_every_variant_and_the_floors_against_the_baseline(tmp_path):
    """bench/cpu_parts.py: a row per variant (the floors included), and the baseline's own
    ``speedup`` 1 by construction (each row's is the baseline's wall time over its own)."""
    out = tmp_path / "parts.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "cpu_parts.py"), "--size",
                           "160x120", "--frames", "2", "--rounds", "1", "--json", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = {r["run"]: r for r in json.loads(out.read_text(encoding="utf-8"))["rows"]}
    assert rows["DIS MEDIUM baseline"]["speedup"] == pytest.approx(1.0, abs=1e-3)
    assert sum(name.startswith("floor:") for name in rows) == 3
    for r in rows.values():
        assert r["cpu_ms_mean"] > 0 and r["wall_ms_mean"] > 0 and r["speedup"] > 0
        wall = r["wall_ms"][0]
        base = rows["DIS MEDIUM baseline"]["wall_ms"][0]
        assert r["speedup"] == pytest.approx(base / wall, rel=0.01)


def test_compare_evals_ignores_timing_and_catches_a_changed_score(tmp_path):
    """bench/compare_evals.py: the check a refactor's eval results are held to."""
    report = {"video": "a.mp4", "frames": 3, "fps": 10.0, "sigma_spearman": 0.5,
              **{m: {"psnr": 30.0, "ssim": 0.9, "references": 1}
                 for m in ("arr", "fixed", "flow", "landmark_only", "dis")}}
    before, after = tmp_path / "before", tmp_path / "after"
    for folder, fps in ((before, 10.0), (after, 4.0)):
        folder.mkdir()
        (folder / "a.json").write_text(json.dumps({**report, "fps": fps}))
        (folder / "b.log").write_text("noise\nstreamedit eval: error: bad clip\n")
    script = [sys.executable, str(ROOT / "bench" / "compare_evals.py"), str(before), str(after)]
    done = subprocess.run(script, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    assert "| a | 3 |" in done.stdout and "yes (the same error)" in done.stdout
    changed = {**report, "dis": {**report["dis"], "psnr": 30.001}}
    (after / "a.json").write_text(json.dumps(changed))
    done = subprocess.run(script, capture_output=True, text=True)
    assert done.returncode == 1 and ".dis.psnr: 30.0 != 30.001" in done.stdout
