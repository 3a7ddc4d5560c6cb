# Flat lib/ against packages, on the unix port: the RAM of importing the same modules either way
# (LEAVES: modules that import no other module of ours, so both layouts load identical code) and
# the flash the whole build takes on littlefs with the boards' 4096-byte blocks, flat or one
# folder per room. Prints four numbers: ram_flat ram_packages flash_flat flash_packages.
import gc
import os
import sys

import fakeflash

LIB = os.getenv("LIB")
ROOMS = [r.split("=") for r in os.getenv("ROOMS").split(",")]  # module=room
LEAVES = os.getenv("LEAVES").split(",")
PKG = os.getenv("PKG")  # a folder holding <room>/__init__.mpy and <room>/<module>.mpy


def ram(names):
    gc.collect()
    before = gc.mem_alloc()
    for n in names:
        __import__(n)
    gc.collect()
    return gc.mem_alloc() - before


def flash_used(files):
    f = fakeflash.Flash(blocks=256, block_size=4096)  # 1 MB: room for the build either way
    f.format()
    f.mount("/lfs")
    for path, data in files:
        parts = path.split("/")
        for i in range(1, len(parts)):
            try:
                os.mkdir("/lfs/" + "/".join(parts[:i]))
            except OSError:
                pass
        with open("/lfs/" + path, "wb") as out:
            out.write(data)
    st = os.statvfs("/lfs")
    used = (st[2] - st[3]) * st[0]
    f.unmount("/lfs")
    return used


def read(path):
    with open(path, "rb") as f:
        return f.read()


room_of = dict(ROOMS)
sys.path.insert(0, PKG)
ram(LEAVES)  # once, so that what they import from outside (machine, network) is loaded for both
for n in LEAVES:
    del sys.modules[n]
flat_ram = ram(LEAVES)
for n in LEAVES:
    del sys.modules[n]
pkg_ram = ram([room_of[n] + "." + n for n in LEAVES])
flat = [("lib/" + m + ".mpy", read(LIB + "/" + m + ".mpy")) for m in room_of]
packed = [("lib/%s/%s.mpy" % (room_of[m], m), read(LIB + "/" + m + ".mpy")) for m in room_of]
init = read(os.getenv("INIT"))
packed += [("lib/%s/__init__.mpy" % r, init) for r in set(room_of.values())]
print(flat_ram, pkg_ram, flash_used(flat), flash_used(packed))
