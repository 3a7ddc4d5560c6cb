# Node configuration: validated once at load against a schema, so the hot path trusts it.
# A bad config gives one ConfigError naming the field, what was expected and what was found.
import json

CONFIG_FILE = "config.json"
GOOD_FILE = "config.good.json"  # last config that validated: the fallback for a broken one


class ConfigError(ValueError):
    pass


def device_id_ok(s):
    """[a-z0-9-], 1..63 chars, not starting or ending with '-' (it is also a certificate CN)."""
    if not isinstance(s, str) or not 0 < len(s) <= 63 or s[0] == "-" or s[-1] == "-":
        return False
    for c in s:
        if not ("a" <= c <= "z" or "0" <= c <= "9" or c == "-"):
            return False
    return True


def _topic_root_ok(s):
    if not isinstance(s, str) or not s or s[0] == "/" or s[-1] == "/":
        return False
    for c in "+#\x00":
        if c in s:
            return False
    return True


# Schema rows: (field, kind, low, high, default). Kinds: "str" (length low..high), "int" and
# "num" (value low..high), "id" (device id), "topic" (topic prefix), "level" (log level).
# A default of _REQUIRED makes the field mandatory; None leaves it out.
_REQUIRED = "\x00required"
_TOP = (
    ("device_id", "id", 1, 63, _REQUIRED),
    ("board", "str", 1, 32, _REQUIRED),
    ("topic_root", "topic", 1, 64, "stadsnod"),
    ("urn_pen", "int", 0, 4294967295, 32473),
    ("interval_s", "num", 0.01, 86400, 60),
    ("health_s", "num", 0.1, 86400, 300),
    ("log_level", "level", 0, 0, "info"),
    ("watchdog_s", "num", 0, 3600, 30),  # 0: no hardware watchdog
    ("presence_fusion", "fusion", 0, 0, "any"),  # PIR and mmWave together: any or both
    ("config_version", "int", 0, 1073741823, 0),  # a signed config must raise it
)
_SECTIONS = (
    ("wifi", True, (
        ("ssid", "str", 1, 32, _REQUIRED),
        ("psk", "str", 0, 63, ""),
    )),
    ("broker", True, (
        ("host", "str", 1, 253, _REQUIRED),
        ("port", "int", 1, 65535, 8883),
        ("server_hostname", "str", 1, 253, _REQUIRED),
        ("keepalive_s", "int", 5, 3600, 60),
        # a connection held this long restarts the reconnect backoff (profile SN-RES-2)
        ("backoff_stable_s", "int", 1, 3600, 30),
        # the first retry after a held connection is lost waits up to this long (a broker
        # restart then sees about nodes / spread reconnects a second)
        ("reconnect_spread_s", "num", 0, 600, 10),
        # more "host:port" of the same broker cluster (same name and CA), tried in turn after
        # host:port when a connection fails or is lost
        ("endpoints", "endpoints", 0, 4, None),
    )),
    ("tls", False, (
        ("ca", "str", 1, 64, "certs/ca.der"),
        ("cert", "str", 1, 64, "certs/device.der"),
        ("key", "str", 1, 64, "certs/device.key.der"),
    )),
    ("ntp", False, (
        ("host", "str", 1, 253, "pool.ntp.org"),
        ("port", "int", 1, 65535, 123),
        ("resync_s", "num", 1, 86400, 3600),
    )),
    # Store-and-forward on flash: 4320 readings = 72 hours at one a minute.
    ("queue", False, (
        ("dir", "str", 1, 32, "q"),
        ("capacity", "int", 16, 1000000, 4320),
        # a pack holds up to `batch` readings and about `batch_bytes` of SenML (the heap a
        # publish needs); up to `window` packs are in flight, unacknowledged, at once
        ("batch", "int", 1, 50, 16),
        ("batch_bytes", "int", 256, 16384, 2048),
        ("window", "int", 1, 16, 8),
        ("segment_records", "int", 4, 4096, 64),
        # readings taken before the clock is set wait this long for it, then go without time
        ("hold_unsynced_s", "num", 0, 86400, 600),
    )),
    # A new release must confirm (broker, fresh timestamp, self-test) within trial_s, or the
    # node restarts; after `attempts` boots without confirming it goes back (updates/).
    ("updates", False, (
        ("trial_s", "num", 5, 3600, 300),
        ("attempts", "int", 1, 10, 3),
        # how often a running node asks the update service for its timestamp (0: only when
        # it installs; a city with an update service sets e.g. 21600): a frozen service then
        # shows in health as release_fresh false
        ("check_s", "num", 0, 604800, 0),
    )),
)
_SENSOR = (
    ("driver", "str", 1, 32, _REQUIRED),
    ("bus", "str", 1, 16, _REQUIRED),
    ("address", "int", 0x08, 0x77, None),
    ("every_s", "num", 0.01, 3600, 5),
    ("options", "obj", 0, 0, None),
)
# The drivers a node knows and the options each takes (numbers or true/false, passed to the
# driver's constructor; the driver checks their values).
DRIVER_OPTIONS = {
    "bme280": ("osrs_t", "osrs_p", "osrs_h", "iir", "normal", "standby_ms"),
    "bmp280": ("osrs_t", "osrs_p", "iir", "normal", "standby_ms"),
    "scd4x": ("low_power", "single_shot", "temperature_offset", "altitude", "asc"),
    "sps30": ("auto_clean_s", "warmup_s"),
    "sen5x": (),
    "pms5003": ("passive", "warmup_s"),
    # I2S microphones: sample rate (Hz), sensitivity (dBFS at 94 dB SPL, sine peak), the
    # calibrator offset (dB), and bytecode=true to use the fallback instead of viper
    "ics43434": ("rate", "sensitivity_dbfs", "offset_db", "bytecode"),
    "inmp441": ("rate", "sensitivity_dbfs", "offset_db", "bytecode"),
    # occupancy: a PIR's software hold, warm-up and debounce; the LD2410's farthest gate and
    # no-one duration; the VL53L1X counter's threshold, ranging period, zone centres, long mode
    "pir": ("hold_s", "warmup_s", "debounce_ms", "retrigger"),
    "ld2410": ("max_gate", "no_one_s"),
    "vl53l1x": ("threshold_mm", "period_ms", "zone_a_spad", "zone_b_spad", "long"),
}
PRESENCE_FUSION = ("any", "both")
LOG_LEVELS = ("debug", "info", "warning", "error")


def endpoint(e):
    """(host, port) of a "host:port" string, or None."""
    if not isinstance(e, str) or e.count(":") != 1:
        return None
    host, port = e.split(":")
    if not 1 <= len(host) <= 253 or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def _check(kind, lo, hi, v):
    """None when v is acceptable, else what it should have been."""
    if kind == "int" or kind == "num":
        ok = isinstance(v, int) if kind == "int" else isinstance(v, (int, float))
        if ok and not isinstance(v, bool) and lo <= v <= hi:
            return None
        return "%s %s..%s" % ("an integer" if kind == "int" else "a number", lo, hi)
    if kind == "endpoints":
        ok = isinstance(v, list) and len(v) <= hi and all(endpoint(e) for e in v)
        return None if ok else "a list of up to %d \"host:port\"" % hi
    if kind == "obj":
        return None if isinstance(v, dict) else "an object"
    if kind == "fusion":
        return None if v in PRESENCE_FUSION else "one of " + ", ".join(PRESENCE_FUSION)
    if kind == "level":
        return None if v in LOG_LEVELS else "one of " + ", ".join(LOG_LEVELS)
    if kind == "id":
        return None if device_id_ok(v) else "a device id of a-z, 0-9 and '-' (max 63)"
    if kind == "topic":
        return None if _topic_root_ok(v) else "an MQTT topic prefix without wildcards"
    if isinstance(v, str) and lo <= len(v) <= hi:
        return None
    return "a string of %d..%d characters" % (lo, hi)


def _apply(where, src, schema):
    if not isinstance(src, dict):
        raise ConfigError("%s must be an object" % where)
    names = [row[0] for row in schema]
    for key in src:
        if key not in names:
            raise ConfigError("%s: unknown field '%s'" % (where, key))
    dst = {}
    for key, kind, lo, hi, default in schema:
        if key in src:
            want = _check(kind, lo, hi, src[key])
            if want:
                raise ConfigError("%s.%s must be %s, got %r" % (where, key, want, src[key]))
            dst[key] = src[key]
        elif default == _REQUIRED:
            raise ConfigError("%s.%s is missing" % (where, key))
        elif default is not None:
            dst[key] = default
    return dst


def validate(raw):
    """Returns a complete config dict (defaults filled in) or raises ConfigError."""
    if not isinstance(raw, dict):
        raise ConfigError("config must be a JSON object")
    sections = [name for name, _, _ in _SECTIONS]
    top_names = [row[0] for row in _TOP]
    for key in raw:
        if key not in top_names and key not in sections and key != "sensors":
            raise ConfigError("config: unknown field '%s'" % key)
    cfg = _apply("config", {k: raw[k] for k in raw if k in top_names}, _TOP)
    for name, required, schema in _SECTIONS:
        if required and name not in raw:
            raise ConfigError("config.%s is missing" % name)
        cfg[name] = _apply("config." + name, raw.get(name, {}), schema)
    sensors = raw.get("sensors", [])
    if not isinstance(sensors, list):
        raise ConfigError("config.sensors must be a list")
    cfg["sensors"] = [_sensor(i, s) for i, s in enumerate(sensors)]
    return cfg


def _sensor(i, raw):
    where = "config.sensors[%d]" % i
    s = _apply(where, raw, _SENSOR)
    allowed = DRIVER_OPTIONS.get(s["driver"])
    if allowed is None:
        raise ConfigError("%s.driver must be one of %s, got %r"
                          % (where, ", ".join(sorted(DRIVER_OPTIONS)), s["driver"]))
    for key, value in s.get("options", {}).items():
        if key not in allowed:
            raise ConfigError("%s.options: '%s' is not an option of %s (options: %s)"
                              % (where, key, s["driver"], ", ".join(allowed) or "none"))
        if not isinstance(value, (int, float, bool)):
            raise ConfigError("%s.options.%s must be a number or true/false, got %r"
                              % (where, key, value))
    return s


def parse(text):
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise ConfigError("config is not valid JSON (%s)" % e)
    return validate(raw)


def load(fs_read, fs_write_atomic, log):
    """Load config.json; on a bad one log why and fall back to the last good config.

    Returns the config, or None when there is neither (the caller waits for a technician).
    """
    problem = None
    try:
        text = fs_read(CONFIG_FILE)
    except OSError:
        problem = "config.json is missing"
    else:
        try:
            cfg = parse(text)
        except ConfigError as e:
            problem = str(e)
        else:
            try:
                same = fs_read(GOOD_FILE) == text
            except OSError:
                same = False
            if not same:
                try:
                    fs_write_atomic(GOOD_FILE, text)
                except OSError as e:
                    log.warning("config", "could not keep config.good.json: %s" % e)
            return cfg
    log.error("config", problem + "; fix config.json")
    try:
        cfg = parse(fs_read(GOOD_FILE))
    except (OSError, ConfigError):
        return None
    log.warning("config", "running on the last good config (config.good.json)")
    cfg["config_problem"] = problem
    return cfg
