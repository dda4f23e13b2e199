"""``streamedit serve``: the live edit of a browser's camera over WebRTC."""

from __future__ import annotations

import argparse
import importlib.util
import logging

from streamedit_sdk.cli.options import (USER_ERRORS, add_low_latency_option, add_token_options,
                                        editor_config, editor_defaults, fail, os_error_message,
                                        positive_int, token_from)
from streamedit_sdk.config import BACKENDS

log = logging.getLogger("streamedit")


def prompt_template(args: argparse.Namespace):
    """The diffusion settings the page's prompts run with (``--diffusion-dir``), or None."""
    if args.diffusion_dir is None:
        return None
    from streamedit_sdk.generative import DiffusionSettings, PromptEdit

    return PromptEdit("typed on the page", args.diffusion_dir,
                      settings=DiffusionSettings(device=args.device, steps=args.steps,
                                                 progress=False))


def page_url(config) -> str:
    """The page's address for a person to open (an IPv6 host in brackets)."""
    name = "localhost" if config.host == "127.0.0.1" else config.host
    return f"http://{f'[{name}]' if ':' in name else name}:{config.port}/"


def quiet_bad_requests(record: logging.LogRecord) -> bool:
    """aiohttp logs a traceback at ERROR for every malformed HTTP request a client sends (a
    bad chunk, a header too long), which it answers with 400 itself: one line at DEBUG is
    enough for a client's mistake."""
    from aiohttp.http_exceptions import HttpProcessingError

    exc = record.exc_info[1] if record.exc_info else None
    if isinstance(exc, HttpProcessingError):
        logging.getLogger("streamedit_sdk.apps.serve").debug("a malformed request: %s", exc)
        return False
    return True


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from streamedit_sdk.apps.serve import RaySettings, ServeConfig
        from streamedit_sdk.apps.serve.server import serve
    except ImportError as exc:
        return fail("serve", f"{exc}: install the server's packages with "
                             "pip install 'streamedit-sdk[serve]'")
    if args.ray is not None and importlib.util.find_spec("ray") is None:
        return fail("serve", "--ray needs Ray: pip install 'streamedit-sdk[ray]'")
    try:
        ray = None
        if args.ray is not None:
            ray = RaySettings(address=args.ray, num_cpus=args.ray_cpus, num_gpus=args.ray_gpus,
                              spares=args.ray_spares)
        config = ServeConfig(host=args.host, port=args.port, token=token_from(args, "token"),
                             allowed_hosts=tuple(args.allowed_host or ()),
                             max_streams=args.max_streams, max_views=args.max_views,
                             style=args.style,
                             editor=editor_config(args), ray=ray, prompt=prompt_template(args),
                             ice_servers=tuple(args.ice_server or ()))
    except (*USER_ERRORS, OSError) as exc:
        return fail("serve", str(exc))
    print(f"streamedit serve: open {page_url(config)}{'?token=TOKEN' if config.token else ''} "
          f"(at most {config.max_streams} streams; Ctrl-C stops)", flush=True)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.server").addFilter(quiet_bad_requests)
    # one line when a stream starts and one when it ends, at the default level
    logging.getLogger("streamedit_sdk.apps.serve.hub").setLevel(logging.INFO)
    try:
        serve(config)
    except OSError as exc:  # the port is in use, or the address is not this machine's
        return fail("serve", os_error_message(exc))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``serve`` on the ``streamedit`` parser."""
    p = sub.add_parser(
        "serve", help="edit a browser's camera live over WebRTC (a page, many streams)",
        description="Serve a page that sends the browser's camera over WebRTC and plays the "
        "edited video back beside it; each connection gets its own editor. Loopback only "
        "unless --token is given. Needs pip install 'streamedit-sdk[serve]'.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; anything else needs --token)")
    p.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    add_token_options(p, "token", "a secret every request must carry (the page takes it as "
                      "?token=...)")
    p.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="a name requests may call this server by besides localhost and "
                   "127.0.0.1 (repeatable), e.g. the public name of a reverse proxy in front; "
                   "without a token, requests naming anything else get 403 (DNS rebinding)")
    p.add_argument("--max-streams", type=positive_int, default=4, metavar="N",
                   help="streams edited at once; the next browser is told 'busy' (default 4)")
    p.add_argument("--max-views", type=positive_int, default=4, metavar="N",
                   help="output views (OBS browser sources) one stream may have (default 4)")
    p.add_argument("--ice-server", action="append", metavar="URL",
                   help="a STUN or TURN server the server gathers its addresses with "
                   "(repeatable), for browsers beyond a NAT; default none: nothing is contacted")
    p.add_argument("--style", default="cartoon", help="the edit a new stream starts with "
                   "(default cartoon)")
    p.add_argument("--backend", choices=BACKENDS, default="ort-cpu",
                   help="where each stream's editor runs (default ort-cpu)")
    add_low_latency_option(p)
    g = p.add_argument_group("prompt edits from the page (pip install 'streamedit-sdk[diffusion]')")
    g.add_argument("--diffusion-dir", metavar="DIR|ID",
                   help="InstructPix2Pix weights (a diffusers folder or a cached Hugging Face "
                   "id): the page then offers a prompt field; each prompt edit holds its "
                   "stream (frames dropped, counted) while diffusers runs")
    g.add_argument("--device", default="auto", help="where diffusers runs (default auto)")
    g.add_argument("--steps", type=positive_int, default=20,
                   help="denoising steps of a prompt edit (default 20)")
    g = p.add_argument_group("scale out on a Ray cluster (pip install 'streamedit-sdk[ray]')")
    g.add_argument("--ray", metavar="auto|ADDRESS",
                   help="put each stream's editor in an actor of this Ray cluster (auto: the "
                   "one `ray start` runs here; else its head's HOST:PORT); the media stays here")
    g.add_argument("--ray-cpus", type=float, default=1.0, metavar="N",
                   help="CPUs each stream's actor reserves (default 1)")
    g.add_argument("--ray-gpus", type=float, default=0.0, metavar="F",
                   help="GPU fraction each actor reserves, e.g. 0.25 (default 0: CPU nodes)")
    g.add_argument("--ray-spares", type=int, default=1, metavar="N",
                   help="actors started ahead, for new streams and failover (default 1)")
    editor_defaults(p)
    p.set_defaults(func=_cmd_serve)
