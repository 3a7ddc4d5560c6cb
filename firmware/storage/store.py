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
