# What a node checks of a release before it writes a byte of it (TUF, Uptane's partial
# verification, SUIT): the timestamp (online key) is fresh and names this manifest; the manifest
# (release key) is newer than what runs, not below the security counter, unexpired, and made
# for this board and this MicroPython (bytecode version and native architecture); every file
# and chunk has a length and a hash (in the file list the manifest names by hash), and no length
# passes its cap. Bodies arrive verified (envelope.open_signed) and are parsed here.
import json
import sys

from micropython import const

from clock import EPOCH

MAX_MANIFEST = const(16384)  # a manifest's body (fetched in pieces to flash)
MAX_FILES = const(128)
MAX_INDEX = const(32768)  # the file list (a line a file, on flash)
MAX_FILE = const(65536)
# What the update service sends per message: small enough that a fragmented heap always has
# room for one (a 6.7 KB message failed on a node with 76 KB free).
CHUNK = const(1024)
RELEASE_TYPE = "stadsnod-release"
TIMESTAMP_TYPE = "stadsnod-timestamp"


class UpdateError(Exception):
    pass


def mpy_abi():
    """This VM's .mpy version and native architecture, as sys.implementation._mpy packs them
    (version | sub-version << 8 | arch << 10): bytecode of another ABI does not load."""
    return sys.implementation._mpy


def _expired(expires, now):
    return now is None or expires - EPOCH <= now[0]  # no clock: nothing counts as fresh


def timestamp(body, now, last_version):
    """The timestamp statement: {"type", "version", "release", "manifest" (SHA-256 hex of the
    manifest's body), "expires"}."""
    try:
        t = json.loads(bytes(body))
        v, man, exp = t["version"], t["manifest"], t["expires"]
        if t.get("type") != TIMESTAMP_TYPE or not isinstance(v, int) or len(man) != 64 \
                or not isinstance(t["release"], int) or not isinstance(exp, int):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise UpdateError("signed, but not a timestamp")
    if v < last_version:
        raise UpdateError("timestamp v%d is older than v%d seen before" % (v, last_version))
    if _expired(exp, now):
        raise UpdateError("timestamp expired (update service frozen?)")
    return t


def manifest(m, state, board, now):
    """The release's manifest (parsed), checked against what runs (`state`: slots.state())."""
    try:
        v, sec, exp, target, idx = (m["version"], m["security"], m["expires"], m["target"],
                                    m["index"])
        if m.get("type") != RELEASE_TYPE or not isinstance(v, int) or not isinstance(sec, int) \
                or len(idx["sha256"]) != 64:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise UpdateError("signed, but not a release manifest")
    if v <= state.get("version", 0):
        raise UpdateError("v%d is not newer than the running v%d" % (v, state.get("version", 0)))
    if sec < state.get("security", 0):
        raise UpdateError("security counter %d is below the node's %d (a known-bad release)"
                          % (sec, state.get("security", 0)))
    if _expired(exp, now):
        raise UpdateError("release v%d expired" % v)
    if board not in target.get("boards", ()):
        raise UpdateError("release is for %s, not board %s" % (", ".join(target["boards"]),
                                                                  board))
    abi = mpy_abi()
    want = target.get("mpy") or (None, None, None)  # [version, sub-version, arch]: arch and
    have = (abi & 0xFF, (abi >> 8) & 3, abi >> 10)  # sub-version only when it has native code
    if want[0] != have[0] or (want[2] is not None and (want[1], want[2]) != have[1:]):
        raise UpdateError("release is for .mpy %s, this MicroPython runs %s"
                          % (list(want), list(have)))
    need = tuple(target.get("micropython_min", (0,)))
    if tuple(sys.implementation.version[:len(need)]) < need:
        raise UpdateError("release needs MicroPython %s" % ".".join(str(x) for x in need))
    if not 0 < idx["count"] <= MAX_FILES or not 0 < idx["length"] <= MAX_INDEX:
        raise UpdateError("file list of %d files, %d bytes refused" % (idx["count"],
                                                                        idx["length"]))
    return m


def entry(line):
    """[name, length, sha256, [piece hashes]] of one line of the file list (checked)."""
    parts = line.split()
    if len(parts) not in (3, 4) or not parts[1].isdigit():  # int() would raise ValueError
        raise UpdateError("file list line refused")
    name, size, digest = parts[0], int(parts[1]), parts[2]
    pieces = parts[3].split(",") if len(parts) == 4 else []
    chunks = (size + CHUNK - 1) // CHUNK
    if "/" in name or name.startswith(".") or not 0 < size <= MAX_FILE or len(digest) != 64:
        raise UpdateError("file entry %r refused" % (name,))
    if chunks > 1 and len(pieces) != chunks:
        raise UpdateError("%s: %d piece hashes for %d pieces" % (name, len(pieces), chunks))
    return [name, size, digest, pieces]


def entries(path):
    """The file list on flash, a checked entry at a time: a release of any size costs the
    heap one line."""
    with open(path) as f:
        for line in f:
            if line.strip():
                yield entry(line)
