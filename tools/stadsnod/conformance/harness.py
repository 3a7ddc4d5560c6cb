"""`stadsnod conformance run`: starts the lab's broker behind the observing proxy and an SNTP
server it controls, waits for the device, drives it through the phases below, stops all of it,
and hands what it saw to the checks. Every wait has a hard limit; a phase that cannot happen
leaves its checks INCONCLUSIVE, never passed.

  connect       the device's first CONNECT (--wait)
  no-clock      SNTP withheld from boot: no pack may carry bt
  settle        SNTP answers; readings flow
  commands      (if commands) an unsigned command, a signed one, its replay
  garbage       (if commands) a burst of malformed messages on /cmd
  refuse        the next 4 CONNECTs refused (backoff)
  kick          the next 4 connections dropped right after CONNACK (backoff again)
  tls           4 handshakes with certificates it must refuse: another CA, expired, another
                host name, TLS 1.0/1.1 only
  broker-restart the broker away for a while: nothing may be lost
  ports         the device's address probed for services it did not declare"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from ..testbed.broker import Broker, free_port
from ..testbed.sntp import SNTPServer
from .checks import Seen, _health_values, _readings
from .lab import open_city, read_lab
from .observer import Observer
from .probe import PROBE_PORTS, http_lets_in, is_open


class HarnessError(Exception):
    """The run could not happen (exit 2)."""


class Harness:
    def __init__(self, lab_dir: Path, device: str, declaration: dict[str, Any], wait_s: float,
                 say: Callable[[str], None] = print) -> None:
        self.dir, self.device, self.decl, self.wait_s = lab_dir, device, declaration, wait_s
        self.lab = read_lab(lab_dir)
        if device not in self.lab["devices"]:
            raise HarnessError(f"{device} is not a device of the lab in {lab_dir} "
                               f"({', '.join(self.lab['devices'])})")
        timing = declaration.get("timing", {})
        self.interval = float(timing.get("interval_s", 60))
        self.health = float(timing.get("health_s", 60))
        # a connection held this long restarts a device's backoff (declared), and a margin
        self.stable = float(timing.get("reconnect_stable_s", 30)) + 5
        self.say = say
        self.phases: dict[str, dict[str, Any]] = {}
        self.root = self.lab["topic_root"]

    # -- observing
    def _wait(self, what: str, pred: Callable[[], bool], timeout: float) -> bool:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred():
                return True
            time.sleep(0.1)
        self.say(f"  ... {what}: not within {timeout:.0f} s")
        return False

    def _seen(self) -> Seen:
        return Seen(self.device, self.root, self.decl, list(self.obs.events), self.phases)

    def _health(self, since: float = 0) -> dict[str, Any] | None:
        packs = _health_values(self._seen(), since)
        return packs[-1] if packs else None

    def _connected_since(self) -> float | None:
        acks = self.obs.of("connack", self.device)
        closed = self.obs.of("closed", self.device)
        if not acks or (closed and closed[-1]["t"] > acks[-1]["t"]):
            return None
        return acks[-1]["t"]

    def _stable(self) -> bool:
        """Waits for a connection that has held `stable` seconds."""
        def held() -> bool:
            t = self._connected_since()
            return t is not None and time.time() - t >= self.stable
        return self._wait("a steady connection", held, self.stable + 120)

    # -- the run
    def run(self) -> Seen:
        with ExitStack() as stack:
            self._start(stack)
            self.say(f"waiting up to {self.wait_s:.0f} s for {self.device} to connect to "
                     f"{self.lab['host']}:{self.lab['port']} ...")
            if not self._wait("the device's CONNECT",
                              lambda: bool(self.obs.of("connect", self.device)), self.wait_s):
                raise HarnessError(f"{self.device} never connected to "
                                   f"{self.lab['host']}:{self.lab['port']} within "
                                   f"{self.wait_s:.0f} s: check its broker settings and the "
                                   f"lab's certificates (lab.json, devices/{self.device}/)")
            for name, phase in self._plan():
                self.say(f"phase {name}")
                phase()
            return self._seen()

    def _start(self, stack: ExitStack) -> None:
        city = open_city(self.dir)
        stack.callback(city.close)
        work = Path(tempfile.mkdtemp(prefix="conformance-"))
        stack.callback(shutil.rmtree, work, True)  # nothing of a run outlives it
        self.work = work
        self.broker = stack.enter_context(Broker(work / "broker", city, port=free_port()))
        try:
            sntp = SNTPServer(self.lab["sntp_host"], self.lab["sntp_port"])
            sntp.silent = True  # from its first packet: no clock at boot (the no-clock phase)
            self.sntp = stack.enter_context(sntp)
            self.obs = Observer(self.dir, self.lab, self.broker.port).start()
        except OSError as e:
            raise HarnessError(f"the lab's ports are taken ({e}): is another run going?") \
                from None
        stack.callback(self.obs.stop)
        from ..testbed.platform import Platform

        self.platform = Platform(self.broker).start(f"{self.root}/#")
        stack.callback(self.platform.stop)
        self.city = city

    def _plan(self) -> list[tuple[str, Callable[[], None]]]:
        plan = [("no-clock", self._no_clock), ("settle", self._settle)]
        if self.decl["features"]["commands"]:
            plan += [("commands", self._commands), ("garbage", self._garbage)]
        plan += [("refuse", lambda: self._backoff("refuse")),
                 ("kick", lambda: self._backoff("kick")), ("tls", self._tls),
                 ("broker-restart", self._broker_restart), ("ports", self._ports)]
        return plan

    def _no_clock(self) -> None:
        t0 = self.obs.of("connect", self.device)[0]["t"]
        hold = max(3 * self.interval, 8.0)
        time.sleep(max(0.0, t0 + hold - time.time()))
        self.phases["no-clock"] = {"until": time.time(), "held_s": hold}
        self.sntp.silent = False

    def _data_after(self, t: float, n: int) -> Callable[[], bool]:
        return lambda: len([e for e in self.obs.of("publish", self.device, since=t)
                            if e["topic"].endswith("/data")]) >= n

    def _settle(self) -> None:
        t = time.time()
        self._wait("three data packs with the clock set", self._data_after(t, 3),
                   4 * self.interval + 30)

    def _send(self, data: bytes) -> None:
        info = self.platform.client.publish(f"{self.root}/{self.device}/cmd", data, qos=1)
        info.wait_for_publish(5)

    def _deliver(self, data: bytes, what: str, answered: Callable[[], bool]) -> None:
        """Sends while the device is connected, again when no answer comes (a device that
        was between connections never saw it), at most three times."""
        for _ in range(3):
            self._wait("the device connected", lambda: self._connected_since() is not None, 60)
            self._send(data)
            if self._wait(what, answered, 20):
                return

    def _results(self, seq: int | None, since: float) -> list[str]:
        out = []
        for e in self.obs.of("publish", self.device, since=since):
            if e["topic"].endswith("/cmd/result"):
                try:
                    r = json.loads(e["payload"])
                except ValueError:
                    continue
                if r.get("seq") == seq:
                    out.append(r.get("result"))
        return out

    def _commands(self) -> None:
        from provisioning.trust import TrustStore

        since = time.time()
        before = self._health() or {}
        # a command signed by a key the device was never given
        stranger = TrustStore.init(self.work / "stranger", b"not the city", root_keys=1,
                                   root_threshold=1)
        seq = int(time.time())
        unsigned = stranger.command(self.device, seq, "selftest")
        # an untrusted body is never parsed: its refusal names no seq
        self._deliver(unsigned, "the refusal", lambda: "refused" in self._results(None, since))
        signed_seq = seq + 1
        signed = self.city.trust().command(self.device, signed_seq, "selftest")
        self._deliver(signed, "the signed command to run", lambda: any(
            r in ("done", "failed") for r in self._results(signed_seq, since)))
        # the same bytes again: a replay (sent again while unanswered, as a broker would)
        self._deliver(signed, "the replay's answer",
                      lambda: len(self._results(signed_seq, since)) >= 3)
        self.phases["commands"] = {"since": since, "unsigned_seq": seq,
                                   "signed_seq": signed_seq,
                                   "rejected_before": before.get("cmd_rejected", 0)}

    def _garbage(self) -> None:
        before = self._health() or {}
        burst = [os.urandom(64), b"SNS1", b"SNS1\xff\xff\xff\xff", b"SNS1\x00\x00\x00\x05{}{}{",
                 b"{\"seq\": 1, \"op\": \"reboot\"}", b"", b"\x00" * 20000,
                 b"SNS1\x00\x00\x00\x02{}\xff" + os.urandom(300), base64.b64encode(os.urandom(90))]
        for data in burst * 2:
            self._send(data)
        t = time.time()
        self._wait("health after the burst", lambda: self._health(t + 0.5) is not None,
                   2 * self.health + 15)
        after = self._health(t + 0.5) or {}
        self.phases["garbage"] = {"sent": len(burst) * 2, "boot_before": before.get("boot"),
                                  "boot_after": after.get("boot")}

    def _backoff(self, mode: str) -> None:
        if not self._stable():
            return
        since = time.time()
        self.obs.mode = mode
        self.obs.drop_all()
        got = self._wait(f"5 connects while the checker would {mode} them",
                         lambda: len(self.obs.of("connect", self.device, since=since)) >= 5,
                         180)
        self.obs.mode = "pass"
        accepts = [e["t"] for e in self.obs.of("accept", since=since)]
        # each attempt starts at the TCP accept that carried its CONNECT
        attempts = [max([a for a in accepts if a <= e["t"]] or [e["t"]])
                    for e in self.obs.of("connect", self.device, since=since)][:5]
        ends = [e["t"] for e in self.obs.of("refused" if mode == "refuse" else "kicked",
                                            self.device, since=since)]
        # each wait counts from the moment the checker ended the attempt
        waits = [b - max([t for t in ends if t <= b] or [a]) for a, b in
                 zip(attempts, attempts[1:], strict=False)]
        self.phases[mode] = {"attempts": attempts, "waits": waits, "complete": got}
        self._wait("the device back", lambda: self._connected_since() is not None, 120)

    def _tls(self) -> None:
        if not self._stable():
            return
        modes = ["foreign", "expired", "wrong-host", "old"]
        with self.obs.lock:
            self.obs.tls_queue = list(modes)
        self.obs.drop_all()
        self._wait("the device to meet each endpoint", lambda: not self.obs.tls_queue, 180)
        with self.obs.lock:
            self.obs.tls_queue = []
        self.phases["tls"] = {"modes": modes}
        self._wait("the device back", lambda: self._connected_since() is not None, 180)

    def _seqs(self) -> set[int]:
        return {k for k in _readings(self._seen()) if isinstance(k, int)}

    def _broker_restart(self) -> None:
        seqs = self._seqs()
        last = max(seqs) if seqs else 0
        down = max(2 * self.interval, 5.0)
        self.broker.stop()
        self.obs.drop_all()
        time.sleep(down)
        self.broker.start()
        self.platform.stop()
        from ..testbed.platform import Platform

        self.platform = Platform(self.broker).start(f"{self.root}/#")
        def all_back() -> bool:  # newer readings, and none missing between
            seqs = self._seqs()
            return bool(seqs) and max(seqs) >= last + 2 \
                and len(seqs) == max(seqs) - min(seqs) + 1

        self._wait("readings made while the broker was away, all of them", all_back,
                   4 * self.interval + 90)
        self.phases["broker-restart"] = {"last_seq_before": last, "down_s": down}

    def _ports(self) -> None:
        tls = [e for e in self.obs.of("tls", self.device) if e["tls"] == "good"]
        if not tls:
            return
        address = tls[-1]["peer"]
        declared = [d["port"] for d in self.decl.get("local_services", [])]
        probed = sorted(set(PROBE_PORTS) | set(declared))
        own = {self.lab["port"], self.broker.port}  # the lab's own listeners on loopback
        open_ports = [p for p in probed if p not in own and is_open(address, p)]
        let_in: list[tuple[int, str]] = []
        asked: list[int] = []
        for svc in self.decl.get("local_services", []):
            if svc["protocol"] == "http" and svc["port"] in open_ports:
                who = http_lets_in(address, svc["port"])
                if who:
                    let_in.append((svc["port"], who))
                else:
                    asked.append(svc["port"])
        self.phases["ports"] = {"address": address, "probed": probed, "open": open_ports,
                                "let_in": let_in, "asked": asked}
