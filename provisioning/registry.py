"""The device registry (SQLite) and its append-only, hash-chained audit log. Every change to a
device and its audit entry are written in one transaction, so a crash leaves both or neither.
Each audit entry's hash covers the previous entry's hash; the newest hash and count are also
kept in a file beside the database, so editing, deleting or cutting off entries is detected by
`verify()`. The registry holds certificates' serials and expiry dates, never a private key."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

STATES = ("issued", "installed", "active", "revoked", "retired")
# allowed transitions of a device's state
NEXT = {"issued": ("installed", "revoked", "retired"),
        "installed": ("active", "revoked", "retired"),
        "active": ("revoked", "retired"), "revoked": (), "retired": ()}
GENESIS = "0" * 64

SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY, board TEXT, uid TEXT, sensors TEXT, location TEXT, install_date TEXT,
  serial TEXT, expires TEXT, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revoked (serial TEXT PRIMARY KEY, device TEXT, at TEXT);
CREATE TABLE IF NOT EXISTS rotating (device TEXT PRIMARY KEY, old_serial TEXT, at TEXT);
CREATE TABLE IF NOT EXISTS releases (
  device TEXT PRIMARY KEY, version INTEGER, state TEXT, detail TEXT, at TEXT);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY, at TEXT NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL,
  detail TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);
"""


class RegistryError(Exception):
    pass


def operator() -> str:
    return os.environ.get("STADSNOD_OPERATOR") or getpass.getuser()


def entry_hash(prev: str, seq: int, at: str, who: str, action: str, detail: str) -> str:
    body = json.dumps([prev, seq, at, who, action, detail], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class Registry:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.head_file = self.path.with_suffix(".audit-head")
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _audit(self, db, action: str, detail: dict) -> None:
        row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        who = operator()
        text = json.dumps(detail, sort_keys=True)
        h = entry_hash(prev, seq, at, who, action, text)
        db.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?)",
                   (seq, at, who, action, text, prev, h))
        self._pending_head = (seq, h)

    def _commit_head(self) -> None:
        seq, h = self._pending_head
        tmp = self.head_file.with_suffix(".tmp")
        tmp.write_text(f"{seq} {h}\n")
        os.replace(tmp, self.head_file)

    # -- devices
    def add(self, device_id: str, serial: int, expires: dt.datetime, board: str = "",
            location: str = "", sensors: str = "") -> None:
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM devices WHERE id=?", (device_id,)).fetchone():
                raise RegistryError(f"device {device_id} is already registered; rotate it "
                                    "('stadsnod device rotate') instead of issuing again")
            db.execute("INSERT INTO devices VALUES (?,?,?,?,?,?,?,?,?)",
                       (device_id, board, "", sensors, location, "", str(serial),
                        expires.isoformat(timespec="seconds"), "issued"))
            self._audit(db, "issue", {"device": device_id, "serial": str(serial),
                                      "board": board, "location": location})
        self._commit_head()

    def get(self, device_id: str) -> dict:
        cur = self.db.execute("SELECT * FROM devices WHERE id=?", (device_id,))
        row = cur.fetchone()
        if row is None:
            raise RegistryError(f"no device {device_id} in the registry")
        return dict(zip([c[0] for c in cur.description], row, strict=True))

    def devices(self) -> list[dict]:
        cur = self.db.execute("SELECT * FROM devices ORDER BY id")
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def set_state(self, device_id: str, state: str, **fields: str) -> None:
        dev = self.get(device_id)
        if state not in NEXT[dev["state"]]:
            raise RegistryError(f"device {device_id} is {dev['state']}; it cannot become {state}")
        with self.transaction() as db:
            db.execute("UPDATE devices SET state=? WHERE id=?", (state, device_id))
            for k, v in fields.items():
                db.execute(f"UPDATE devices SET {k}=? WHERE id=?", (v, device_id))
            if state in ("revoked", "retired"):
                db.execute("INSERT OR IGNORE INTO revoked VALUES (?,?,?)",
                           (dev["serial"], device_id, dt.datetime.now(dt.UTC).isoformat()))
            self._audit(db, state, {"device": device_id, "serial": dev["serial"], **fields})
        self._commit_head()

    def replace_serial(self, device_id: str, serial: int, expires: dt.datetime) -> str:
        """Rotation: the device gets a new certificate; the old one stays valid until the new
        one is in use (confirm_rotation). Returns the old serial."""
        dev = self.get(device_id)
        if dev["state"] in ("revoked", "retired"):
            raise RegistryError(f"device {device_id} is {dev['state']}")
        with self.transaction() as db:
            db.execute("UPDATE devices SET serial=?, expires=? WHERE id=?",
                       (str(serial), expires.isoformat(timespec="seconds"), device_id))
            pending = db.execute("SELECT old_serial FROM rotating WHERE device=?",
                                 (device_id,)).fetchone()
            if pending:  # rotated again before the last one was confirmed: that one is dead
                db.execute("INSERT OR IGNORE INTO revoked VALUES (?,?,?)",
                           (dev["serial"], device_id, dt.datetime.now(dt.UTC).isoformat()))
            else:
                db.execute("INSERT INTO rotating VALUES (?,?,?)", (device_id, dev["serial"],
                                                                    dt.datetime.now(dt.UTC)
                                                                    .isoformat()))
            self._audit(db, "rotate", {"device": device_id, "old_serial": dev["serial"],
                                       "serial": str(serial)})
        self._commit_head()
        return dev["serial"]

    def confirm_rotation(self, device_id: str) -> str:
        """The new certificate is in use: the old one is revoked. Returns its serial."""
        row = self.db.execute("SELECT old_serial FROM rotating WHERE device=?",
                              (device_id,)).fetchone()
        if row is None:
            raise RegistryError(f"device {device_id} has no rotation waiting")
        with self.transaction() as db:
            db.execute("DELETE FROM rotating WHERE device=?", (device_id,))
            db.execute("INSERT OR IGNORE INTO revoked VALUES (?,?,?)",
                       (row[0], device_id, dt.datetime.now(dt.UTC).isoformat()))
            self._audit(db, "rotation-done", {"device": device_id, "revoked_serial": row[0]})
        self._commit_head()
        return row[0]

    def revoked_serials(self) -> list[int]:
        return [int(r[0]) for r in self.db.execute("SELECT serial FROM revoked")]

    def note(self, action: str, detail: dict) -> None:
        """An audit entry for an action that changes no device (init, broker config...)."""
        with self.transaction() as db:
            self._audit(db, action, detail)
        self._commit_head()

    # -- releases
    def record_release(self, device_id: str, version: int, state: str, detail: str) -> None:
        """What a rollout learnt of a node (confirmed, reverted, failed...), with its entry."""
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO releases VALUES (?,?,?,?,?)",
                       (device_id, version, state, detail, at))
            self._audit(db, "release-" + state, {"device": device_id, "release": version,
                                                 "detail": detail})
        self._commit_head()

    def releases(self) -> dict[str, dict]:
        cur = self.db.execute("SELECT * FROM releases")
        cols = [c[0] for c in cur.description]
        return {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}

    # -- the audit log
    def audit(self) -> list[dict]:
        cur = self.db.execute("SELECT * FROM audit ORDER BY seq")
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def verify(self) -> list[str]:
        """Everything wrong with the audit log; empty when it is intact."""
        problems = []
        prev = GENESIS
        entries = self.audit()
        for i, e in enumerate(entries, start=1):
            if e["seq"] != i:
                problems.append(f"entry {i} is missing (found seq {e['seq']})")
                break
            if e["prev"] != prev:
                problems.append(f"entry {i} does not follow entry {i - 1}")
            if entry_hash(e["prev"], e["seq"], e["at"], e["who"], e["action"], e["detail"]) \
                    != e["hash"]:
                problems.append(f"entry {i} ({e['action']}) was altered after it was written")
            prev = e["hash"]
        try:
            seq, h = self.head_file.read_text().split()
        except (OSError, ValueError):
            if entries:
                problems.append(f"{self.head_file} is missing: the log cannot be checked for "
                                "entries cut off its end")
            return problems
        n = int(seq)
        lagging = n == len(entries) - 1 and entries[-1]["prev"] == h  # a crash before the
        # head file caught up with the last committed entry: nothing is missing
        if not lagging and (n != len(entries) or (entries and entries[-1]["hash"] != h)):
            problems.append(f"the log ends at entry {len(entries)} but entry {seq} was written: "
                            "entries were cut off or replaced")
        return problems
