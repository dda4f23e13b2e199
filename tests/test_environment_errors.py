"""Environment errors are one line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import socket

import pytest

from streamedit_sdk.apps import synthetic
from streamedit_sdk.cli import main
from streamedit_sdk.io.video import VideoWriter


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clips") / "face.mp4"
    with VideoWriter(path, 25) as w:
        for f in synthetic.clip(6)[0]:
            w.write(f)
    return path


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_line(capsys, *needles: str) -> None:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert err.startswith("streamedit ") and len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, err


@pytest.mark.parametrize("scheme, needle", [
    ("rtmp://127.0.0.1:{port}/live/x", "is the server running"),
    ("srt://127.0.0.1:{port}?mode=caller", "srt://"),
])
def test_a_url_output_that_cannot_be_reached(clip, capsys, scheme, needle):
    target = scheme.format(port=_closed_port())
    assert main(["stream", "--input", str(clip), "--output", target, "--sticker", "star"]) == 2
    _one_line(capsys, needle)


def test_an_output_folder_that_cannot_be_made(clip, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    assert main(["edit", str(clip), "-o", str(blocker / "out.mp4"), "--sticker", "star",
                 "-q"]) == 2
    _one_line(capsys, "cannot create the folder")


def test_export_of_a_file_that_is_not_a_checkpoint(tmp_path, capsys):
    pytest.importorskip("torch", reason="export needs the [train] extra")
    junk = tmp_path / "notes.pt"
    junk.write_text("not a checkpoint")
    assert main(["export", str(junk), "-o", str(tmp_path / "out")]) == 2
    _one_line(capsys, "is not a StreamEdit PPCE checkpoint")
