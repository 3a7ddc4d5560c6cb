"""The fake hardware around a simulated node (its sim.json): sensor kits, the world of a node
with a kit, the world wired exactly as a board file says, and the RAM a simulated board gets."""

from __future__ import annotations

# A simulated node's GC heap. Objects on the 64-bit host are up to twice their size on a 32-bit
# board (a module takes ~3x its .mpy size here), and the fakes (machine, network, the fake
# sensors) take 30-45 KB a board does not spend; 256K here is roughly a 100 KB board. Per-board
# budgets are the boards issue's figures.
DEFAULT_HEAP = "256K"


def sim_heap(board: dict) -> str:
    """The heap a node simulating `board` gets: twice the board's GC heap (objects are up to
    twice their board size here), at least DEFAULT_HEAP and at most 1M. The host board's heap
    is DEFAULT_HEAP by definition. An ESP32-S3 with its 2 MB of PSRAM is not squeezed into 256K,
    where its microphone's DMA ring and three sensor families leave no contiguous KB."""
    if board["chip"] == "host":
        return DEFAULT_HEAP
    kb = max(int(DEFAULT_HEAP[:-1]), min(1024, 2 * board["gc_heap_bytes"] // 1024))
    return f"{kb}K"


# Sensor kits for simulated nodes: (driver, bus, address, node-side options, fake device,
# fake options). The fakes keep the parts' real timing unless `time_scale` shrinks their
# measurement periods (tests do; the demo does not).
KITS: dict[str, list[tuple]] = {
    "weather": [("bme280", "i2c0", 0x76, {}, "bme280", {})],
    "co2": [("bme280", "i2c0", 0x76, {}, "bme280", {}),
            ("scd4x", "i2c0", 0x62, {}, "scd4x", {})],
    "pm-sps30": [("bmp280", "i2c0", 0x77, {}, "bme280", {"chip_id": 0x58}),
                 ("sps30", "i2c0", 0x69, {"warmup_s": 10}, "sps30", {})],
    "pm-sen5x-pms": [("sen5x", "i2c0", 0x69, {}, "sen5x", {}),
                     ("pms5003", "uart1", None, {"warmup_s": 10}, "pms5003", {})],
    # an ICS-43434 on I2S at 16 kHz (a Pico W's rate) hearing a street
    "noise": [("ics43434", "i2s0", None, {"rate": 16000}, "mic", {"scene": "street"})],
    # a school entrance: a VL53L1X counting through the door, an LD2410 and a PIR watching
    # the hall inside (presence fused)
    "occupancy": [("vl53l1x", "i2c0", 0x29, {}, "vl53l1x", {"scene": "school"}),
                  ("ld2410", "uart1", None, {}, "ld2410", {"scene": "school"}),
                  ("pir", "pir0", None, {"warmup_s": 3, "hold_s": 3}, "pir",
                   {"module": "am312", "scene": "school"})],
}
DEMO_KITS = ("co2", "pm-sps30", "pm-sen5x-pms", "noise", "occupancy")
# GPIO inputs of the host board (boards/board_host.py "gpio")
HOST_GPIO = {"pir0": 14}


def kit_sensors(kit: str, every_s: float, time_scale: float = 1.0) -> list[dict]:
    """The node config's sensors list for a kit."""
    out = []
    for driver, bus, address, options, _dev, _fake_opts in KITS[kit]:
        s: dict = {"driver": driver, "bus": bus, "every_s": every_s}
        if address is not None:
            s["address"] = address
        opts = dict(options)
        if time_scale != 1.0 and "warmup_s" in opts:
            opts["warmup_s"] = opts["warmup_s"] * time_scale
        if opts:
            s["options"] = opts
        out.append(s)
    return out


def sim_world(index: int, env: dict | None = None, uid: str | None = None,
              kit: str = "weather", time_scale: float = 1.0, scene: dict | None = None) -> dict:
    """Fake hardware for one node: the kit's fake sensors in a shared weather (and `scene`
    options for a microphone's fake: fake_mic.Device)."""
    env = env if env is not None else {"seed": index + 1, "temperature": 6.0 + index,
                                       "humidity": 75.0 - 3 * index, "period_s": 120}
    i2c: list[dict] = []
    uart: dict = {}
    i2s: dict = {}
    gpio: dict = {}
    for _driver, bus, address, _options, device, fake_opts in KITS[kit]:
        opts = dict(fake_opts)
        if device == "mic":
            i2s[bus[3:]] = {"device": "mic", "options": opts | (scene or {})}
            continue
        if device in ("vl53l1x", "ld2410", "pir"):
            opts |= scene or {}
        if bus in HOST_GPIO:
            gpio[str(HOST_GPIO[bus])] = {"device": device,
                                         "options": opts | {"time_scale": time_scale}}
            continue
        if device != "bme280":
            opts["time_scale"] = time_scale
        spec = {"device": device, "env": env, "options": opts}
        if bus.startswith("i2c"):
            i2c.append(dict(spec, address=address))
        else:
            uart[bus[4:]] = spec
    world = {
        "uid": uid or "5354%08x" % (0xA0000 + index),
        "wifi": {"ssid": "stadsnod-sim", "psk": "not-a-real-secret", "connect_ms": 150},
        "control_dir": "sim",
        "i2c": {"0": i2c},
    }
    if uart:
        world["uart"] = uart
    if i2s:
        world["i2s"] = i2s
    if gpio:
        world["gpio"] = gpio
    return world




# The fake device standing in for each driver's part, with the options that make it that part.
FAKE_FOR: dict[str, tuple[str, dict]] = {
    "bme280": ("bme280", {}), "bmp280": ("bme280", {"chip_id": 0x58}),
    "scd4x": ("scd4x", {}), "sps30": ("sps30", {}), "sen5x": ("sen5x", {}),
    "pms5003": ("pms5003", {}), "ics43434": ("mic", {"scene": "street"}),
    "inmp441": ("mic", {"scene": "street", "sensitivity_dbfs": -26.0, "self_noise_db": 33.0}),
}


def board_world(board: dict, index: int = 0, env: dict | None = None,
                time_scale: float = 1.0) -> dict:
    """Fake hardware wired exactly as a board file says: its chip (the fake machine checks
    pins against that chip's table) and a fake part for every sensor, on the bus ids the
    board gives."""
    world = sim_world(index, env=env)
    env = world["i2c"]["0"][0]["env"]
    world["chip"] = board["chip"]
    i2c: dict[str, list] = {}
    uart: dict[str, dict] = {}
    i2s: dict[str, dict] = {}
    for s in board["sensors"]:
        device, opts = FAKE_FOR[s["driver"]]
        opts = dict(opts)
        if device != "bme280":
            opts["time_scale"] = time_scale
        kind = s["bus"].rstrip("0123456789")
        bus_id = str(board[kind][s["bus"]]["id"])
        spec = {"device": device, "env": env, "options": opts}
        if kind == "i2c":
            i2c.setdefault(bus_id, []).append(dict(spec, address=s["address"]))
        elif kind == "i2s":
            i2s[bus_id] = {"device": device, "options": opts}
        else:
            uart[bus_id] = spec
    world["i2c"] = i2c
    world["uart"] = uart
    world["i2s"] = i2s
    world["heap"] = sim_heap(board)  # the board's RAM, as the launcher gives it
    return world
