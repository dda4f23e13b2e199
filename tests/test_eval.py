"""``streamedit eval``: the protocol's bookkeeping, the JSON / CSV / plot it writes, errors."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

import streamedit_sdk as se
from streamedit_sdk.apps import synthetic
from streamedit_sdk.apps.eval import METHOD_KEYS, METHODS, PASSES, REPORT_KEYS, evaluate
from streamedit_sdk.apps.eval.consistency import WarpingError
from streamedit_sdk.cli import main
from streamedit_sdk.io.video import VideoWriter

FRAMES = 20


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("eval") / "moving.mp4"
    with VideoWriter(path, 25) as writer:
        for frame in synthetic.clip(FRAMES)[0]:
            writer.write(frame)
    return path


# every pass but the occluders' and the cut's (test_visibility.py runs those on a longer clip)
CORE = tuple(p for p in PASSES if p not in ("occlusion", "cut"))


@pytest.fixture(scope="module")
def report(clip_path):
    config = se.EditorConfig(replacement=se.ReplacementConfig(interval=6))
    return evaluate(clip_path, config, fixed_interval_frames=8, passes=CORE)


def test_json_has_the_documented_keys(report):
    data = json.loads(json.dumps(report.to_json()))  # valid JSON, no NaN
    assert tuple(data) == REPORT_KEYS[:-2]  # (no occlusion, no cut: not run)
    assert data["frames"] == FRAMES and data["fps"] > 0
    for name in METHODS:
        keys = METHOD_KEYS + (("interval",) if name != "arr" else ())
        assert tuple(data[name]) == keys, name
        assert 10.0 < data[name]["psnr"] <= 100.0 and 0.0 < data[name]["ssim"] <= 1.0
    for key in ("sigma_spearman", "warp_error_ratio", "warp_error_ratio_per_frame_style"):
        assert isinstance(data[key], float) and math.isfinite(data[key]), key


def test_markdown_summary_has_a_row_per_clip_and_the_means(report):
    from streamedit_sdk.apps.eval.report import markdown_summary

    one = report.to_json()
    two = json.loads(json.dumps(one))
    two["video"] = "other.mp4"
    two["arr"]["psnr"] = one["arr"]["psnr"] + 2.0
    lines = markdown_summary([one, two]).splitlines()
    assert len(lines) == 2 + 2 + 1  # header, rule, two clips, means
    assert lines[2].startswith(f"| {one['video']} | {FRAMES} |")
    assert f"{one['arr']['psnr']:.2f} / {one['arr']['ssim']:.4f} (4 refs)" in lines[2]
    assert "(every 8)" in lines[2]
    gap = one["arr"]["psnr"] - one["fixed"]["psnr"]
    assert f"| {gap:.2f} |" in lines[2] and f"| {gap + 2.0:.2f} |" in lines[3]
    assert lines[4].startswith("| **mean** |") and f"| {gap + 1.0:.2f} |" in lines[4]


def test_reference_budgets(report):
    # arr here runs the SDK on a 6-frame schedule: references at 0, 6, 12, 18
    assert report.methods["arr"].reference_ids == [0, 6, 12, 18]
    for name in ("fixed", "landmark_only", "dis"):  # --fixed-interval 8: 0, 8, 16
        assert report.methods[name].reference_ids == [0, 8, 16], name
        assert report.methods[name].interval == 8
    for name in METHODS:  # frames 1..N-1 are scored, frame 0 is the given reference
        assert len(report.methods[name].psnr) == len(report.methods[name].ssim) == FRAMES - 1


def test_scores_rank_the_methods_sensibly(report):
    s = {name: report.to_json()[name] for name in METHODS}
    # the refined map must beat the landmark warp alone on a moving head
    assert s["fixed"]["psnr"] > s["landmark_only"]["psnr"] + 1.0
    # sigma must rank the actual errors (measured 0.6-0.7 on the clips)
    assert report.sigma_spearman > 0.3


def test_default_interval_matches_the_arr_budget(clip_path):
    report = evaluate(clip_path, se.EditorConfig(replacement=se.ReplacementConfig(interval=5)))
    arr_refs = len(report.methods["arr"].reference_ids)  # 0, 5, 10, 15
    assert arr_refs == 4
    assert report.methods["fixed"].interval == round(FRAMES / arr_refs)


def test_warping_error_of_the_input_itself_is_one(rng):
    frames, _ = synthetic.clip(6)
    steady = WarpingError(256, ("same", "noisy"))
    for f in frames:
        noisy = np.clip(f + rng.normal(0, 6, f.shape), 0, 255).astype(np.uint8)
        steady.add(f, {"same": f, "noisy": noisy})
    assert steady.ratio("same") == pytest.approx(1.0)
    assert steady.ratio("noisy") > 1.5  # flicker raises the warping error


def test_cli_writes_json_csv_and_plot(clip_path, tmp_path, capsys):
    out = {k: tmp_path / f"e.{k}" for k in ("json", "csv", "png")}
    assert main(["eval", str(clip_path), "--fixed-interval", "10", "-q", "--json",
                 str(out["json"]), "--csv", str(out["csv"]), "--plot", str(out["png"]),
                 "--only", ",".join(CORE)]) == 0
    text = capsys.readouterr().out
    assert "landmark_only" in text and "sigma_spearman" in text
    data = json.loads(out["json"].read_text())
    assert tuple(data) == REPORT_KEYS[:-2] + ("machine",) and data["fixed"]["interval"] == 10
    assert data["machine"]["models"] and data["machine"]["versions"]["mediapipe"]
    with open(out["csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == FRAMES - 1 and float(rows[0]["dis_psnr"]) > 10
    assert out["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_errors(tmp_path, clip_path, capsys):
    assert main(["eval", str(tmp_path / "missing.mp4"), "-q"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["eval", str(clip_path), "--style", "nope", "-q"]) == 2
    assert "style" in capsys.readouterr().err
    assert main(["eval", str(clip_path), "--full-refine", "11", "-q"]) == 2  # reaches the config
    assert "full_refine" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval", str(clip_path), "--fixed-interval", "0"])


def test_cli_says_what_to_do_when_frame_0_has_no_face(tmp_path, capsys):
    path = tmp_path / "noface.mp4"
    frames = synthetic.clip(6)[0]
    with VideoWriter(path, 25) as writer:
        writer.write(np.full_like(frames[0], 128))  # frame 0: grey, no face
        for frame in frames[1:]:
            writer.write(frame)
    assert main(["eval", str(path), "-q"]) == 2
    err = capsys.readouterr().err
    assert "frame 0 shows no face" in err and "trim the clip" in err
    assert "--ref-frame" not in err  # eval has no such option


def test_fidelity_summary_has_a_row_per_clip_and_the_worst(report):
    from streamedit_sdk.apps.eval.report import PROBE_KEYS, fidelity_summary

    one = report.to_json()
    assert set(one["fidelity"]) == {"sdk", "dis_full"}
    for method in one["fidelity"].values():
        for probe in ("cheek_left", "cheek_right", "forehead", "chin", "moustache"):
            assert tuple(method["probes"][probe]) == PROBE_KEYS
            assert 0.0 <= method["probes"][probe]["iou_median"] <= 1.0
    two = json.loads(json.dumps(one))
    two["video"] = "other.mp4"
    two["fidelity"]["sdk"]["probes"]["cheek_left"]["iou_median"] = 0.123
    lines = fidelity_summary([one, two]).splitlines()
    assert len(lines) == 2 + 2 + 1  # header, rule, two clips, worst
    assert lines[3].startswith("| other.mp4 | 0.12 / ")
    assert lines[4].startswith("| **worst** | 0.12 / ")


def test_excess_change_counts_what_a_switch_adds():
    from streamedit_sdk.apps.eval.switches import ExcessChange

    rng = np.random.default_rng(3)
    frames = [np.full((32, 32, 3), 100 + t, np.uint8) for t in range(8)]  # 1 level a frame
    excess = ExcessChange()
    for t, f in enumerate(frames):
        out = f.copy()
        if t >= 5:  # a switch at frame 5 shifts the edit by 6 levels, which then stays
            out = (out + 6).astype(np.uint8)
        out[0, 0] = rng.integers(0, 255, 3)  # one noisy pixel: no spike
        excess.add(f, out, reference_id=0 if t < 5 else 5)
    s = excess.summary()
    assert s["switches"] == 1 and s["switch_frames"] == [5]
    assert s["spikes"] == 1 and s["switch_excess_max"] == pytest.approx(6.0, abs=0.3)
    assert abs(s["excess_median"]) < 0.3 and len(s["excess"]) == 7


def test_the_consistency_pass_reports_the_excess_change_of_a_style_and_a_drawn_edit(report):
    data = report.to_json()["switches"]
    assert set(data) == {"style", "drawn"}
    assert data["style"]["mode"] == "replace" and data["drawn"]["mode"] == "residual"
    for name, s in data.items():
        assert s["frames"] == FRAMES and len(s["excess"]) == FRAMES - 1, name
        assert s["switches"] == 3 and s["switch_frames"] == [6, 12, 18], name  # interval 6
    assert "excess change, style (replace)" in report.table()
