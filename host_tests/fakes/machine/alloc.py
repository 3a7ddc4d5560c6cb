# Heap the fake buses allocate, kept apart from the driver's own (a real board's I2C and UART
# allocate nothing): every bus call is bracketed by enter()/leave().
import gc

_fake_alloc = [0, 0]


def enter():
    _fake_alloc[1] += 1
    return gc.mem_alloc()


def leave(start):
    _fake_alloc[1] -= 1
    if not _fake_alloc[1]:
        _fake_alloc[0] += gc.mem_alloc() - start


def fake_alloc():
    """Bytes allocated inside the fake buses so far (measure with gc disabled)."""
    return _fake_alloc[0]
