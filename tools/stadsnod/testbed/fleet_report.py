"""The fleet simulation's report: the summary table, the figures `make bench` prints, and the
last run's figures kept with the commit it ran on."""

from __future__ import annotations

import sys
from pathlib import Path

from .fleet_sim import FleetResult


def last_figures(workdir: Path) -> str | None:
    """The figures of the last fleet run kept in `workdir`, with the commit it ran on."""
    try:
        return (workdir / "figures.txt").read_text()
    except OSError:
        return None


def _commit() -> str:
    import subprocess

    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                       cwd=Path(__file__).parent)
    return r.stdout.strip() or "unknown"


def print_fleet(r: FleetResult, keep: Path | None = None) -> None:
    """The summary table (stderr) and the figures (stdout, one per line; kept in `keep` with
    the commit, for `make bench`)."""
    rows = [("nodes", r.nodes), ("simulated hours", r.sim_hours),
            ("wall time", f"{r.wall_s:.0f} s"), ("readings", r.readings),
            ("lost", r.lost), ("duplicates", f"{r.duplicates} ({r.differing} differing)"),
            ("nodes silent at the end (readings on flash)",
             f"{len(r.silent)} {' '.join(r.silent[:5])}"),
            ("RSS per node", f"{r.rss_bytes_per_node / 1e6:.1f} MB"),
            ("PSS per node (shared pages shared out)", f"{r.pss_bytes_per_node / 1e6:.1f} MB"),
            ("GC heap per node", f"{r.heap_bytes_per_node / 1e3:.1f} KB"),
            ("broker messages/s", f"{r.messages_per_s:.1f}"),
            ("reconnects/s after the broker restart, peak",
             "n/a (not this run's broker)" if r.reconnects_per_s_peak is None
             else r.reconnects_per_s_peak)]
    print("\n".join(r.events + r.differing_examples), file=sys.stderr)
    for name, value in rows:
        print(f"  {name:<44} {value}", file=sys.stderr)
    figures = "".join(f"{line}\n" for line in (
        f"fleet_nodes: {r.nodes} count", f"fleet_sim_hours: {r.sim_hours:g} h",
        f"fleet_wall_s: {r.wall_s:.0f} s", f"fleet_readings: {r.readings} count",
        f"fleet_readings_lost: {r.lost} count", f"fleet_duplicates: {r.duplicates} count",
        f"fleet_nodes_silent_at_end: {len(r.silent)} count",
        f"fleet_rss_bytes_per_node: {r.rss_bytes_per_node:.0f} bytes",
        f"fleet_pss_bytes_per_node: {r.pss_bytes_per_node:.0f} bytes",
        f"fleet_heap_bytes_per_node: {r.heap_bytes_per_node:.0f} bytes",
        f"fleet_messages_per_s: {r.messages_per_s:.1f} messages/s",
        *([] if r.reconnects_per_s_peak is None else
          [f"fleet_reconnects_per_s_peak: {r.reconnects_per_s_peak} connects/s"])))
    print(figures, end="", flush=True)
    if keep is not None:
        keep.write_text(figures + f"fleet_commit: {_commit()} commit\n")
