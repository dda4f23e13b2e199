"""TensorRT engines for an exported model folder (``streamedit export --tensorrt``).

The build and the engine cache live in the runtime (``streamedit_sdk.backends.tensorrt``), so a
deployed SDK builds the same engines without torch; the profiles come from the network specs
(``streamedit_sdk.netspec.profiles``).
"""

from __future__ import annotations

import json
from pathlib import Path

from streamedit_sdk.backends.netspec import profiles
from streamedit_sdk.backends.tensorrt import cached_engine


def build_engines(folder: Path, cache_dir: Path, precision: str = "fp16",
                  force: bool = False) -> list[Path]:
    """Build (or reuse from ``cache_dir``) one engine per network of ``folder``."""
    meta = json.loads((folder / "model.json").read_text())
    return [cached_engine(folder / name, cache_dir, prof, precision, force)
            for name, prof in profiles(meta).items()]
