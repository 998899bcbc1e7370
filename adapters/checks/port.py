"""Can ``touchpoint serve`` listen where it is told to? Checked before anything starts, so a busy port
is one line rather than a half-started server; the bind itself reports the same way."""

from __future__ import annotations

import errno
import socket


def port_problem(host: str, port: int) -> str | None:
    """None when ``host:port`` can be listened on now; else why not and what to do."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return listen_problem(host, port, OSError(errno.EADDRNOTAVAIL, "unknown address"))
    family, kind, proto, _name, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
            probe.bind(address)
    except OSError as error:
        return listen_problem(host, port, error)
    return None


def listen_problem(host: str, port: int, error: OSError) -> str:
    """The one line for a failed bind of ``host:port``."""
    if error.errno == errno.EADDRINUSE:
        return (
            f"--port {port}: {host}:{port} is already in use (another touchpoint serve?); stop that "
            "process or choose another --port"
        )
    if error.errno == errno.EACCES:
        return f"--port {port}: not allowed to listen on port {port}; choose one from 1024 up (e.g. 3978)"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"--host {host}: not an address of this machine; use 0.0.0.0 (every address) or 127.0.0.1"
    return f"--port {port}: cannot listen on {host}:{port} ({(error.strerror or str(error)).lower()})"
