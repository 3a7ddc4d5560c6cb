"""City IT's signing side of the city domain: the trust store's keys and roots, command sequence
numbers per device, and sending a signed command through the city broker with the platform's
identity. Every signing goes into the registry's hash-chained audit log."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from provisioning.trust import TrustError

from ..core.paths import ToolError
from .city import City

SEQ_FILE = "command-seq.json"


def _seq_path(city: City) -> Path:
    return city.trust_dir / SEQ_FILE


def next_seq(city: City, device: str) -> int:
    """The device's next command number (one more than the last signed), saved before use so
    that two commands never share one."""
    path = _seq_path(city)
    seqs = json.loads(path.read_text()) if path.exists() else {}
    seqs[device] = seqs.get(device, 0) + 1
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(seqs, indent=1, sort_keys=True))
    os.replace(tmp, path)
    return int(seqs[device])


def sign_command(city: City, device: str, op: str, args: dict, expires_s: int) -> tuple[int, bytes]:
    try:
        city.registry.get(device)
    except Exception:
        raise ToolError(f"{device} is not in the registry (stadsnod device list)") from None
    seq = next_seq(city, device)
    try:
        data = city.trust().command(device, seq, op, args, expires_s)
    except TrustError as e:
        raise ToolError(str(e)) from None
    city.registry.note("command", {"device": device, "seq": seq, "op": op, "args": args,
                                   "expires_s": expires_s})
    return seq, data


def platform_client(city: City, name: str, topic: str, on_message: Callable) -> Any:
    """A paho client with the platform's identity on the city broker, looping, subscribed to
    `topic` (the broker's acknowledgement awaited: nothing published after it is missed)."""
    import paho.mqtt.client as mqtt

    s = city.settings
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-{os.getpid()}")
    client.tls_set(ca_certs=str(city.ca_pem), certfile=str(city.dir / "platform.pem"),
                   keyfile=str(city.dir / "platform.key"))
    client.on_message = on_message
    subscribed = threading.Event()
    client.on_subscribe = lambda *a: subscribed.set()
    try:
        client.connect(s["broker_host"], s["broker_port"])
    except OSError as e:
        raise ToolError(f"cannot reach the broker at {s['broker_host']}:{s['broker_port']}: "
                        f"{e}; is it running (stadsnod broker)?") from None
    client.loop_start()
    client.subscribe(topic, qos=1)
    if not subscribed.wait(10):
        client.disconnect()
        client.loop_stop()
        raise ToolError(f"the broker did not acknowledge the subscription to {topic}")
    return client


def send(city: City, device: str, data: bytes, seq: int | None, wait_s: float,
         say: Callable[[str], None] = print) -> list[dict]:
    """Publishes the signed command on <root>/<device>/cmd as the platform and collects the
    node's results for `seq` until done, failed or refused, or `wait_s` has passed."""
    root = city.settings["topic_root"]
    results: list[dict] = []
    finished = threading.Event()

    def on_message(_c, _u, m) -> None:
        try:
            r = json.loads(m.payload)
        except ValueError:
            return
        if r.get("seq") in (seq, None):
            results.append(r)
            say(f"{device}: {r['result']}" + (f" -- {r['detail']}" if r.get("detail") else ""))
            if r["result"] in ("done", "failed", "refused"):
                finished.set()

    client = platform_client(city, "cityit", f"{root}/{device}/cmd/result", on_message)
    try:
        client.publish(f"{root}/{device}/cmd", data, qos=1).wait_for_publish(10)
        finished.wait(wait_s)
    finally:
        client.disconnect()
        client.loop_stop()
    return results
