"""The figures of `make bench` measured on the board VM (32-bit words, float32: what an ESP32 or
RP2040 computes and allocates): the node's heap with the fakes' own taken off, the heap
headroom of every board, driver allocation per read (getters included), the noise path's
realtime factor with viper for x86-32."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ..core.build import build, romfs_image
from ..core.paths import board_vm, unix_target


def _progress(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


@contextmanager
def on_vm(vm: str) -> Iterator[None]:
    """Device code runs on `vm` inside the block (every tool reads STADSNOD_MICROPYTHON)."""
    old = os.environ.get("STADSNOD_MICROPYTHON")
    os.environ["STADSNOD_MICROPYTHON"] = vm
    try:
        yield
    finally:
        if old is None:
            del os.environ["STADSNOD_MICROPYTHON"]
        else:
            os.environ["STADSNOD_MICROPYTHON"] = old


def run_board_vm_bench(cycles: int) -> bool:
    """Prints the 32-bit figures; False (and says why) when there is no board VM here."""
    from .bench import driver_figures, heap_run, noise_figures
    from .budget import fakes_bytes, romfs_heap_bytes, run_budget
    from .worlds import sim_world

    vm = board_vm()
    if vm is None:
        _progress("no board VM (../shared/tools/micropython32, with libc6-i386-cross): the "
                  "32-bit figures are skipped and heap_headroom_bytes_* come from the 64-bit VM")
        return False
    with on_vm(vm):
        _progress(f"the board VM ({vm}): building for x86-32")
        build(quiet=True)
        for name, (_held, _per_read, with_getters) in driver_figures().items():
            # the read cycle and the x100 getters the node calls after it
            print(f"driver_alloc_per_read_bytes_{name}: {with_getters} bytes", flush=True)
        noise = noise_figures()
        print(f"noise_realtime_factor_48k_32: {noise['noise_realtime_factor_48k']:.0f} s/s",
              flush=True)
        for key, b in run_budget().items():
            print(f"heap_headroom_bytes_{key.split(':')[0]}: {b['headroom']} bytes", flush=True)
        _progress("the bench node on the board VM")
        r = heap_run(cycles)
        # the bench node is its deployment's first, with the weather kit (bench.heap_run)
        fakes = fakes_bytes({"sensors": [{"driver": "bme280"}]}, sim_world(0))
        print(f"node_heap_peak_bytes_32: {r['peak'] - fakes} bytes")
        print(f"node_heap_steady_bytes_32: {r['steady'] - fakes} bytes", flush=True)
        # The same node importing its modules from a ROMFS image (in place, as from a board's
        # ROM partition): bytecode and constants stay out of the heap.
        image = romfs_image(unix_target())
        print(f"romfs_image_bytes: {image.stat().st_size} bytes", flush=True)
        _progress("the bench node on the board VM, modules in ROMFS")
        r = heap_run(cycles, romfs=image)
        off = fakes + romfs_heap_bytes(image)
        print(f"node_heap_peak_bytes_32_romfs: {r['peak'] - off} bytes")
        print(f"node_heap_steady_bytes_32_romfs: {r['steady'] - off} bytes", flush=True)
        for key, b in run_budget(romfs=image).items():
            print(f"heap_headroom_bytes_{key.split(':')[0]}_romfs: {b['headroom']} bytes",
                  flush=True)
    return True
