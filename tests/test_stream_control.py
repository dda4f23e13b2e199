"""``streamedit stream``'s control channel: the edit changed between two frames over HTTP or a
watched file, the mode following the edit, a lost editor, bad requests refused before they
are accepted, and the access rule (loopback, else a token on every request)."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from stream_helpers import ListSink, ListSource, run_stream

import streamedit_sdk as se
from streamedit_sdk import edits
from streamedit_sdk.apps.stream import EditRequest, HttpControl, StreamRunner, WatchedFile
from streamedit_sdk.apps.stream.control import check_control
from streamedit_sdk.cli import main
from streamedit_sdk.edits.spec import EditSpec
from streamedit_sdk.errors import EditorLost


def test_http_control_switches_the_edit_without_a_glitch(frames):
    before, after = edits.style("cartoon"), edits.style("teal-orange")
    control = HttpControl(0, lambda: {})
    body = json.dumps({"style": "teal-orange"}).encode()

    def hook(i):
        if i == 12:
            req = urllib.request.Request(control.url + "/edit", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=5) as r:
                assert r.status == 202
    try:
        sink, stats = run_stream(frames, EditSpec(style="cartoon"), control=control, hook=hook)
    finally:
        control.close()
    assert stats.frames_out == len(frames) and stats.edit_changes == 1
    # every frame carries one edit or the other, never none: no glitch frame
    looks = []
    for f, out in zip(frames, sink.frames):
        d_before = np.abs(out.astype(int) - before(f)).mean()
        d_after = np.abs(out.astype(int) - after(f)).mean()
        d_none = np.abs(out.astype(int) - f).mean()
        assert min(d_before, d_after) < d_none, "a frame went out without the edit"
        looks.append("after" if d_after < d_before else "before")
    switch = looks.index("after")
    assert looks[:switch] == ["before"] * switch and looks[switch:] == ["after"] * (
        len(frames) - switch)
    # posted when the reader took frame 12; the editor is at most queue (4) + 1 frames behind
    assert 12 - 5 <= switch <= 13


class _Requests:
    def __init__(self, at: int, request: EditRequest):
        self.at, self.request, self.polls = at, request, 0

    def poll(self):
        self.polls += 1
        return self.request if self.polls == self.at else None


@pytest.mark.parametrize("follow", [True, False])
def test_the_mode_follows_the_edit_unless_it_was_given(frames, follow):
    sticker = EditRequest(EditSpec(sticker="star"))
    with se.StreamEditor() as editor:
        assert editor.config.mode == "replace"
        runner = StreamRunner(ListSource(frames[:8]), ListSink(), editor,
                              EditSpec(style="cartoon"), control=_Requests(4, sticker),
                              report=lambda line: None, follow_mode=follow)
        stats = runner.run()
        assert stats.edit_changes == 1 and stats.references == 2
        assert editor.config.mode == ("residual" if follow else "replace")
        with pytest.raises(ValueError, match="mode"):
            editor.set_reference(frames[0], frames[0], mode="sideways")
        assert editor.config.mode == ("residual" if follow else "replace")


class _LosingEditor:
    """An editor whose process dies once, at frame ``lose_at`` (as a Ray actor's can)."""

    def __init__(self, lose_at: int, lose_on_reference: int | None = None):
        self.lose_at, self.calls, self.references = lose_at, 0, []
        self.lose_on_reference = lose_on_reference  # or lose it while taking this reference
        self.stats = type("Stats", (), {"references": 0})()

    def set_reference(self, frame, edited, *, index=0, mode=None, needs_face=True,
                      inpainter=None):
        if len(self.references) + 1 == self.lose_on_reference:
            self.lose_on_reference = None
            self.references.append(None)
            raise EditorLost("the actor died")
        self.references.append(index)
        self.stats.references = 1

    def process(self, frame):
        self.calls += 1
        if self.calls == self.lose_at:
            raise EditorLost("the actor died")
        return type("Result", (), {"frame": frame, "face_found": True})()


def test_a_lost_editor_restarts_the_edit_on_the_next_frame(frames):
    editor = _LosingEditor(lose_at=5)
    sink = ListSink()
    runner = StreamRunner(ListSource(frames[:12]), sink, editor, EditSpec(style="cartoon"),
                          report=lambda line: None)
    stats = runner.run()
    # the 5th process call (frame 4) lost the editor: frame 4 went out unedited, frame 5 is
    # the new reference
    assert stats.restarts == 1 and stats.passed_through == 1 and stats.frames_out == 12
    assert editor.references == [0, 5]
    assert len(sink.frames) == 12


def test_an_editor_lost_while_the_edit_changes_starts_the_new_edit(frames):
    editor = _LosingEditor(lose_at=0, lose_on_reference=2)  # the change's reference is lost
    sticker = EditRequest(EditSpec(sticker="star"))
    runner = StreamRunner(ListSource(frames[:8]), ListSink(), editor,
                          EditSpec(style="cartoon"), control=_Requests(4, sticker),
                          report=lambda line: None)
    stats = runner.run()
    # the change at frame 3 (the 4th poll) lost the editor; the new one takes frame 3 itself
    # as the sticker's reference, so no frame goes out unedited
    assert editor.references == [0, None, 3]
    assert stats.restarts == 1 and stats.edit_changes == 1 and stats.passed_through == 0
    assert runner.spec.sticker == "star" and stats.frames_out == 8


def test_watched_file_changes_the_edit(frames, tmp_path):
    path = tmp_path / "edit.json"
    control = WatchedFile(path)

    def hook(i):
        if i == 6:
            path.write_text(json.dumps({"sticker": "star", "sticker_at": "forehead"}))
    _, stats = run_stream(frames[:16], EditSpec(style="cartoon"), control=control, hook=hook)
    assert stats.edit_changes == 1 and stats.frames_out == 16


@pytest.mark.parametrize("text, message", [
    ("{", "not JSON"), ("[1]", "JSON object"), ('{"hat": 1}', "unknown keys"),
    ('{"style": "nope"}', "style"), ('{}', "exactly one edit"),
])
def test_bad_control_requests_are_refused_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        EditRequest.parse(text)


def _bad_requests(tmp_path: Path) -> dict[str, tuple[bytes, str]]:
    """Requests that must be refused before they are accepted: body -> expected reason."""
    not_image = tmp_path / "notes.png"
    not_image.write_text("not an image")
    return {
        "style": (b'{"style": "nope"}', "style"),
        "missing edited_ref": (json.dumps({"edited_ref": str(tmp_path / "gone.png")}).encode(),
                               "does not exist"),
        "unknown sticker_at": (b'{"sticker": "star", "sticker_at": "nose"}',
                               "unknown sticker place"),
        "sticker not an image": (json.dumps({"sticker": str(not_image)}).encode(),
                                 "could not read"),
        "reference not an image": (json.dumps({"style": "cartoon", "reference":
                                               str(not_image)}).encode(), "not an image"),
        "not a string": (b'{"style": 3}', "non-empty string"),
        "deeply nested": (b'{"style": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
                          "nested too deeply"),
    }


def test_http_control_answers_bad_requests_with_400(tmp_path):
    control = HttpControl(0, lambda: {"frames_out": 3})
    try:
        with urllib.request.urlopen(control.url + "/stats", timeout=5) as r:
            assert json.load(r) == {"frames_out": 3}
        for name, (body, reason) in _bad_requests(tmp_path).items():
            req = urllib.request.Request(control.url + "/edit", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(req, timeout=5)
            assert err.value.code == 400, name
            assert reason in json.load(err.value)["error"], name
        assert control.poll() is None  # nothing was accepted
    finally:
        control.close()


CONTROL_TOKEN = "a-control-token-24-chars"


def _status(url: str, body: bytes | None = None, token: str | None = None) -> int:
    """The HTTP status of a GET (``body`` None) or POST to the control endpoint."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=body, headers=headers,
                                 method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


def test_http_control_off_loopback_needs_its_token_on_every_request():
    with pytest.raises(ValueError, match="--control-token"):
        HttpControl(0, lambda: {}, host="0.0.0.0")
    with pytest.raises(ValueError, match="at least 16"):
        HttpControl(0, lambda: {}, host="0.0.0.0", token="short")
    check_control("http://192.0.2.7:8765", CONTROL_TOKEN)  # allowed with a token
    for target in ("http://0.0.0.0:8765", "http://example.com:80"):
        with pytest.raises(ValueError, match="--control-token"):
            check_control(target)
    control = HttpControl(0, lambda: {"frames_out": 1}, token=CONTROL_TOKEN)
    try:
        style = b'{"style": "cartoon"}'
        assert _status(control.url + "/stats") == 401
        assert _status(control.url + "/stats", token="wrong-token-of-24-chars!") == 401
        assert _status(control.url + "/edit", style) == 401
        assert control.poll() is None  # refused without the token: nothing changes
        assert _status(control.url + f"/stats?token={CONTROL_TOKEN}") == 200
        assert _status(control.url + "/edit", b"{", CONTROL_TOKEN) == 400
        assert _status(control.url + "/edit", b" " * (1 << 17), CONTROL_TOKEN) == 413
        assert control.poll() is None
        assert _status(control.url + "/edit", style, CONTROL_TOKEN) == 202
        assert control.poll().spec.style == "cartoon"
    finally:
        control.close()


def test_bad_requests_are_refused_before_acceptance(tmp_path):
    for name, (body, reason) in _bad_requests(tmp_path).items():
        with pytest.raises(ValueError, match=reason):
            EditRequest.parse(body.decode())


def test_a_control_port_in_use_is_one_line(clip_file, tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["stream", "--input", str(clip_file), "--output", str(tmp_path / "o.mp4"),
                     "--style", "cartoon", "--control", f"http://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert "Address already in use" in err and "choose another" in err
    assert "Traceback" not in err
