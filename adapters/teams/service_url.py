"""Which Bot Framework service URLs Touchpoint will post to: one strict reading, shared by every check.

An activity's ``serviceUrl`` is where the answer is posted and, stored with the conversation, where
digests and reminders go later. Without ``MicrosoftAppId`` (the Emulator's mode) nothing vouches for it,
so it must point at this machine; with an app id the Bot Framework token vouches for it, and it must
still be a plain https URL.

The danger is a URL that a checker and the HTTP client read differently: userinfo
(``http://attacker@127.0.0.1``), backslashes (``http://attacker\\@127.0.0.1``), whitespace and control
characters that one parser drops and another keeps, or braces that the Bot Connector client fills in
with ``str.format`` before sending (``http://localhost:{conversationId}``). So a URL is accepted only
when it is written in a small grammar that every parser reads alike (scheme, host, optional port, a
path of plain characters; no userinfo, query, fragment, backslash, brace or whitespace), and then only
when the parser of the client that sends (yarl, under aiohttp) and the standard library agree on the
host. A host name that must be local is also resolved, and every address must be a loopback address.

:func:`service_url_problem` is used on every incoming activity and again on every stored conversation
reference before Touchpoint posts to it.
"""

from __future__ import annotations

import functools
import re
import socket
from ipaddress import ip_address
from urllib.parse import urlsplit

from yarl import URL

MAX_CHARS = 2048
LOCALHOST = "localhost"

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_GRAMMAR = re.compile(
    r"(?P<scheme>[Hh][Tt][Tt][Pp][Ss]?)://"
    rf"(?P<host>{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<path>/(?:[A-Za-z0-9\-._~!$&'()*+,;=:/]|%[0-9A-Fa-f]{2})*)?"
)


def service_url_problem(url: object, *, local_only: bool) -> str | None:
    """Why Touchpoint must not post to ``url``, or None when it may.

    ``local_only`` (no app id: nothing vouches for the URL) accepts only this machine: a loopback
    address, or ``localhost`` when it resolves to loopback addresses only. Otherwise any host is
    accepted over https, and plain http only for a loopback host (the Emulator with credentials).
    """
    if not isinstance(url, str) or not url:
        return "no service URL"
    if len(url) > MAX_CHARS:
        return "service URL too long"
    match = _GRAMMAR.fullmatch(url)
    if match is None:
        return "service URL is not a plain http(s) URL (userinfo, query, whitespace or odd characters)"
    host = match["host"].lower()
    if host.startswith("["):
        host = host[1:-1]
        try:
            ip_address(host)
        except ValueError:
            return "service URL has a malformed IPv6 address"
    port = match["port"]
    if port is not None and not 0 < int(port) < 65536:
        return "service URL has a port out of range"
    if _sender_host(url) != host or (urlsplit(url).hostname or "") != host:
        return "service URL reads differently to the HTTP client"
    loopback = is_loopback_host(host)
    if local_only and not loopback:
        return "service URL is not on this machine (no MicrosoftAppId: only the Emulator is served)"
    if match["scheme"].lower() != "https" and not loopback:
        return "service URL is not https"
    return None


def _sender_host(url: str) -> str | None:
    """The host aiohttp's URL parser (what the Bot Connector client sends with) connects to."""
    try:
        host = URL(url).host
    except (ValueError, TypeError):
        return None
    return host.lower() if host else None


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (no brackets, lower case) is this machine: a loopback address, or ``localhost``
    resolving to loopback addresses only."""
    if host == LOCALHOST:
        return _localhost_is_loopback()
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


@functools.cache
def _localhost_is_loopback() -> bool:
    """``localhost`` resolves to loopback addresses only (read from the hosts file: resolved once)."""
    try:
        infos = socket.getaddrinfo(LOCALHOST, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    addresses = {str(info[4][0]).split("%", 1)[0] for info in infos}
    try:
        return bool(addresses) and all(ip_address(address).is_loopback for address in addresses)
    except ValueError:
        return False
