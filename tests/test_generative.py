"""Prompt editing and diffusion inpainting on tiny random pipelines (tests/tiny_diffusion.py):
the real diffusers code path end to end, loaded from folders as a user's weights would be."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("diffusers", reason="prompt editing needs pip install '.[diffusion]'")
pytest.importorskip("torch", reason="prompt editing needs torch")

import tiny_diffusion  # noqa: E402

from streamedit_sdk.apps import synthetic  # noqa: E402
from streamedit_sdk.cli import main  # noqa: E402
from streamedit_sdk.generative import (ControlNetEditor, DiffusionInpainter, DiffusionSettings,
                                       InstructPix2PixEditor, PromptEdit, WeightsError, blend,
                                       landmark_drawing, region_mask)
from streamedit_sdk.io.video import VideoReader, VideoWriter  # noqa: E402

FAST = DiffusionSettings(steps=2, resolution=64, device="cpu")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    root = tmp_path_factory.mktemp("weights")
    sd, cn = tiny_diffusion.save_controlnet(root / "sd", root / "controlnet")
    return {"ip2p": tiny_diffusion.save_instruct_pix2pix(root / "ip2p"),
            "inpaint": tiny_diffusion.save_inpaint(root / "inpaint"), "sd": sd, "cn": cn}


@pytest.fixture(scope="module")
def photo():
    return synthetic.astronaut()


def test_instruct_pix2pix_edit_is_seeded_and_kept_inside_the_mask(weights, photo):
    editor = InstructPix2PixEditor(weights["ip2p"], FAST)
    mask = region_mask(photo, "face")
    assert 0.02 < mask.mean() < 0.5
    a = editor.edit(photo, "make her jacket red", mask=mask, seed=3)
    assert a.shape == photo.shape and a.dtype == np.uint8
    np.testing.assert_array_equal(a, editor.edit(photo, "make her jacket red", mask=mask, seed=3))
    assert (a != editor.edit(photo, "make her jacket red", mask=mask, seed=4)).any()
    np.testing.assert_array_equal(a[~mask], photo[~mask])  # outside the mask: untouched
    assert np.abs(a[mask].astype(int) - photo[mask]).mean() > 5  # random weights: it changed
    whole = editor.edit(photo, "make her jacket red", seed=3)
    assert np.abs(whole[~mask].astype(int) - photo[~mask]).mean() > 5
    with pytest.raises(ValueError, match="prompt is empty"):
        editor.edit(photo, "  ")


@pytest.mark.parametrize("condition", ["canny", "landmarks"])
def test_controlnet_edit_conditions_on_the_face(weights, photo, condition):
    editor = ControlNetEditor(weights["sd"], weights["cn"], condition, FAST)
    small = photo[::8, ::8].copy()
    control = editor.control_image(small)
    assert control.shape == small.shape and control.dtype == np.uint8
    assert 0.005 < (control > 0).mean() < 0.5  # edges / mesh lines, not a blank or full image
    out = editor.edit(photo, "a portrait in a superman costume", seed=1)
    assert out.shape == photo.shape and out.dtype == np.uint8


def test_landmark_drawing_is_empty_without_a_face():
    assert not landmark_drawing(np.zeros((64, 64, 3), np.uint8)).any()


def test_blend_feathers_inside_the_mask_only(photo):
    mask = np.zeros(photo.shape[:2], bool)
    mask[100:300, 150:350] = True
    out = blend(photo, np.zeros_like(photo), mask)
    np.testing.assert_array_equal(out[~mask], photo[~mask])
    assert (out[200, 250] == 0).all()  # deep inside: the edit
    assert 0 < out[101, 250].mean() < photo[101, 250].mean() + 1  # at the seam: between


def test_diffusion_inpainter_fills_only_the_mask(weights, photo):
    inpainter = DiffusionInpainter(weights["inpaint"], "a red jacket", FAST, seed=2)
    delta = np.full(photo.shape, 10.0, np.float32)
    mask = np.zeros(photo.shape[:2], bool)
    mask[200:320, 180:300] = True
    out = inpainter.fill(photo, delta, mask)
    assert out.dtype == np.float32 and out.shape == delta.shape and inpainter.calls == 1
    np.testing.assert_array_equal(out[~mask], delta[~mask])
    assert np.abs(out[mask] - delta[mask]).mean() > 1.0
    tiny = np.zeros_like(mask)
    tiny[5, 5] = True  # a handful of pixels: left to the classical fill
    assert inpainter.fill(photo, delta, tiny) is delta and inpainter.calls == 1


def test_missing_weights_are_named(weights, tmp_path, monkeypatch):
    broken = tmp_path / "broken"
    shutil.copytree(weights["ip2p"], broken)
    shutil.rmtree(broken / "unet")
    with pytest.raises(WeightsError, match="has no unet/"):
        InstructPix2PixEditor(broken, FAST)
    (broken / "model_index.json").unlink()
    with pytest.raises(WeightsError, match="no model_index.json"):
        InstructPix2PixEditor(broken, FAST)
    with pytest.raises(WeightsError, match="does not exist"):
        InstructPix2PixEditor(tmp_path / "nowhere", FAST)
    with pytest.raises(WeightsError, match="no config.json"):
        ControlNetEditor(weights["sd"], tmp_path, "canny", FAST)
    # a repository id that is not in the (empty) cache: nothing is downloaded
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(WeightsError, match="not in the Hugging Face cache.*--allow-download"):
        InstructPix2PixEditor("someone/not-cached-model", FAST)


def test_prompt_edit_checks_its_options():
    with pytest.raises(ValueError, match="--controlnet-dir"):
        PromptEdit("a hat", "w", editor="controlnet")
    with pytest.raises(ValueError, match="edit region"):
        PromptEdit("a hat", "w", region="hands")
    with pytest.raises(ValueError, match="prompt is empty"):
        PromptEdit("", "w")


@pytest.fixture(scope="module")
def moving_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "moving.mp4"
    with VideoWriter(path, 25) as w:
        for frame in synthetic.clip(10)[0]:
            w.write(frame)
    return path


def test_cli_prompt_edit_end_to_end(weights, moving_video, tmp_path, capsys, caplog):
    out = tmp_path / "out.mp4"
    args = ["edit", str(moving_video), "-o", str(out), "--prompt", "make her jacket red",
            "--diffusion-dir", str(weights["ip2p"]), "--steps", "2", "--diffusion-side", "64",
            "--edit-region", "face", "--seed", "3", "--inpaint-dir", str(weights["inpaint"]),
            "--replace-every", "4", "--device", "cpu", "-q"]
    with caplog.at_level("INFO", logger="streamedit_sdk.generative"):
        assert main(args) == 0
    # the replacements at frames 4 and 8 painted what the old reference had not seen
    assert sum("inpainted" in r.getMessage() for r in caplog.records) >= 1
    line = capsys.readouterr().out
    saved = tmp_path / "out_reference.png"
    assert "edited 10 frames" in line and str(saved) in line
    assert len(list(VideoReader(out))) == 10
    import cv2
    reference = cv2.cvtColor(cv2.imread(str(saved)), cv2.COLOR_BGR2RGB)
    first = next(iter(VideoReader(moving_video)))
    face = region_mask(first, "face")
    assert np.abs(reference[~face].astype(int) - first[~face]).max() == 0
    assert np.abs(reference[face].astype(int) - first[face]).mean() > 5
    # the same seed makes the same edited reference
    assert main(args[:3] + [str(tmp_path / "again.mp4")] + args[4:]) == 0
    again = cv2.imread(str(tmp_path / "again_reference.png"))
    np.testing.assert_array_equal(again, cv2.imread(str(saved)))


def test_cli_controlnet_edit(weights, moving_video, tmp_path, capsys):
    out = tmp_path / "cn.mp4"
    assert main(["edit", str(moving_video), "-o", str(out), "--prompt", "a superman costume",
                 "--editor", "controlnet", "--diffusion-dir", str(weights["sd"]),
                 "--controlnet-dir", str(weights["cn"]), "--control", "landmarks",
                 "--steps", "2", "--diffusion-side", "64", "--device", "cpu", "-q"]) == 0
    assert (tmp_path / "cn_reference.png").is_file()


@pytest.mark.parametrize("extra, message", [
    ([], "--prompt needs --diffusion-dir"),
    (["--diffusion-dir", "DIR", "--editor", "controlnet"], "needs ControlNet weights"),
    (["--diffusion-dir", "/no/such/folder"], "does not exist"),
])
def test_cli_prompt_errors(moving_video, tmp_path, capsys, extra, message):
    code = main(["edit", str(moving_video), "-o", str(tmp_path / "o.mp4"), "--prompt", "a hat",
                 "-q"] + [str(tmp_path) if a == "DIR" else a for a in extra])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()


def test_cli_inpaint_dir_needs_a_prompt(moving_video, tmp_path, capsys):
    code = main(["edit", str(moving_video), "-o", str(tmp_path / "o.mp4"), "--style", "cartoon",
                 "--inpaint-dir", str(tmp_path), "-q"])
    assert code == 2 and "--inpaint-dir goes with --prompt" in capsys.readouterr().err


def test_model_index_lists_the_components(weights):
    index = json.loads((weights["ip2p"] / "model_index.json").read_text())
    assert {"unet", "vae", "text_encoder", "tokenizer", "scheduler"} <= set(index)
