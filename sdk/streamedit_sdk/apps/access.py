"""Who may talk to a network endpoint of the SDK: one rule for ``serve`` and ``stream --control``.

Loopback binds are open to this machine; any other bind needs a token of at least
:data:`MIN_TOKEN_CHARS` characters (no spaces), and then every request must carry it, as
``Authorization: Bearer TOKEN`` (the scheme in any case) or ``?token=TOKEN``; comparison is in
constant time. Beyond the token, :class:`Door` keeps other web sites out of a server a
browser on this machine can reach:

* **Host** (DNS rebinding: a site whose name resolves to 127.0.0.1): without a token, a
  request must name the server by a loopback name (``localhost``, ``127.0.0.1``, ``[::1]``)
  or one of the names it was given (``--allowed-host``, a reverse proxy's public name); with a
  token, the token is what guards it.
* **Origin** (cross-site requests: a page the user visits posting to the server): a request
  that carries an ``Origin`` header must come from the server's own origin (or an allowed
  host's).
* **Content types**: a body is taken only with the type its route documents (JSON or an
  image), so a cross-site form or ``text/plain`` post, which browsers send without asking,
  is refused.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

MIN_TOKEN_CHARS = 16  # a shorter token is guessable: refused
BEARER = "bearer"  # the Authorization header's scheme (compared in any case)
JSON = ("application/json",)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1, ``[::1]``)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: may resolve to anything


def check_token(token: str | None, what: str) -> None:
    """ValueError unless ``token`` is None or at least :data:`MIN_TOKEN_CHARS` characters with
    no white space (16 spaces are not a secret)."""
    if token is None:
        return
    if any(c.isspace() for c in token) or not token.isprintable():
        raise ValueError(f"{what}: the token holds spaces or control characters; use letters, "
                         "digits and punctuation (e.g. `python -c 'import secrets; "
                         "print(secrets.token_urlsafe(24))'`)")
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"{what}: the token has {len(token)} characters; use at least "
                         f"{MIN_TOKEN_CHARS} (e.g. `python -c 'import secrets; "
                         "print(secrets.token_urlsafe(24))'`)")


def check_access(host: str, token: str | None, what: str) -> None:
    """ValueError when ``token`` is not a usable secret, or missing while ``host`` is not
    loopback. ``what``: the endpoint and its options in the message, e.g. "serve (--token)"."""
    check_token(token, what)
    if token is None and not is_loopback(host):
        raise ValueError(f"{what}: binding {host} exposes the editor beyond this machine; give "
                         "a token (every request must then carry it), or bind 127.0.0.1 and "
                         "put a reverse proxy in front")


def given_token(authorization: str | None, query_token: str | None) -> str | None:
    """The token a request carries: ``Authorization: Bearer T`` (any case), else ``?token=T``."""
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == BEARER:
            return value.strip()
    return query_token


def token_matches(given: str | None, expected: str | None) -> bool:
    """True when no token is asked (``expected`` None) or ``given`` is it (constant time)."""
    if expected is None:
        return True
    return hmac.compare_digest((given or "").encode(), expected.encode())


def read_token_file(path: str | Path) -> str:
    """The first line of ``path``, stripped (ValueError when the file is empty)."""
    text = Path(path).read_text(encoding="utf-8").strip()
    if not text:
        raise ValueError(f"token file {path} is empty")
    return text.splitlines()[0].strip()


@dataclass(frozen=True)
class Asked:
    """What :class:`Door` looks at in a request, whichever server received it."""

    method: str
    host: str | None  # the Host header
    origin: str | None  # the Origin header
    authorization: str | None
    query_token: str | None  # ?token=
    content_type: str | None  # the body's media type, without parameters


@dataclass(frozen=True)
class Door:
    """The access rule of one endpoint (see the module docstring)."""

    token: str | None = None  # every request must carry it when set
    hosts: tuple[str, ...] = ()  # names besides loopback ones that requests may use (a
    # reverse proxy's public name); lower case, without a port
    allow_hint: str = ""  # how a user lets another name in (said with a Host refusal)

    def __post_init__(self) -> None:
        check_token(self.token, "the endpoint's token")
        object.__setattr__(self, "hosts", tuple(h.strip().lower() for h in self.hosts))

    def refusal(self, asked: Asked, body_types: tuple[str, ...] = ()) -> tuple[int, str] | None:
        """(HTTP status, reason) when ``asked`` may not go on, else None. ``body_types``: the
        media types this route takes a body in (empty: it takes none)."""
        if not token_matches(given_token(asked.authorization, asked.query_token), self.token):
            return 401, ("this server needs its token: open the page as /?token=TOKEN or send "
                         "'Authorization: Bearer TOKEN'")
        name = _host_name(asked.host)
        if self.token is None and not (name and (is_loopback(name) or name in self.hosts)):
            return 403, (f"this server answers to localhost and 127.0.0.1 only, not to "
                         f"{asked.host!r}: call it http://localhost:PORT/{self.allow_hint}")
        if asked.origin is not None and not self._same_origin(asked.origin, asked.host):
            return 403, f"requests from another web site ({asked.origin}) are refused"
        if body_types and asked.method in ("POST", "PUT", "PATCH") and \
                (asked.content_type or "").lower() not in body_types:
            return 415, (f"send the body as {' or '.join(body_types)} (got "
                         f"{asked.content_type or 'no Content-Type'})")
        return None

    def _same_origin(self, origin: str, host: str | None) -> bool:
        """Whether ``origin`` (scheme://name[:port]) is the server as ``host`` names it, or
        an allowed host's."""
        try:
            url = urlsplit(origin)
            port = url.port or _DEFAULT_PORTS.get(url.scheme)
        except ValueError:
            return False
        if not url.hostname or url.scheme not in _DEFAULT_PORTS:
            return False  # "null" (a sandboxed frame, a file), or no web origin at all
        origin_name = url.hostname.lower()
        name = _host_name(host)
        if name is None or (origin_name != name and origin_name not in self.hosts):
            return False
        # the port the request came to: the Host's, else the scheme's own (port 80, or 443
        # behind a TLS proxy): a page of another local server (localhost:3000) is another site
        return port == (_host_port(host) or _DEFAULT_PORTS[url.scheme])


def _host_name(host: str | None) -> str | None:
    """The name in a Host header (``[::1]:8080`` -> ``::1``), lower case; None if absent."""
    if not host:
        return None
    try:
        return (urlsplit("//" + host.strip()).hostname or "").lower() or None
    except ValueError:
        return None


def _host_port(host: str | None) -> int | None:
    try:
        return urlsplit("//" + (host or "").strip()).port
    except ValueError:
        return None
