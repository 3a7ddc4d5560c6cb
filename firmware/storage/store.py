# Small files on the node's flash. littlefs commits file data only at close and makes rename
# atomic, so "write a temp file, close, rename over" leaves either the old or the new file
# after a power cut, never half of one.
import os


def read_text(path):
    with open(path) as f:
        return f.read()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb" if isinstance(data, (bytes, bytearray)) else "w") as f:
        f.write(data)
    os.rename(tmp, path)


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def next_boot(path="boot"):
    """This boot's number (persisted), so monotonic timestamps of a past boot are never taken
    for this one's."""
    try:
        n = int(read_text(path)) + 1
    except (OSError, ValueError):
        n = 1
    write_atomic(path, str(n))
    return n
