"""Lazy import of MediaPipe's legacy ``solutions`` API (0.10.x wheels bundle its models)."""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from types import ModuleType
from typing import Iterator


def solutions() -> ModuleType:
    """``mediapipe.solutions``, or an ImportError that says which release to install."""
    # MediaPipe's C++ side logs through glog; keep its start-up chatter off stderr unless the
    # application asked for it.
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        import mediapipe as mp
        return mp.solutions
    except (ImportError, AttributeError) as exc:
        raise ImportError(
            "streamedit_sdk needs mediapipe 0.10.x with the legacy solutions API "
            "(mediapipe 1.x ships no model files): pip install 'mediapipe==0.10.14'") from exc


@contextmanager
def quiet() -> Iterator[None]:
    """Silence the protobuf deprecation warning MediaPipe 0.10 raises on every call."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*GetPrototype.*", category=UserWarning)
        yield
