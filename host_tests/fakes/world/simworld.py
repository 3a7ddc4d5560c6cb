# The simulated world around one node: which fake devices sit on which bus, the Wi-Fi it can
# join, its unique id, and live fault switches. Read from the JSON file named by $STADSNOD_SIM
# (the launcher writes one per node); tests may instead attach devices directly.
import json
import os
import time

EXIT_RESET = 3
EXIT_DEEPSLEEP = 4

_world = [None]
_fault_cache = {}


def world():
    if _world[0] is None:
        path = os.getenv("STADSNOD_SIM")
        w = {}
        if path:
            with open(path) as f:
                w = json.load(f)
        _world[0] = w
    return _world[0]


def set_world(w):
    """For tests running inside one MicroPython process."""
    _world[0] = w
    _fault_cache.clear()


def unique_id():
    uid = world().get("uid", "5354414453")  # "STADS" in hex when no world says otherwise
    return bytes(int(uid[i:i + 2], 16) for i in range(0, len(uid), 2))


def reset_cause():
    """Set per boot by the launcher (a watchdog or machine.reset() reboot), else power-on."""
    cause = os.getenv("STADSNOD_RESET_CAUSE")
    return int(cause) if cause else world().get("reset_cause", 1)


def note_deepsleep(ms):
    pass


_lit = {}


def note_output(pin_id, v):
    """An output pin switched on (an LED lit): counted, and the count written to
    <control_dir>/pin<id>.on so a test outside the node sees the board blink."""
    if not v:
        return
    _lit[pin_id] = _lit.get(pin_id, 0) + 1
    ctl = world().get("control_dir")
    if ctl:
        with open("%s/pin%s.on" % (ctl, pin_id), "w") as f:
            f.write(str(_lit[pin_id]))


def live_fault(key):
    """A fault switched on from outside while the node runs: the file <control_dir>/<key>.fault
    holds its name (nack, stuck, garbage, unplugged). Checked at most every 100 ms."""
    ctl = world().get("control_dir")
    if not ctl:
        return None
    now = time.ticks_ms()
    hit = _fault_cache.get(key)
    if hit and time.ticks_diff(now, hit[0]) < 100:
        return hit[1]
    try:
        with open(ctl + "/" + key + ".fault") as f:
            fault = f.read().strip() or None
    except OSError:
        fault = None
    _fault_cache[key] = (now, fault)
    return fault


def _make(spec, key):
    mod = __import__("fake_" + spec["device"])
    dev = mod.Device(env_from(spec.get("env", {})), **spec.get("options", {}))
    dev.fault_key = key
    return dev


def env_from(spec):
    import envmodel

    return envmodel.Environment(spec)


def populate_i2c(bus_id, devices):
    for spec in world().get("i2c", {}).get(str(bus_id), []):
        addr = spec["address"]
        if addr not in devices:
            devices[addr] = _make(spec, "i2c%d-0x%02x" % (bus_id, addr))


def uart_device(port_id):
    spec = world().get("uart", {}).get(str(port_id))
    return _make(spec, "uart%d" % port_id) if spec else None


_gpio = {}


def gpio_source(pin_id):
    """The fake part on a GPIO, made once per pin (several Pin objects share it)."""
    spec = world().get("gpio", {}).get(str(pin_id))
    if not spec:
        return None
    if pin_id not in _gpio:
        _gpio[pin_id] = _make(spec, "gpio%s" % pin_id)
    return _gpio[pin_id]


def i2s_source(port_id):
    spec = world().get("i2s", {}).get(str(port_id))
    return _make(spec, "i2s%d" % port_id) if spec else None
