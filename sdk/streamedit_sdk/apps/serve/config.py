"""``streamedit serve``'s settings, checked once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from streamedit_sdk.apps.access import check_access
from streamedit_sdk.config import EditorConfig
from streamedit_sdk.edits.styles import STYLES

if TYPE_CHECKING:  # diffusers loads only when a prompt edit is made
    from streamedit_sdk.generative.spec import PromptEdit


@dataclass(frozen=True)
class RaySettings:
    """Where stream editors run and what each reserves."""

    address: str = "auto"  # "auto": the cluster `ray start` runs on this machine; else
    # HOST:PORT of its head (or ray://HOST:PORT for Ray Client)
    num_cpus: float = 1.0  # CPUs each stream's actor reserves (the editor uses about 2)
    num_gpus: float = 0.0  # GPU fraction each actor reserves (0 on CPU machines; 0.25: four
    # streams share a GPU)
    spares: int = 1  # actors started ahead: a new stream or a failover need not wait for one

    def __post_init__(self) -> None:
        if not self.address:
            raise ValueError("the Ray address is empty: give auto or HOST:PORT")
        if not self.num_cpus >= 0 or not self.num_gpus >= 0:
            raise ValueError(f"num_cpus and num_gpus must be >= 0; got {self.num_cpus}, "
                             f"{self.num_gpus}")
        if not isinstance(self.spares, int) or self.spares < 0:
            raise ValueError(f"spares must be a whole number >= 0; got {self.spares!r}")


@dataclass(frozen=True)
class ServeConfig:
    """Where the server listens, who may use it, and how much it takes on."""

    host: str = "127.0.0.1"  # bind address; anything but loopback needs `token`
    port: int = 8080  # TCP port (0: any free one)
    token: str | None = None  # required on every request when set (header or ?token=)
    allowed_hosts: tuple[str, ...] = ()  # names besides localhost / 127.0.0.1 that requests
    # may call the server by without a token (a reverse proxy's public name)
    max_streams: int = 4  # concurrent streams in this process; the next connection is "busy"
    max_upload_bytes: int = 8 << 20  # largest edited image a page may upload
    max_request_bytes: int = 256 << 10  # largest JSON body (an SDP offer is ~5-10 KB)
    max_decodes: int = 2  # uploaded images decoded at once (off the event loop)
    max_views: int = 4  # output views (an OBS browser source) one stream may have at once
    connect_timeout_s: float = 15.0  # a stream whose browser has not connected (ICE and DTLS)
    # by then is closed and frees its place (a browser on a working network takes 1-3 s)
    peer_timeout_s: float = 5.0  # a connected browser that sends no frame for this long has
    # gone (killed, its network lost): its stream ends and frees its place
    style: str = "cartoon"  # the edit a new stream starts with when its offer names none
    editor: EditorConfig = field(default_factory=EditorConfig)  # each stream's editor (its
    # mode follows the edit: residual for stickers, replace for styles and images)
    ice_servers: tuple[str, ...] = ()  # STUN / TURN URLs the server gathers candidates with
    # (e.g. "stun:stun.example.org:3478"); none: its own addresses only (nothing contacted)
    ray: RaySettings | None = None  # each stream's editor in an actor on this Ray cluster;
    # None: on a thread of this process
    prompt: PromptEdit | None = None  # diffusion weights and settings for the page's prompt
    # edits (its prompt is replaced by the page's text); None: the page offers no prompt

    def __post_init__(self) -> None:
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535; got {self.port!r}")
        if not isinstance(self.max_streams, int) or self.max_streams < 1:
            raise ValueError(f"max_streams must be a whole number >= 1; got {self.max_streams!r}")
        for name in ("max_upload_bytes", "max_request_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1024:
                raise ValueError(f"{name} must be a whole number >= 1024; got {value!r}")
        for name in ("max_decodes", "max_views"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1; got {value!r}")
        for name in ("connect_timeout_s", "peer_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0 seconds; got {getattr(self, name)!r}")
        if not isinstance(self.allowed_hosts, tuple) or not all(
                isinstance(h, str) and h and "/" not in h and ":" not in h
                for h in self.allowed_hosts):
            raise ValueError(f"allowed_hosts: a tuple of host names without a port; got "
                             f"{self.allowed_hosts!r}")
        if not isinstance(self.ice_servers, tuple) or not all(
                isinstance(u, str) and u.startswith(("stun:", "turn:", "turns:"))
                for u in self.ice_servers):
            raise ValueError(f"ice_servers: a tuple of stun:, turn: or turns: URLs; got "
                             f"{self.ice_servers!r}")
        if self.style not in STYLES:
            raise ValueError(f"unknown style {self.style!r}: choose one of {', '.join(STYLES)}")
        check_access(self.host, self.token, "serve (--token or --token-file)")
