"""What the edit cannot see: occluders composited over a moving face with exact masks, a
cut to a shot without a face, and the visibility the editor reports (EditResult.visibility,
hidden_share), its network file and its settings."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

import streamedit_sdk as se
from streamedit_sdk.apps import synthetic
from streamedit_sdk.apps.eval import cuts, occlusion
from streamedit_sdk.apps.eval.carriers import mesh_truth
from streamedit_sdk.apps.eval.occluders import KINDS, Path, make_occluder, occluded_clip
from streamedit_sdk.core.visibility import OcclusionNet, shipped_visibility_dir
from streamedit_sdk.errors import ModelFileError

FRAMES = occlusion.PATH.gone + 4


@pytest.fixture(scope="module")
def portrait():
    """The synthetic moving portrait and its independent face mesh."""
    frames = synthetic.clip(max(FRAMES, cuts.CUT_AT + cuts.CUT_FRAMES + cuts.AFTER))[0]
    return frames, mesh_truth(frames, 512)


@pytest.fixture(scope="module")
def child(clips):
    """d11 (a child talking, real footage) and its independent face mesh."""
    from streamedit_sdk.io.video import VideoReader

    frames = [f for _, f in zip(range(FRAMES), VideoReader(clips / "d11.mp4"))]
    return frames, mesh_truth(frames, 512)


@pytest.fixture(scope="module")
def occluded(child):
    """The occlusion pass on d11: a finger in her own skin and a dark object."""
    frames, truth = child
    return occlusion.measure(lambda: iter(frames), truth, se.EditorConfig(),
                             kinds=("finger", "object"), frame_count=FRAMES)


@pytest.mark.parametrize("kind", ["finger", "object"])
def test_a_sticker_goes_behind_what_covers_it(occluded, kind):
    """The star on the cheek is not drawn on the occluder (a finger in the person's own skin,
    a dark object), its visible part stays, and the identity edit shows the occluder as it
    is rather than the face behind it."""
    s = occluded[kind]
    assert s["frames"] >= 10
    assert s["drawn_on_occluder"] <= 0.10, s
    assert s["visible_iou"] >= 0.6, s
    assert s["psnr_occluder"] >= s["psnr_face"] - 3.0, s
    assert s["visibility_auc"] >= 0.9, s


def test_without_visibility_the_sticker_is_drawn_on_the_occluder(child):
    """The measure itself can fail: with visibility off the star lands on the finger."""
    frames, truth = child
    off = occlusion.measure(lambda: iter(frames), truth, se.EditorConfig(visibility=None),
                            kinds=("finger",), frame_count=FRAMES)["finger"]
    assert off["drawn_on_occluder"] >= 0.5, off


def test_the_network_beats_the_classical_signal(occluded):
    for kind in ("finger", "object"):
        signals = occluded[kind]["signals"]
        assert signals["network"]["visibility_iou"] > signals["residual"]["visibility_iou"]


def test_nothing_of_a_face_edit_stays_after_a_cut(portrait):
    """A hard cut to a shot without a face: no edit pixel on the faceless frames, and the
    sticker back whole once the face returns."""
    frames, truth = portrait
    got = cuts.measure(lambda: iter(frames), truth, se.EditorConfig())
    assert len(got["edit_px_faceless"]) == cuts.CUT_FRAMES
    assert got["max"] == 0, got["edit_px_faceless"]
    assert got["sticker_after"] >= 0.6, got


def test_the_editor_reports_visibility_and_holds_references_while_the_face_is_hidden(
        portrait):
    frames, truth = portrait
    occluder = make_occluder("object", frames[0], truth[0], np.random.default_rng(0))
    path = Path(enter=2, arrive=6, leave=30, gone=34)
    config = se.EditorConfig(replacement=se.ReplacementConfig(interval=4))
    taken = []
    with se.StreamEditor(config) as editor:
        editor.set_reference(frames[0], frames[0])
        for i, (frame, mask) in enumerate(occluded_clip(frames[:36], truth, occluder, path)):
            r = editor.process(frame)
            assert r.visibility is not None and r.visibility.dtype == np.float32
            assert r.visibility.shape == frame.shape[:2] and 0.0 <= r.hidden_share <= 1.0
            if 10 <= i < 28:
                assert r.hidden_share > 0.05, i  # the object covers the cheek
                assert not r.replaced, i  # an occluder is never adopted as a reference
            if r.replaced:
                taken.append(i)
    assert taken and all(i < 8 or i >= 28 for i in taken)  # the schedule goes on around it
    faceless = np.full_like(frames[0], 120)
    with se.StreamEditor() as editor:
        editor.set_reference(frames[0], frames[0])
        r = editor.process(faceless)
        assert r.visibility is None and r.hidden_share == 0.0  # no face: nothing judged


def test_the_network_file_is_checked(tmp_path):
    folder = tmp_path / "visibility"
    shutil.copytree(shipped_visibility_dir(), folder)
    OcclusionNet(folder)  # the shipped one loads
    meta = json.loads((folder / "model.json").read_text())
    net = folder / meta["net"]
    net.write_bytes(net.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelFileError, match="sha256 differs"):
        OcclusionNet(folder)
    with pytest.raises(ModelFileError, match="model.json missing"):
        OcclusionNet(tmp_path / "nowhere")


def test_visibility_settings_are_checked():
    with pytest.raises(ValueError, match="occluders"):
        se.Visibility(occluders="magic")
    with pytest.raises(ValueError, match="residual_low"):
        se.Visibility(residual_low=30.0, residual_high=20.0)
    with pytest.raises(TypeError, match="visibility"):
        se.EditorConfig(visibility="on")
    assert dataclasses.replace(se.Visibility(), occluders="residual").occluders == "residual"


@pytest.mark.parametrize("flag, occluders", [(None, "network"), ("residual", "residual"),
                                             ("off", None)])
def test_the_visibility_option_sets_the_editor(flag, occluders):
    from streamedit_sdk.cli.main import build_parser
    from streamedit_sdk.cli.options import editor_config

    argv = ["edit", "in.mp4", "-o", "out.mp4", "--style", "cartoon"]
    args = build_parser().parse_args(argv + (["--visibility", flag] if flag else []))
    vis = editor_config(args).visibility
    assert (vis and vis.occluders) == occluders


def test_occluders_have_exact_masks(portrait):
    frames, truth = portrait
    rng = np.random.default_rng(3)
    for kind in KINDS:
        occluder = make_occluder(kind, frames[0], truth[0], rng)
        pairs = list(occluded_clip(frames[:30], truth, occluder, Path(2, 10, 20, 28)))
        frame, mask = pairs[15]
        assert mask.any() and not pairs[0][1].any(), kind
        changed = np.abs(frame.astype(int) - frames[15]).max(axis=2) > 0
        assert np.count_nonzero(mask & ~changed) < 0.05 * np.count_nonzero(mask), kind
