"""`stadsnod demo`: a small simulated deployment with a live view of what reaches the broker.
The nodes carry a mix of air-quality kits (BME280 + SCD41; BMP280 + SPS30; SEN55 + PMS5003),
each fake at its part's real timing, a noise node (ICS-43434 on I2S) hearing a simulated
street go from a quiet night into the morning rush, and an occupancy node at a school entrance
(VL53L1X people counter, LD2410 and PIR presence) through its morning peak. Halfway through,
one node's particle sensor starts NACKing and another node loses Wi-Fi for a while, so the view
shows the runtime coping: health reports, data-quality flags, reconnects. City IT rolls out a
signed release to every node, then a broken one that reverts on the canary and halts."""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ..core.boards import load_board
from ..core.paths import RUN
from ..core.senml import SenMLError, by_name, resolve
from .demo_city import DemoCity
from .deployment import Deployment
from .worlds import DEMO_KITS, sim_heap


@dataclass
class NodeView:
    data: int = 0
    health: int = 0
    status: str = "-"
    values: dict = field(default_factory=dict)
    sensor: str = "-"
    queued: int | None = None
    readings: set = field(default_factory=set)
    laeq: list = field(default_factory=list)
    counted: bool = False
    count_in: int = 0
    count_out: int = 0
    counts: dict = field(default_factory=dict)  # seq -> (in, out), each reading once


def _collect(dep: Deployment, views: dict[str, NodeView], seen: int) -> int:
    with dep.platform.lock:
        new = dep.platform.messages[seen:]
    for m in new:
        parts = m.topic.split("/")
        if len(parts) != 3 or parts[1] not in views:
            continue
        v = views[parts[1]]
        if parts[2] == "status":
            v.status = m.payload.decode(errors="replace")
            continue
        try:
            rec = by_name(m.payload)
        except (SenMLError, ValueError):
            continue
        if parts[2] == "data":
            v.data += 1
            v.values = rec
            if "LAeq" in rec and len(v.laeq) < 40:
                v.laeq.append(rec["LAeq"])
            v.readings |= {int(val) for k, val in _seqs(m.payload)}
            for seq, deliveries in dep.platform.readings(parts[1]).items():
                vals = deliveries[0][1]
                if "count_in" in vals and seq not in v.counts:
                    v.counts[seq] = (int(vals["count_in"]), int(vals.get("count_out", 0)))
            if v.counts:
                v.counted = True
                v.count_in = sum(c[0] for c in v.counts.values())
                v.count_out = sum(c[1] for c in v.counts.values())
        elif parts[2] == "health":
            v.health += 1
            v.queued = rec.get("queued")
            s = [f"{k.split('/')[1]}: {val}" for k, val in rec.items()
                 if k.endswith("/status") and val != "ok"]
            v.sensor = s[0][:40] if s else "all ok"
    return seen + len(new)


def _seqs(payload: bytes) -> list[tuple[str, float]]:
    """The (name, value) of every `seq` record in a data pack: one per reading."""
    return [(r["n"], r["value"]) for r in resolve(payload) if r["n"].endswith(":seq")]


def _table(views: dict[str, NodeView], elapsed: float, duration: float, events: list[str]) -> str:
    lines = [f"stadsnod demo -- {elapsed:5.0f}/{duration:.0f} s  (Ctrl-C stops)", "",
             f"{'node':<18}{'status':<8}{'read':>5}{'queue':>6}  {'T Cel':>6} {'RH %':>6} "
             f"{'p hPa':>7} {'CO2':>5} {'PM2.5':>6} {'LAeq':>5} {'LAFmx':>5} {'in/out':>7} "
             f"{'occ':>4} {'qual':>5}  sensors"]
    for name, v in views.items():
        t = v.values.get("temperature")
        h = v.values.get("humidity")
        p = v.values.get("pressure")
        co2 = v.values.get("co2")
        pm25 = v.values.get("pm25")
        laeq = v.values.get("LAeq")
        lafmax = v.values.get("LAFmax")
        io = f"{v.count_in}/{v.count_out}" if v.counted else "-"
        occ = v.values.get("occupancy")
        qs = [val for k, val in v.values.items() if k.startswith("quality/")]
        q = min(qs) if qs else None

        def f(x, scale=1.0, w=6, d=1):
            return f"{x / scale:{w}.{d}f}" if isinstance(x, (int, float)) else f"{'-':>{w}}"

        queue = "-" if v.queued is None else str(v.queued)
        lines.append(f"{name:<18}{v.status:<8}{len(v.readings):>5}{queue:>6}  {f(t)} {f(h)} "
                     f"{f(p, 100, 7)} {f(co2, 1, 5, 0)} {f(pm25, 1, 6)} {f(laeq, 1, 5)} "
                     f"{f(lafmax, 1, 5)} {io:>7} {f(occ, 1, 4, 2)} {f(q, 1, 5, 2)}  {v.sensor}")
    lines += ["", *events[-6:]]
    return "\n".join(lines)


class _Rollouts:
    """City IT's part of the demo: a good release rolled out to every node, then a broken one
    (it crashes at import) that reverts on the canary and halts the rollout by itself."""

    def __init__(self, dep: Deployment, ids: list[str], events: list[str], t0: float) -> None:
        import threading

        from ..cityit.update_service import UpdateService
        from .ota import lib_with_app

        city = dep.pki
        self.dep, self.ids, self.events, self.t0 = dep, ids, events, t0
        self.releases = dep.dir / "releases"
        self.good = lib_with_app(dep.dir / "libs", "v1", None)
        self.bad = lib_with_app(dep.dir / "libs", "v2", "raise ImportError('v2 is broken')\n")
        self.service = UpdateService("127.0.0.1", dep.broker.port, city.ca_pem,
                                     city.dir / "platform.pem", city.dir / "platform.key",
                                     city.settings["topic_root"], self.releases, city.trust())
        self.plans: list = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def say(self, msg: str) -> None:
        self.events.append(f"{time.time() - self.t0:4.0f}s  rollout: {msg}")

    def _run(self) -> None:
        from provisioning.release import publish

        from ..cityit.fleet import rollout
        from ..core.paths import unix_target

        city = DemoCity(self.dep.pki.dir)  # its own registry connection: SQLite's is per thread
        city.settings["broker_port"] = self.dep.broker.port
        try:
            self.service.start()
            for version, lib, security in ((1, self.good, 1), (2, self.bad, 1)):
                publish(city.trust(), lib, self.releases, unix_target(), version, security,
                        ["host"])
                self.say(f"release v{version} signed; rolling out (canary, then all)")
                plan = rollout(city, self.ids, version, canary=1, percents=[100], wait_s=120,
                               say=lambda m: self.say(m.strip()))
                self.plans.append(plan)
                if plan.halted_at:
                    break
        except Exception as e:  # the demo goes on; say what went wrong
            self.say(f"stopped: {e}")
        finally:
            self.service.stop()
            city.close()

    def start(self) -> None:
        self.thread.start()


def run_demo(nodes: int = 5, duration: float = 60, interval: float = 5) -> None:
    live = sys.stdout.isatty()
    # SIGTERM (e.g. from a CI timeout) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    print(f"starting broker, SNTP and {nodes} simulated nodes (the Pico W's heap, "
          f"{sim_heap(load_board('picow')[0])} on this VM)...")
    events: list[str] = []
    with Deployment(RUN / "demo") as dep:
        kits = [DEMO_KITS[k % len(DEMO_KITS)] for k in range(nodes)]
        prefix = {"noise": "noise", "occupancy": "occ"}
        ids = [f"sthlm-{prefix.get(kit, 'aq')}-{i + 1:04d}" for i, kit in enumerate(kits)]
        views = {i: NodeView() for i in ids}
        # the noise node's street: from 02:00 (quiet night) into the morning rush, six
        # simulated hours over the run, with vehicles passing
        street = {"scene": "street", "day_s": 4 * duration, "start_hour": 2.0}
        # the occupancy node: a school entrance with its morning peak a third into the run
        school = {"scene": "school", "length_s": duration}
        scenes = {"noise": street, "occupancy": school}
        # The demo's kits are deployed on the Pico W (README, Boards): each node gets that
        # board's heap as the test bed scales it (worlds.sim_heap: twice the 32-bit heap, as
        # 64-bit objects are up to twice their size). An update install needs ~20 KB more for
        # a moment; `make bench` measures what a node needs on the board VM.
        heap = sim_heap(load_board("picow")[0])
        for i, kit in zip(ids, kits, strict=True):
            dep.add_node(i, kit=kit, interval_s=interval, every_s=1, health_s=max(interval, 5),
                         scene=scenes.get(kit), heap=heap).start()
        print(f"broker on 127.0.0.1:{dep.broker.port}; nodes in {dep.dir / 'nodes'}")
        start = time.time()
        seen = 0
        # [start, end (fractions of the run), switch on, switch off, what happens, state]
        script: list[list[Any]] = []
        if nodes >= 2:
            n = dep.nodes[1]
            script.append([0.35, 0.6, lambda n=n: n.set_fault("i2c0-0x69", "nack"),
                           lambda n=n: n.set_fault("i2c0-0x69", None),
                           f"{ids[1]} SPS30 stops answering (NACK)", "off"])
        if nodes >= 3:
            n = dep.nodes[2]
            script.append([0.45, 0.7, lambda n=n: n.set_wifi(False),
                           lambda n=n: n.set_wifi(True), f"{ids[2]} loses Wi-Fi", "off"])
        # the broker goes away for a while: every node keeps its readings on flash and drains
        # the backlog once it is back
        script.append([0.15, 0.3, dep.broker.stop, dep.broker.start,
                       "the broker restarts (down for 15% of the run)", "off"])
        rollouts = _Rollouts(dep, ids, events, start)
        last_print = -10.0
        try:
            # the rollouts start once the broker is back, and the run lasts until they end
            while (elapsed := time.time() - start) < duration or rollouts.thread.is_alive():
                if elapsed > duration * 0.4 and not rollouts.thread.ident:
                    rollouts.start()
                for step in script:
                    begin, end, on, off, what, state = step
                    if state == "off" and elapsed > duration * begin:
                        on()
                        step[5] = "on"
                        events.append(f"{elapsed:4.0f}s  fault: {what}")
                    elif state == "on" and elapsed > duration * end:
                        off()
                        step[5] = "done"
                        events.append(f"{elapsed:4.0f}s  cleared: {what}")
                seen = _collect(dep, views, seen)
                if live:
                    sys.stdout.write("\x1b[H\x1b[2J" + _table(views, elapsed, duration, events)
                                     + "\n")
                    sys.stdout.flush()
                elif elapsed - last_print >= 10:
                    print(_table(views, elapsed, duration, events) + "\n")
                    last_print = elapsed
                time.sleep(1)
        except KeyboardInterrupt:
            events.append("stopped by user")
        for n in dep.nodes:
            n.stop()
        time.sleep(1.5)  # let the broker publish the nodes' last wills
        _collect(dep, views, seen)
        print("\n" + _table(views, time.time() - start, duration, events))
        print("\nsummary:")
        for name, v in views.items():
            top = max(v.readings, default=0)
            gaps = len(set(range(1, top + 1)) - v.readings)
            print(f"  {name}: {len(v.readings)} readings in {v.data} packs (sequence 1..{top}, "
                  f"{gaps} missing), {v.health} health reports, final status {v.status!r}")
            if v.laeq:
                print(f"    LAeq per {interval:g} s interval, night into the morning rush: "
                      + " ".join(f"{x:.0f}" for x in v.laeq))
            if v.counted:
                print(f"    school entrance: {v.count_in} in, {v.count_out} out "
                      f"(counts per interval only; no crossing is timed or kept)")
        for plan in rollouts.plans:
            got = ", ".join(f"{d} {o}" for d, o in plan.outcome.items())
            print(f"  release v{plan.release}: {got}"
                  + (f" -- halted at ring {plan.halted_at}, the rest never asked"
                     if plan.halted_at else f" -- all confirmed in {plan.seconds:.0f} s"))
        total = sum(len(v.readings) for v in views.values())
        print(f"  {total} readings reached the platform; logs in {dep.dir}")


def run_broker(port: int = 8883) -> None:
    with Deployment(RUN / "broker", port=port) as dep:
        print(f"mosquitto on 127.0.0.1:{dep.broker.port} (TLS, client certificates)")
        print(f"root CA: {dep.pki.ca_pem}; issue nodes with 'stadsnod device issue ID --pki "
              f"{dep.pki.dir}' (passphrase: {DemoCity.SECRET.decode()!r})")
        print("Ctrl-C stops")
        try:
            while dep.broker.alive():
                time.sleep(1)
        except KeyboardInterrupt:
            pass
