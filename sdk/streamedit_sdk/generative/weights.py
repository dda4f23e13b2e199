"""Where the diffusion weights come from, and loading them (never a silent download).

A model is a diffusers pipeline folder (``model_index.json`` plus one sub-folder per component,
as ``save_pretrained`` writes and the Hugging Face repositories hold), given either as a local
path or as a Hugging Face repository id already in the user's cache (``~/.cache/huggingface``
or ``$HF_HOME``). Nothing is fetched unless ``allow_download`` is set.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamedit_sdk.errors import BackendUnavailableError, ModelFileError

log = logging.getLogger(__name__)

# components each pipeline folder must hold (the safety checker is optional and not loaded)
PIPELINE_PARTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")


class WeightsError(ModelFileError):
    """Diffusion weights missing or incomplete: the message names what and where."""


@dataclass(frozen=True)
class DiffusionSettings:
    """How the diffusion pipelines run (checked once)."""

    device: str = "auto"  # "auto": cuda when torch sees a GPU, else cpu; or "cpu", "cuda[:n]"
    steps: int = 20  # denoising steps
    guidance_scale: float = 7.5  # text guidance (classifier-free)
    image_guidance_scale: float = 1.5  # InstructPix2Pix: how closely the input image is kept
    strength: float = 0.75  # ControlNet img2img and inpainting: share of the noise schedule run
    resolution: int = 512  # px, longest side the pipeline runs at (rounded to a multiple of 8)
    allow_download: bool = False  # fetch a repository id missing from the local cache
    progress: bool = True  # a progress bar over the denoising steps (on stderr)

    def __post_init__(self) -> None:
        if not isinstance(self.steps, int) or not 1 <= self.steps <= 1000:
            raise ValueError(f"steps must be a whole number in [1, 1000]; got {self.steps!r}")
        if not 0.0 < self.strength <= 1.0:
            raise ValueError(f"strength must be in (0, 1]; got {self.strength!r}")
        if not isinstance(self.resolution, int) or not 64 <= self.resolution <= 2048:
            raise ValueError(f"resolution must be a whole number in [64, 2048]; got "
                             f"{self.resolution!r}")
        for name in ("guidance_scale", "image_guidance_scale"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0; got {getattr(self, name)!r}")


def torch_device(settings: DiffusionSettings) -> tuple[Any, Any]:
    """(torch.device, dtype): fp16 on CUDA, fp32 on the CPU."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError("prompt editing needs torch and diffusers: pip install "
                          "'streamedit-sdk[diffusion]' and a torch build") from exc
    name = settings.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise BackendUnavailableError(f"device {name!r} asked for, but torch sees no GPU: use "
                                      "--device cpu (slow) or a CUDA build of torch")
    device = torch.device(name)
    return device, torch.float16 if device.type == "cuda" else torch.float32


def resolve(source: str | Path, what: str, settings: DiffusionSettings,
            pipeline: bool = True) -> Path:
    """The local folder of ``source`` (a path, or a Hugging Face repository id in the cache).

    ``what`` names the role in messages ("InstructPix2Pix weights"); ``pipeline``: a whole
    pipeline folder (model_index.json and its components) rather than one model (config.json).
    """
    path = Path(source).expanduser()
    if path.exists():
        return check_folder(path, what, pipeline)
    if str(source).count("/") != 1 or str(source).startswith((".", "/", "~")):
        raise WeightsError(f"{what}: {source} does not exist (give a diffusers folder, or a "
                           "Hugging Face repository id such as timbrooks/instruct-pix2pix)")
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.constants import HF_HUB_CACHE
        from huggingface_hub.errors import (HfHubHTTPError, HFValidationError,
                                            LocalEntryNotFoundError)
    except ImportError as exc:
        raise ImportError("repository ids need huggingface_hub: pip install "
                          "'streamedit-sdk[diffusion]'") from exc
    try:
        folder = snapshot_download(str(source), local_files_only=not settings.allow_download)
    except (LocalEntryNotFoundError, HfHubHTTPError, HFValidationError, OSError) as exc:
        hint = ("allow the download with --allow-download, or fetch it first "
                f"(huggingface-cli download {source})" if not settings.allow_download
                else "check the id and the network")
        raise WeightsError(f"{what}: {source} is not a local folder and not in the Hugging "
                           f"Face cache ({HF_HUB_CACHE}): {hint} "
                           f"[{type(exc).__name__}]") from exc
    return check_folder(Path(folder), what, pipeline)


def check_folder(folder: Path, what: str, pipeline: bool) -> Path:
    """``folder`` if it holds a whole pipeline (or model), else a :class:`WeightsError`
    naming the first missing part."""
    if not folder.is_dir():
        raise WeightsError(f"{what}: {folder} is not a folder")
    if not pipeline:
        if not (folder / "config.json").is_file():
            raise WeightsError(f"{what}: {folder} has no config.json (a diffusers model folder "
                               "holds config.json and its weights)")
        return folder
    index = folder / "model_index.json"
    if not index.is_file():
        raise WeightsError(f"{what}: {folder} has no model_index.json (give the folder a "
                           "diffusers pipeline was saved to, e.g. a Hugging Face snapshot)")
    try:
        listed = json.loads(index.read_text())
    except ValueError as exc:
        raise WeightsError(f"{what}: {index} is not valid JSON ({exc})") from exc
    for part in PIPELINE_PARTS:
        if part not in listed or not (folder / part).is_dir():
            raise WeightsError(f"{what}: {folder} has no {part}/ (a Stable Diffusion pipeline "
                               f"needs {', '.join(PIPELINE_PARTS)})")
    return folder


def load_pipeline(cls: Any, folder: Path, settings: DiffusionSettings, **parts: Any) -> Any:
    """``cls.from_pretrained(folder)`` on the settings' device, offline, quiet, no safety
    checker (the edit is the user's own frame); ``parts`` replace components."""
    device, dtype = torch_device(settings)
    import diffusers

    # diffusers 0.42 renamed the pipelines' torch_dtype to dtype (the old name warns)
    new = tuple(int(x) for x in diffusers.__version__.split(".")[:2]) >= (0, 42)
    kw = {"dtype" if new else "torch_dtype": dtype}
    try:
        pipe = cls.from_pretrained(folder, local_files_only=True, safety_checker=None,
                                   requires_safety_checker=False, **kw, **parts)
    except (OSError, ValueError) as exc:
        raise WeightsError(f"cannot load {cls.__name__} from {folder}: {exc}") from exc
    pipe.set_progress_bar_config(disable=not settings.progress, leave=False,
                                 desc=cls.__name__.replace("StableDiffusion", ""))
    log.info("loaded %s from %s on %s (%s)", cls.__name__, folder, device, dtype)
    return pipe.to(device)
