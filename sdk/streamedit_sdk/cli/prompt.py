"""``streamedit edit --prompt``: the diffusers options and their checks (parsing only)."""

from __future__ import annotations

import argparse

from streamedit_sdk.cli.options import positive_int


def add_prompt_options(p: argparse.ArgumentParser, edit: argparse._MutuallyExclusiveGroup
                       ) -> None:
    """``--prompt`` joins the edit sources (``edit``); the rest configure it."""
    edit.add_argument("--prompt", metavar="TEXT",
                      help="edit the reference with diffusers by this text (an instruction for "
                      "ip2p, the result's description for controlnet); needs --diffusion-dir")
    g = p.add_argument_group("prompt editing (diffusers; pip install 'streamedit-sdk[diffusion]')")
    g.add_argument("--diffusion-dir", metavar="DIR|ID",
                   help="the editor's weights: a diffusers pipeline folder, or a Hugging Face "
                   "id already in your cache (InstructPix2Pix for ip2p, Stable Diffusion 1.5 "
                   "for controlnet)")
    g.add_argument("--editor", choices=("ip2p", "controlnet"), default="ip2p",
                   help="InstructPix2Pix or ControlNet img2img (default ip2p)")
    g.add_argument("--controlnet-dir", metavar="DIR|ID",
                   help="ControlNet weights (--editor controlnet)")
    g.add_argument("--control", choices=("canny", "landmarks"), default="canny",
                   help="ControlNet condition: canny edges or the face-mesh drawing "
                   "(default canny)")
    g.add_argument("--edit-region", choices=("person", "face", "all"), default="all",
                   help="where the edit may change pixels (default all)")
    g.add_argument("--seed", type=int, default=0, help="the same seed, the same edit (default 0)")
    g.add_argument("--steps", type=positive_int, default=20,
                   help="denoising steps (default 20)")
    g.add_argument("--diffusion-side", type=positive_int, default=512, metavar="PX",
                   help="longest side the diffusion runs at, a multiple of 8 (default 512); "
                   "the result is resized to the frame")
    g.add_argument("--inpaint-dir", metavar="DIR|ID",
                   help="inpainting weights: at each reference replacement, paint what the old "
                   "reference did not see with the prompt (default: OpenCV fill)")
    g.add_argument("--device", default="auto",
                   help="where diffusers runs: auto (a GPU if torch sees one), cpu, cuda")
    g.add_argument("--allow-download", action="store_true",
                   help="let a Hugging Face id missing from the cache be downloaded")


def prompt_edit(args: argparse.Namespace):
    """The :class:`~streamedit_sdk.generative.PromptEdit` the options describe, or None.
    ``ValueError`` for options that need others."""
    if args.prompt is None:
        for flag, value in (("--inpaint-dir", args.inpaint_dir),
                            ("--diffusion-dir", args.diffusion_dir)):
            if value is not None:
                raise ValueError(f"{flag} goes with --prompt TEXT")
        return None
    if args.diffusion_dir is None:
        raise ValueError("--prompt needs --diffusion-dir DIR: a diffusers pipeline folder or a "
                         "Hugging Face id in your cache (e.g. timbrooks/instruct-pix2pix); "
                         "nothing is downloaded without --allow-download")
    from streamedit_sdk.generative import DiffusionSettings, PromptEdit

    settings = DiffusionSettings(device=args.device, steps=args.steps,
                                 resolution=args.diffusion_side,
                                 allow_download=args.allow_download, progress=not args.quiet)
    return PromptEdit(args.prompt, args.diffusion_dir, editor=args.editor,
                      controlnet=args.controlnet_dir, condition=args.control,
                      region=args.edit_region, seed=args.seed,
                      inpaint_weights=args.inpaint_dir, settings=settings)
