"""The errors the SDK raises for conditions a user can fix; each message says what to do."""

from __future__ import annotations


class NoFaceError(ValueError):
    """The reference frame shows no face the landmark tracker can find."""


class ModelFileError(ValueError):
    """A model or engine file is missing, corrupt, or was built for something else."""


class BackendUnavailableError(RuntimeError):
    """The backend asked for cannot run here (no GPU, no CUDA build of torch, no kernels)."""


class VideoError(ValueError):
    """A video file is missing, unreadable or holds no video frames."""


class UnsafeOutputError(ValueError):
    """An output would overwrite an input or another output of the same run."""


class EditorLost(RuntimeError):
    """A remote editor (a Ray actor) died: the stream goes on with a new one, which needs a
    new reference (the live loop takes the next frame that shows a face)."""
