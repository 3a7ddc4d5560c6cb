"""`stadsnod bench` (make bench): the project's figures, one `name: value unit` line each.
Progress goes to stderr so stdout stays machine-readable."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import time
from pathlib import Path

from ..analysis.replay import RUNNER
from ..core.build import build
from ..core.mpyrun import run_code
from ..core.paths import ROOT, RUN, ToolError, board_vm, micropypath
from ..core.senml import by_name
from .deployment import Deployment
from .worlds import DEFAULT_HEAP


def _progress(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def heap_run(cycles: int = 120, romfs: Path | None = None) -> dict[str, float]:
    """One node at the simulated heap (DEFAULT_HEAP) for `cycles` publish cycles; heap figures
    come from the node's own /health reports (measured inside the node after a collection).
    With `romfs` (an image of the build) the node imports its modules from it in place."""
    interval = 0.1
    with Deployment(RUN / "bench") as dep:
        node = dep.add_node("bench-0001", heap=DEFAULT_HEAP, interval_s=interval, every_s=0.05,
                            health_s=1)
        node.romfs = romfs
        node.config["ntp"]["resync_s"] = 2  # resyncs during the run, for clock_error_ms_max
        node.prepare()
        started = time.time()  # same clock as the platform's arrival stamps
        node.start()
        first = dep.platform.wait_for(lambda m: m.topic.endswith("/status")
                                      and m.payload == b"online", timeout=30)
        boot_ms = (first[0].at - started) * 1000
        _progress(f"node up; running {cycles} publish cycles")
        deadline = time.time() + cycles * interval * 4 + 60
        health: dict = {}
        while time.time() < deadline:
            reports = dep.platform.of("health", "bench-0001")
            if reports:
                health = by_name(reports[-1].payload)
                if health.get("published", 0) >= cycles:
                    break
            if not node.alive():
                raise ToolError(f"bench node died:\n{node.console()[-2000:]}")
            time.sleep(0.2)
        else:
            raise ToolError(f"bench node reached only {health.get('published')} publishes; "
                            f"see {node.log_path}")
        errors = dep.platform.clock_errors_ms("bench-0001")[1:]  # the first may predate sync
        return {"boot_ms": boot_ms, "peak": health["heap_peak"], "steady": health["heap_steady"],
                "published": health["published"],
                "clock_error_ms": max(abs(e) for e in errors) if errors else float("nan")}


def driver_figures() -> dict[str, tuple[int, int, int]]:
    """{driver: (heap held once started, heap allocated per read cycle, the same with the
    getters the node calls after a read)}, measured on the unix port against the fakes
    (tools/stadsnod/testbed/unixport/driver_bench.py)."""
    r = run_code("import driver_bench", heap="1M", timeout=120, path=micropypath(RUNNER))
    if r.returncode:
        raise ToolError(f"driver bench failed:\n{r.stdout}{r.stderr}")
    out = {}
    for line in r.stdout.split("\n"):
        if line.strip():
            name, held, per_read, with_getters = line.split()
            out[name] = (int(held), int(per_read), int(with_getters))
    return out


def noise_figures() -> dict[str, float]:
    """The noise path on the unix port (tools/stadsnod/testbed/unixport/noise_bench.py): realtime
    factors at 48 kHz (viper, bytecode), heap held, allocation per block."""
    r = run_code("import noise_bench", heap="2M", timeout=300, path=micropypath(RUNNER))
    if r.returncode:
        raise ToolError(f"noise bench failed:\n{r.stdout}{r.stderr}")
    return {name: float(value) for name, value in
            (line.split() for line in r.stdout.splitlines() if line.strip())}


def occupancy_figures() -> dict[str, float]:
    """Counter error on the noisy reference scenario, LD2410 parser throughput, driver heaps
    (tools/stadsnod/testbed/unixport/occupancy_bench.py)."""
    r = run_code("import occupancy_bench", heap="2M", timeout=300, path=micropypath(RUNNER))
    if r.returncode:
        raise ToolError(f"occupancy bench failed:\n{r.stdout}{r.stderr}")
    return {name: float(value) for name, value in
            (line.split() for line in r.stdout.splitlines() if line.strip())}


def queue_default_capacity() -> int:
    """The default spool capacity (readings), read from the firmware's config schema."""
    schema = ROOT / "firmware" / "runtime" / "config.py"
    spec = importlib.util.spec_from_file_location("fw_config", schema)
    assert spec is not None and spec.loader is not None  # a .py file that exists
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, _required, rows in mod._SECTIONS:
        if name == "queue":
            return next(row[4] for row in rows if row[0] == "capacity")
    raise ToolError("firmware/runtime/config.py has no queue.capacity")


def power_cut_figures() -> tuple[int, int]:
    """(cut points tested, readings lost) of the spool's exhaustive power-cut run."""
    r = run_code("import powercut_bench", heap="4M", timeout=600, path=micropypath(RUNNER))
    lines = [ln for ln in r.stdout.splitlines() if ln and ln[0].isdigit() or
             ln.startswith("error")]
    if r.returncode or not lines or lines[-1].startswith("error"):
        raise ToolError(f"power-cut run failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    points, lost = lines[-1].split()
    return int(points), int(lost)


def drain_figures() -> None:
    """A 72-hour backlog (4,320 readings) drained against mosquitto with eight packs in flight
    (the default window) and, in the same run, with one; then the MQTT client beside
    umqtt.simple."""
    from .drain_bench import run_drain
    from .mqtt_peer import run_peer_bench

    for window, suffix in ((8, ""), (1, "_window1")):
        _progress(f"a 72-hour backlog drained, {window} pack(s) in flight")
        d = run_drain(4320, RUN / "drain", window=window)
        print(f"backlog_drain_readings_per_s{suffix}: {d.per_s:.0f} readings/s")
        print(f"backlog_drain_heap_peak_bytes{suffix}: {d.heap_peak} bytes")
        print(f"backlog_drain_readings_lost{suffix}: {d.lost} count", flush=True)
    from .rabbitmq_bench import cluster_failover, interop
    from .sntp import SNTPServer

    _progress("RabbitMQ's MQTT plugin: a node through it, then a 3-node cluster losing a node")
    for folder in ("rabbitmq-interop", "rabbitmq-cluster"):
        shutil.rmtree(RUN / folder, ignore_errors=True)
    with SNTPServer() as sntp:
        ok = interop(RUN / "rabbitmq-interop", sntp.port)
        print(f"broker_interop_rabbitmq: {'pass' if ok else 'fail'}", flush=True)
        f = cluster_failover(RUN / "rabbitmq-cluster", sntp.port)
        _progress(f"cluster failover: node moved {f.node_moved}, platform moved "
                  f"{f.platform_moved}")
        print(f"cluster_failover_readings: {f.readings} count")
        print(f"cluster_failover_readings_lost: {f.lost} count", flush=True)
    from .fleet_report import last_figures

    fleet = last_figures(RUN / "fleet")  # `make fleet` runs it (about 17 min)
    print(fleet if fleet else "fleet_nodes: 0 count (no `make fleet` run here yet)",
          end="" if fleet else "\n", flush=True)
    _progress("QoS 1 publishes: the node's client and umqtt.simple, same packs, same broker")
    peer = run_peer_bench(RUN / "mqtt-peer")
    print(f"peer_umqtt_publish_per_s: {peer['umqtt.simple'][0]:.0f} publishes/s")
    print(f"peer_umqtt_publish_per_s_nodelay: {peer['umqtt.simple-nodelay'][0]:.0f} publishes/s")
    print(f"peer_umqtt_heap_bytes: {peer['umqtt.simple'][1]} bytes")
    print(f"mqtt_publish_per_s: {peer['stadsnod-window-1'][0]:.0f} publishes/s")
    print(f"mqtt_publish_per_s_window8: {peer['stadsnod-window-8'][0]:.0f} publishes/s")
    print(f"mqtt_client_heap_bytes: {peer['stadsnod-window-1'][1]} bytes", flush=True)


def run_bench(cycles: int = 120) -> None:
    _progress("building")
    sizes = build(quiet=True)
    for target, size in sizes.items():
        print(f"mpy_bytes_{target}: {size} bytes", flush=True)
    from .layout_bench import layout_figures

    _progress("device layout: flat lib/ against a package per room")
    for name, value in layout_figures().items():
        print(f"{name}: {value} bytes", flush=True)
    _progress("measuring the drivers against the fakes")
    # with a board VM here, driver_alloc_per_read_bytes_<driver> and heap_headroom_bytes_<board>
    # are its figures (board_vm_bench) and the 64-bit ones get "_64"
    suffix = "_64" if board_vm() is not None else ""
    for name, (held, _per_read, with_getters) in driver_figures().items():
        print(f"driver_heap_bytes_{name}: {held} bytes")
        print(f"driver_alloc_per_read_bytes_{name}{suffix}: {with_getters} bytes", flush=True)
    _progress("the noise meter: A-weighting and levels at 48 kHz")
    noise = noise_figures()
    print(f"noise_realtime_factor_48k: {noise['noise_realtime_factor_48k']:.0f} s/s")
    print(f"noise_realtime_factor_48k_bytecode: "
          f"{noise['noise_realtime_factor_48k_bytecode']:.1f} s/s")
    print(f"noise_heap_bytes: {noise['noise_heap_bytes']:.0f} bytes")
    print(f"noise_alloc_per_block_bytes: {noise['noise_alloc_per_block_bytes']:.0f} bytes",
          flush=True)
    _progress("occupancy: the counter on the noisy reference scenario, the LD2410 parser")
    occ = occupancy_figures()
    print(f"occupancy_count_error_pct: {occ['occupancy_count_error_pct']:.1f} %")
    print(f"ld2410_frames_per_s: {occ['ld2410_frames_per_s']:.0f} frames/s")
    for name in ("ld2410", "vl53l1x", "pir"):
        print(f"driver_heap_bytes_{name}: {occ['driver_heap_bytes_' + name]:.0f} bytes")
    sys.stdout.flush()
    _progress("power cuts at every flash write of the spool scenario")
    points, lost = power_cut_figures()
    print(f"power_cut_points_tested: {points} count")
    print(f"readings_lost: {lost} count", flush=True)
    from .soak import print_soak, run_soak

    _progress("soak: a simulated day with 6 hours of broker outages")
    print_soak(run_soak())
    print(f"queue_capacity_hours_1min: {queue_default_capacity() / 60:.0f} hours")
    drain_figures()
    from .pki_bench import bench_pki

    _progress("PKI: issuing identities, revoking one against mosquitto")
    pki = bench_pki(RUN / "pki-bench")
    print(f"pki_issue_per_s: {pki['pki_issue_per_s']:.0f} identities/s")
    print(f"revocation_to_refusal_s: {pki['revocation_to_refusal_s']:.2f} s", flush=True)
    from .fieldbench import bench_technician

    _progress("technician: deploy, provision, selftest on the virtual board at 115200 baud")
    tech = bench_technician(RUN / "technician-bench")
    print(f"technician_deploy_s: {tech['technician_deploy_s']:.1f} s")
    print(f"deploy_bytes: {tech['deploy_bytes']} bytes", flush=True)
    from .ota import (
        firmware_release,
        live_figures,
        powercut_release,
        run_firmware,
        run_powercut,
        verify_ms,
    )

    _progress("signed updates: verification, power cuts at every write of an install")
    print(f"ota_verify_ms: {verify_ms(RUN / 'ota-verify'):.2f} ms", flush=True)
    shutil.rmtree(RUN / "ota-powercut", ignore_errors=True)
    cut = run_powercut(powercut_release(RUN / "ota-powercut"))
    print(f"ota_power_cut_points_tested: {cut['cut_points']} count")
    print(f"ota_bricked: {cut['outcomes']['bricked']} count", flush=True)
    _progress("ESP32 firmware over the air: power cuts at every write of install, boot, confirm")
    shutil.rmtree(RUN / "ota-firmware", ignore_errors=True)
    fw = run_firmware(firmware_release(RUN / "ota-firmware"))
    print(f"ota_firmware_power_cut_points_tested: {fw['cut_points']} count")
    print(f"ota_firmware_bricked: {fw['outcomes']['bricked']} count", flush=True)
    _progress("signed commands and a release over MQTT: one node, then a fleet of 5")
    for name, figure in live_figures(RUN / "ota-live").items():
        unit = {"command_roundtrip_ms": "ms", "ota_app_install_s": "s", "ota_bytes_per_s":
                "bytes/s", "ota_heap_peak_bytes": "bytes", "fleet_update_s_5_nodes": "s"}[name]
        print(f"{name}: {figure:.1f} {unit}" if unit in ("ms", "s") else
              f"{name}: {figure:.0f} {unit}", flush=True)
    from .conformance_bench import conformance_run_s, profile_counts, seeded_caught

    _progress("conformance: a full run against a stadsnod node, then 12 seeded devices")
    for name, count in profile_counts().items():
        print(f"{name}: {count} count")
    print(f"conformance_run_s: {conformance_run_s(RUN / 'conformance'):.0f} s", flush=True)
    print(f"seeded_devices_caught_exactly: {seeded_caught(RUN / 'seeded')} of 12", flush=True)
    from .board_vm_bench import run_board_vm_bench
    from .budget import run_budget

    for key, b in run_budget().items():
        print(f"heap_headroom_bytes_{key.split(':')[0]}{suffix}: {b['headroom']} bytes",
              flush=True)
    _progress(f"starting broker and one simulated node at heapsize={DEFAULT_HEAP}")
    r = heap_run(cycles)
    print(f"node_heap_peak_bytes: {r['peak']} bytes")
    print(f"node_heap_steady_bytes: {r['steady']} bytes")
    print(f"boot_to_first_publish_ms: {r['boot_ms']:.0f} ms")
    print(f"bench_publish_cycles: {r['published']} count")
    print(f"clock_error_ms_max: {r['clock_error_ms']:.1f} ms", flush=True)
    run_board_vm_bench(cycles)
