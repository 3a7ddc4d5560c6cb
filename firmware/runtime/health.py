# The node's health records (published on <root>/<id>/health, profile/wire-contract.md) and the
# heap watch behind the heap figures: peak at the busy moments, steady at the quiet one.
import gc
import json

import store
from version import VERSION

APP_STATE = "app.json"  # updates/slots.py's pointer file: which signed release runs


def app_state():
    try:
        s = json.loads(store.read_text(APP_STATE))
        return s if isinstance(s, dict) else {}
    except (OSError, ValueError):
        return {}


def heap_busy(node):
    """Live heap at a busy moment: collect first, so garbage does not count as use."""
    gc.collect()
    used = gc.mem_alloc()
    if used > node.heap_peak:
        node.heap_peak = used
    free = gc.mem_free()
    if free < node.heap_free_min:
        node.heap_free_min = free


def heap_quiet(node):
    gc.collect()  # the quiet point of the cycle; what is left is the steady heap
    node.heap_steady = gc.mem_alloc()


def records(node):
    """[(name, unit, value)] of the node's health now."""
    spool = node.outbox.spool
    r = [
        ("uptime", "s", node.clock.uptime()[0]),  # unwrapped: a ticks_diff fails after 6 days
        ("heap_used", "B", gc.mem_alloc()),
        ("heap_free", "B", gc.mem_free()),
        ("heap_peak", "B", node.heap_peak),
        ("heap_steady", "B", node.heap_steady),
        ("cycles", "count", node.cycles),
        ("heap_free_min", "B", node.heap_free_min),
        ("published", "count", node.published),
        ("queued", "count", len(spool)),
        ("dropped", "count", spool.dropped),
        ("store_errors", "count", node.store_errors + spool.corrupt),
        ("flash_written", "B", spool.written_bytes),
        ("reconnects", "count", max(0, node.link.connects - 1)),
        ("cmd_rejected", "count", node.commands.rejected),
        ("cmd_done", "count", node.commands.done),
        ("clock_synced", None, node.clock.synced),
        ("clock_jumps", "count", node.clock.jumps),
        ("reset_cause", None, node.board.reset_cause()),
        ("boot", "count", node.outbox.boot),
        ("firmware", None, VERSION),
        ("config_version", None, node.cfg["config_version"]),
    ]
    app = app_state()
    r += [
        ("release", None, app.get("version", 0)),  # the signed release that runs (0: factory)
        ("release_state", None, "trial" if app.get("trial") else
         "staging v%d" % app["staging"]["version"] if app.get("staging") else "confirmed"),
        ("release_fresh", None, node.release_fresh),  # the last timestamp check was fresh
    ]
    rssi = node.net.rssi()
    if rssi is not None:
        r.append(("rssi", "dBm", rssi))
    for s in node.sensors:
        for part in s.sources or (s,):  # a fused sensor: each of its sources
            r.append(("sensor/%s/status" % part.id, None, part.status))
            r.append(("sensor/%s/errors" % part.id, "count", part.errors_total))
    problem = node.cfg.get("config_problem") or node.link.problem
    r.append(("problem", None, problem or node.log.last_problem() or "none"))
    return r
