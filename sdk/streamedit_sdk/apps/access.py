"""Who may talk to a network endpoint of the SDK: one rule for ``serve`` and ``stream --control``.

Loopback binds are open to this machine; any other bind needs a token of at least
:data:`MIN_TOKEN_CHARS` characters, and then every request must carry it, as
``Authorization: Bearer TOKEN`` or ``?token=TOKEN``. Comparison is in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
from pathlib import Path

MIN_TOKEN_CHARS = 16  # a shorter token is guessable: refused
BEARER = "Bearer "  # the Authorization header's scheme


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: may resolve to anything


def check_access(host: str, token: str | None, what: str) -> None:
    """ValueError when ``token`` is too short, or missing while ``host`` is not loopback.

    ``what``: the endpoint and its options in the message, e.g. "serve (--token)".
    """
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"{what}: the token has {len(token)} characters; use at least "
                         f"{MIN_TOKEN_CHARS} (e.g. `python -c 'import secrets; "
                         "print(secrets.token_urlsafe(24))'`)")
    if token is None and not is_loopback(host):
        raise ValueError(f"{what}: binding {host} exposes the editor beyond this machine; give "
                         "a token (every request must then carry it), or bind 127.0.0.1 and "
                         "put a reverse proxy in front")


def given_token(authorization: str | None, query_token: str | None) -> str | None:
    """The token a request carries: ``Authorization: Bearer T``, else ``?token=T``."""
    if authorization and authorization.startswith(BEARER):
        return authorization[len(BEARER):].strip()
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
