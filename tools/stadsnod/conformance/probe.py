"""The checker's look at a device's own address: which TCP services answer, and whether a
declared web service lets anyone in without credentials or with a factory default."""

from __future__ import annotations

import base64
import socket

PROBE_PORTS = (21, 22, 23, 80, 443, 1883, 2323, 5000, 8000, 8080, 8266, 8443, 8888)
DEFAULT_CREDENTIALS = (("admin", "admin"), ("admin", ""), ("root", "root"),
                       ("micropython", "micropython"))


def is_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_lets_in(address: str, port: int) -> str | None:
    """How an HTTP service let the checker in (no credentials, or a factory default), or
    None when it asked for credentials every time."""
    import http.client

    tries: list[tuple[str, dict[str, str]]] = [("no credentials", {})]
    for user, pw in DEFAULT_CREDENTIALS:
        token = base64.b64encode(f"{user}:{pw}".encode()).decode()
        tries.append((f"{user}/{pw or '(empty)'}", {"Authorization": f"Basic {token}"}))
    for how, headers in tries:
        conn = http.client.HTTPConnection(address, port, timeout=3)
        try:
            conn.request("GET", "/", headers=headers)
            if conn.getresponse().status == 200:
                return how
        except OSError:
            return None
        finally:
            conn.close()
    return None
