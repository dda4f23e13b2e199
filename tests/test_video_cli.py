"""Files end to end: ``streamedit edit`` / ``demo``, frame counts, audio, bad files, real clips."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import streamedit_sdk as se
from streamedit_sdk.apps import synthetic
from streamedit_sdk.cli import main
from streamedit_sdk.io.video import VideoReader, VideoWriter


def _count(path: Path) -> tuple[int, bool]:
    reader = VideoReader(path)
    return sum(1 for _ in reader), reader.info.has_audio


def test_edit_keeps_every_frame_and_the_audio(clips, tmp_path, capsys):
    src = clips / "d18.mp4"
    out = tmp_path / "out.mp4"
    assert main(["edit", str(src), "-o", str(out), "--sticker", "star", "-q"]) == 0
    n_in, audio_in = _count(src)
    n_out, audio_out = _count(out)
    assert audio_in and audio_out
    assert n_out == n_in
    line = capsys.readouterr().out
    assert f"edited {n_in} frames" in line and "reference" in line and "audio copied" in line


@pytest.mark.parametrize("name, frames, replaced", [
    ("s13_fullbody.mp4", 60, True),  # dancing arms: new content, the reference must change
    ("d0.mp4", 78, False),  # a head on a green screen, no large motion
])
def test_reference_replacement_on_clips(clips, name, frames, replaced):
    reader = iter(VideoReader(clips / name))
    first = next(reader)
    with se.StreamEditor() as ed:
        ed.set_reference(first, first)
        ed.process(first)
        for _, frame in zip(range(frames - 1), reader):
            ed.process(frame)
        assert (ed.stats.references > 1) == replaced, ed.stats.reference_ids


def test_demo_writes_what_it_says(tmp_path, capsys):
    """The demo writes four files and prints five lines, and the README and ``--help`` say
    so; its frame strip shows the comparison at full size, each frame under its number."""
    assert main(["demo", "-o", str(tmp_path), "--frames", "12", "-q"]) == 0
    names = ("demo_input.mp4", "demo.mp4", "demo_compare.mp4", "demo_frames.png")
    for name in names:
        assert (tmp_path / name).is_file()
    n, _ = _count(tmp_path / "demo_compare.mp4")
    assert n == 12
    frame = next(iter(VideoReader(tmp_path / "demo_compare.mp4")))
    assert frame.shape == (512, 1024, 3)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5 and "edited 12 frames" in lines[0]
    assert [line.split()[-1].rsplit("/", 1)[-1] for line in lines[1:]] == list(names)
    import cv2
    strip = cv2.imread(str(tmp_path / "demo_frames.png"))
    band = strip.shape[0] // 4 - 512
    assert strip.shape[1] == 1024 and 20 <= band <= 60  # four full-size frames, each banded
    for k in range(4):  # a dark band with light text (the frame number), then the frame
        top = strip[k * (512 + band): k * (512 + band) + band]
        assert np.median(top) < 40 and top.max() > 200
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    demo = readme[readme.index("Install and run the demo"):readme.index("Install and run the "
                                                                         "tests")]
    assert "./streamedit-demo" in demo and "five lines" in demo
    assert all(name in demo for name in names)
    from streamedit_sdk.cli import build_parser
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    help_text = sub.choices["demo"].format_help()
    assert "streamedit-demo" in help_text and "demo_input.mp4" in help_text


def test_demo_refuses_what_it_cannot_do_and_keeps_what_was_there(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path), "--frames", "2", "-q"]) == 0
    import cv2
    strip = cv2.imread(str(tmp_path / "demo_frames.png"))
    assert strip.shape[0] < 3 * 512  # two frames, each once (not 0, 0, 1, 1)
    before = (tmp_path / "demo_input.mp4").read_bytes()
    with pytest.raises(SystemExit):
        main(["demo", "-o", str(tmp_path), "--frames", "0"])
    assert main(["demo", "-o", str(tmp_path), "--frames", "1", "-q"]) == 2
    assert "at least 2 frames" in capsys.readouterr().err
    assert main(["demo", "-o", str(tmp_path / "demo.mp4"), "-q"]) == 2  # a file, not a folder
    assert "is a file: the demo writes four files into a folder" in capsys.readouterr().err
    assert (tmp_path / "demo_input.mp4").read_bytes() == before


def test_the_readme_says_what_the_runtime_installs():
    """What ``pip install .`` brings besides the runtime's own needs is said as it is (the
    README once claimed 'no protobuf' while onnxruntime brings it)."""
    from importlib.metadata import requires

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    install = readme[readme.index("**Install.**"):readme.index("Extras:")]
    assert "no protobuf" not in install
    for dist, dep in (("onnxruntime", "protobuf"), ("mediapipe", "matplotlib")):
        if any(r.split()[0].lower().startswith(dep) for r in requires(dist) or []
               if "extra ==" not in r):
            assert dep in install, f"{dist} installs {dep}: the README should say so"


def _synthetic_video(path: Path, frames: int = 6) -> None:
    photo = synthetic.astronaut()
    with VideoWriter(path, 25) as w:
        for _ in range(frames):
            w.write(photo)


def test_unknown_style_fails_before_decoding(tmp_path, capsys):
    assert main(["edit", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "o.mp4"),
                 "--style", "bogus", "-q"]) == 2
    assert "unknown style 'bogus': choose one of cartoon" in capsys.readouterr().err


def test_missing_and_unreadable_input(tmp_path, capsys):
    assert main(["edit", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "o.mp4"),
                 "--style", "cartoon", "-q"]) == 2
    assert "does not exist" in capsys.readouterr().err
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    assert main(["edit", str(junk), "-o", str(tmp_path / "o.mp4"), "--style", "cartoon",
                 "-q"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_truncated_input_keeps_the_good_frames(tmp_path):
    full = tmp_path / "full.mp4"
    _synthetic_video(full, frames=20)
    cut = tmp_path / "cut.mp4"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "out.mp4"
    code = main(["edit", str(cut), "-o", str(out), "--style", "teal-orange", "-q"])
    if code == 0:  # decodable frames come out one for one
        n_in, _ = _count(cut)
        assert _count(out)[0] == n_in >= 1
    else:  # mp4 keeps its index at the end: a cut file may hold no readable frame at all
        assert code == 2


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary (apt-get "
                    "install ffmpeg; .ci/run installs it)")
def test_a_cut_faststart_file_is_reported_truncated(clips, tmp_path, caplog, capsys):
    """The index sits at the front (+faststart), so the cut file opens and decodes half of
    its frames: the summary and the log say it ended early."""
    whole = tmp_path / "fs.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(clips / "d18.mp4"), "-frames:v", "60",
                    "-c:v", "libx264", "-c:a", "copy", "-movflags", "+faststart", str(whole)],
                   check=True)
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out.mp4"
    assert main(["edit", str(cut), "-o", str(out), "--sticker", "star", "-q"]) == 0
    n = _count(out)[0]
    assert 5 <= n < 60
    assert "input ended early (truncated)" in capsys.readouterr().out
    assert f"lists 60 frames but only {n} could be decoded" in caplog.text


def test_zero_frames_and_bad_reference(tmp_path, capsys):
    video = tmp_path / "v.mp4"
    _synthetic_video(video)
    small = tmp_path / "small.png"
    import cv2
    cv2.imwrite(str(small), np.zeros((10, 20, 3), np.uint8))
    assert main(["edit", str(video), "-o", str(tmp_path / "o.mp4"), "--edited-ref", str(small),
                 "-q"]) == 2
    assert "edited reference is 20x10 but frames are 512x512" in capsys.readouterr().err
    assert main(["edit", str(video), "-o", str(tmp_path / "o.mp4"), "--style", "cartoon",
                 "--ref-frame", "99", "-q"]) == 2
    assert "has no frame 99" in capsys.readouterr().err
    import av
    empty = tmp_path / "empty.mp4"  # a container whose video stream never got a frame
    with av.open(str(empty), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        container.start_encoding()
    assert main(["edit", str(empty), "-o", str(tmp_path / "o.mp4"), "--style", "cartoon",
                 "-q"]) == 2
    assert f"{empty} holds no video" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()


def test_no_face_in_reference(tmp_path, capsys):
    video = tmp_path / "grey.mp4"
    with VideoWriter(video, 25) as w:
        for _ in range(3):
            w.write(np.full((128, 128, 3), 120, np.uint8))
    assert main(["edit", str(video), "-o", str(tmp_path / "o.mp4"), "--sticker", "star",
                 "-q"]) == 2
    assert "--ref-frame" in capsys.readouterr().err
    import cv2
    assert not (tmp_path / "o.mp4").exists()
    edited = tmp_path / "edited.png"  # an edit of the whole frame needs no face
    cv2.imwrite(str(edited), np.full((128, 128, 3), 30, np.uint8))
    assert main(["edit", str(video), "-o", str(tmp_path / "o.mp4"), "--edited-ref", str(edited),
                 "-q"]) == 0
    assert "no face in the reference frame: the edit is carried by optical flow" in \
        capsys.readouterr().out
    assert _count(tmp_path / "o.mp4")[0] == 3


def test_replace_every_sets_a_fixed_schedule(tmp_path, capsys):
    src = tmp_path / "moving.mp4"
    with VideoWriter(src, 25) as w:
        for frame in synthetic.clip(12)[0]:
            w.write(frame)
    out = tmp_path / "out.mp4"
    assert main(["edit", str(src), "-o", str(out), "--style", "teal-orange",
                 "--replace-every", "5", "-q"]) == 0
    assert "3 references (frames 0, 5, 10)" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # a schedule and no replacement at all contradict
        main(["edit", str(src), "-o", str(out), "--style", "cartoon", "--replace-every", "5",
              "--no-replace"])


def test_summary_line_counts_in_english():
    from streamedit_sdk.apps.edit_file import EditSummary

    one = EditSummary(Path("in.mp4"), Path("out.mp4"), 9, (0,), 0, 0, 1.0, False, False)
    assert "1 reference (frame 0)," in one.line()
    two = EditSummary(Path("in.mp4"), Path("out.mp4"), 9, (0, 4), 0, 0, 1.0, False, False)
    assert "2 references (frames 0, 4)," in two.line()


def test_frames_of_odd_widths_are_contiguous(tmp_path):
    """PyAV pads the rows of some widths (844, 700 px): the reader's frames are C-contiguous,
    as the kernels need (``eval`` failed on such clips)."""
    import numpy as np

    from streamedit_sdk.io.video import VideoReader, VideoWriter

    path = tmp_path / "odd.mp4"
    with VideoWriter(path, 25) as writer:
        for k in range(3):
            writer.write(np.full((422, 422, 3), 40 * k, np.uint8))
    frames = list(VideoReader(path))
    assert len(frames) == 3 and all(f.flags.c_contiguous for f in frames)
