# Fetching and staging a release over MQTT from the city's update service, and the trial that
# decides whether it stays. The node asks on <root>/<id>/update/get for one piece at a time:
#   {"r": release, "f": "timestamp" | "manifest" | <file name>, "c": chunk, "b": board}
# and the service answers on <root>/<id>/update/data:
#   b"SNU1" | release (u32) | name length (u8) | name | chunk (u32) | bytes
# Each chunk is checked against its hash in the signed manifest before it is written; a file is
# appended chunk by chunk (littlefs commits at close), so a drop or a reboot resumes at the
# first chunk not on flash. The staged slot is verified whole before the pointer switches.
import asyncio
import json
import os
from hashlib import sha256

from micropython import const

import health
import release
import slots
import store
import trustroot
from envelope import TrustError, body_json, open_signed, open_signed_file
from mqtt import MQTTException
from release import CHUNK, MAX_MANIFEST, UpdateError

_TRIES = const(4)
TIMESTAMP_FILE = "apps/timestamp.sns"  # the one an install is working from
_WAIT_MS = const(5000)


def _file_size(path):
    try:
        with open(path, "rb") as f:
            return f.seek(0, 2)
    except OSError:
        return -1


def _mkdir(path):
    try:
        os.mkdir(path)
    except OSError:
        pass


def _file_hash(path):
    h = sha256()
    buf = bytearray(512)
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(memoryview(buf)[:n])
    return h.digest().hex()


class Updater:
    def __init__(self, node):
        self.node = node
        self.fetched = 0  # bytes received this boot (resume: release size + a chunk per drop)
        self.fresh = False  # a valid, unexpired timestamp was seen this boot
        self._want = None  # (release, name, chunk) awaited
        self._got = None

    # -- the wire
    def on_data(self, msg):
        if len(msg) < 14 or msg[:4] != b"SNU1":
            return
        n = msg[8]
        key = (int.from_bytes(msg[4:8], "big"), bytes(msg[9:9 + n]).decode(),
               int.from_bytes(msg[9 + n:13 + n], "big"))
        if key == self._want:
            self._got = memoryview(msg)[13 + n:]

    async def _get(self, version, name, chunk=0):
        link = self.node.link
        req = json.dumps({"r": version, "f": name, "c": chunk, "b": self.node.cfg["board"]})
        for _ in range(_TRIES):
            if not link.connected:
                raise UpdateError("broker connection lost")
            self._want, self._got = (version, name, chunk), None
            try:
                await link.mqtt.publish(link.update_topic, req)  # QoS 0: a loss is retried
            except (MQTTException, OSError) as e:
                raise UpdateError("asking the update service: %s" % e)
            for _ in range(_WAIT_MS // 10):  # the answer is handed on by check_msg
                link.mqtt.check_msg()
                if self._got is not None:
                    break
                await asyncio.sleep_ms(10)
            if self._got is None:
                continue
            data, self._got, self._want = self._got, None, None
            self.fetched += len(data)
            if len(data) > CHUNK:
                raise UpdateError("%s piece %d: %d bytes, over %d" % (name, chunk, len(data),
                                                                      CHUNK))
            return data
        raise UpdateError("no answer from the update service for %s chunk %d" % (name, chunk))

    # -- trust
    def _roles(self):
        """{role: (role, keys)} of the release and timestamp roles; the rest of the root (a
        few KB of hex) goes back to the heap at once."""
        root = trustroot.load(self.node.commands.root_file)
        if root is None:
            raise UpdateError("no trust root provisioned")
        out = {}
        for name in ("release", "timestamp"):
            role = root.role(name)
            keys = {}
            for kid in role["keys"]:
                keys[kid] = root.keys[kid]
            out[name] = (role, keys)
        return out

    def _open(self, data, roles, name, cap):
        role, keys = roles[name]
        try:
            return open_signed(data, keys, role, cap, name)
        except TrustError as e:
            raise UpdateError(str(e))

    async def timestamp(self, version, roles=None, data=None):
        """The update service's current timestamp (or `data`: one kept on flash), verified
        (timestamp key) and fresh."""
        roles = roles or self._roles()
        s = slots.state()
        if data is None:
            data = await self._get(version, "timestamp")
        body = self._open(data, roles, "timestamp", 1024)
        t = release.timestamp(body, self.node.clock.now(), s.get("timestamp_version", 0))
        self.fresh = True
        if t["version"] != s.get("timestamp_version"):
            s["timestamp_version"] = t["version"]
            slots.save(s)
        t["data"] = data
        return t

    async def _fresh_timestamp(self, version, roles):
        """The timestamp kept on flash by an interrupted install while it is fresh and names
        `version` (a resume fetches nothing it already has), else the service's."""
        try:
            t = await self.timestamp(version, roles, store.read_bytes(TIMESTAMP_FILE))
            if t["release"] == version:
                return t
        except (OSError, UpdateError):
            pass
        t = await self.timestamp(version, roles)
        store.write_atomic(TIMESTAMP_FILE, t["data"])
        return t

    # -- install
    async def install(self, version, seq=None):
        """Stages release `version` in the free slot and switches to it as a trial; returns
        a word for cmd/result. UpdateError (nothing switched) otherwise. An install cut short
        (a drop, a reboot, a power cut) resumes where it stopped: what is on flash is kept."""
        s = slots.state()
        if s.get("trial"):
            raise UpdateError("v%d is still on trial" % s["version"])
        if version == s.get("version"):
            return "already running v%d" % version
        self.node.log.info("update", "fetching v%d" % version)
        _mkdir(slots.APPS)
        roles = self._roles()
        t = await self._fresh_timestamp(version, roles)
        if t["release"] != version:
            raise UpdateError("the update service offers v%d, not v%d" % (t["release"], version))
        st = s.get("staging") or s.get("kept")
        folder = slots.slot_dir(st["slot"]) if st and st["version"] == version else None
        path = folder + "/release.sns" if folder else None
        if path is None or _file_size(path) < 0:  # not kept yet: fetch (or finish) it
            path = slots.APPS + "/release-%d.part" % version
            await self._fetch_file(version, "manifest", path)
        try:
            digest = self._manifest(path, roles)
        except UpdateError:
            os.remove(path)  # fetched again next time
            raise
        if digest.hex() != t["manifest"]:
            raise UpdateError("manifest is not the one the timestamp names (mix-and-match)")
        try:
            doc = body_json(path, MAX_MANIFEST)
        except TrustError:
            raise UpdateError("signed, but not a release manifest")
        m = release.manifest(doc, s, self.node.cfg["board"], self.node.clock.now())
        idx = m["index"]
        listing = folder + "/index.txt" if folder else None
        if listing is None or _file_size(listing) != idx["length"]:
            listing = slots.APPS + "/index-%d.part" % version
            await self._fetch_file(version, "index", listing, idx["length"], False)
        if _file_size(listing) != idx["length"] or _file_hash(listing) != idx["sha256"]:
            os.remove(listing)  # fetched again next time
            raise UpdateError("file list does not match the manifest")
        if not folder:
            folder = slots.slot_dir(slots.begin(s, version))
        if path.endswith(".part"):
            os.rename(path, folder + "/release.sns")
        if listing.endswith(".part"):
            os.rename(listing, folder + "/index.txt")
        listing = folder + "/index.txt"
        health.heap_busy(self.node)  # the install's biggest moment
        count = 0
        for f in release.entries(listing):
            await self._stage(version, folder + "/" + f[0], f)
            count += 1
        if count != idx["count"]:
            raise UpdateError("file list has %d files, the manifest says %d"
                              % (count, idx["count"]))
        for f in release.entries(listing):  # the slot as a whole, read back from flash
            if _file_hash(folder + "/" + f[0]) != f[2]:
                raise UpdateError("%s changed on flash after staging" % f[0])
        firmware = await self._firmware(version, m, folder)
        n = slots.switch(s, version, m["security"], self.node.cfg["updates"]["attempts"], seq,
                         firmware)
        if firmware:  # after the switch: the loader finishes this if the power goes between
            import firmware_image

            firmware_image.set_boot(firmware[0])
        return "v%d staged in slot %s%s; restarting into a trial" % (
            version, n["active"], " and firmware in " + firmware[0] if firmware else "")

    async def _firmware(self, version, m, folder):
        """(partition label, running label) when the release brings this board a firmware
        other than the one running, staged and verified; None otherwise."""
        fw = m.get("firmware")
        if not fw or self.node.cfg["board"] not in fw.get("boards", ()):
            return None
        import firmware_image
        import ota_partitions

        fw = firmware_image.check(fw)
        if not firmware_image.needed(fw, bytearray(CHUNK)):
            return None
        pieces = fw["pieces"]
        path = folder + "/firmware.pieces"
        if _file_size(path) != pieces["length"]:
            await self._fetch_file(version, pieces["name"], path, pieces["length"], False)
        if _file_hash(path) != pieces["sha256"]:
            os.remove(path)  # fetched again next time
            raise UpdateError("firmware piece list does not match the manifest")
        label = await firmware_image.stage(self, version, fw, path)
        return label, ota_partitions.running_label()

    def _manifest(self, path, roles):
        role, keys = roles["release"]
        try:
            return open_signed_file(path, keys, role, MAX_MANIFEST, "manifest")
        except TrustError as e:
            raise UpdateError(str(e))

    async def _fetch_file(self, version, name, path, cap=MAX_MANIFEST, envelope=True):
        """A whole envelope (or the file list, of at most `cap` bytes), piece by piece, to
        flash; the pieces already there are kept (each is one append: whole, or not there)."""
        have = _file_size(path)
        if have > 0 and have % CHUNK:
            return  # its short last piece is there: complete
        for c in range(max(0, have) // CHUNK, cap // CHUNK + 2):
            data = await self._get(version, name, c)
            if c * CHUNK + len(data) > cap + 8 * envelope:  # no more than it can be
                raise UpdateError("%s longer than %d bytes" % (name, cap))
            if envelope and c == 0 and len(data) >= 8:  # the envelope says its length
                size = int.from_bytes(data[4:8], "big")
                if size > MAX_MANIFEST:
                    raise UpdateError("%s of %d bytes over the %d-byte limit"
                                      % (name, size, MAX_MANIFEST))
            with open(path, "ab") as fh:
                fh.write(data)
            if len(data) < CHUNK:
                return
        raise UpdateError("%s longer than %d bytes" % (name, cap))

    async def _stage(self, version, path, f):
        name, size, digest = f[0], f[1], f[2]
        have = _file_size(path)
        if have == size and _file_hash(path) == digest:
            return  # staged before a drop or a reboot
        chunks = (size + CHUNK - 1) // CHUNK
        # whole chunks survive a cut (each is one append, committed at close): keep them
        start = have // CHUNK if 0 < have < size and have % CHUNK == 0 else 0
        if start == 0 and have != -1:
            open(path, "wb").close()
        for c in range(start, chunks):
            data = await self._get(version, name, c)
            want = min(CHUNK, size - c * CHUNK)
            if len(data) != want:
                raise UpdateError("%s chunk %d: %d bytes, not %d" % (name, c, len(data), want))
            h = sha256(data).digest().hex()
            if (chunks > 1 and h[:32] != f[3][c]) or (chunks == 1 and h != digest):
                raise UpdateError("%s chunk %d does not match its hash" % (name, c))
            with open(path, "ab") as fh:
                fh.write(data)
        if _file_hash(path) != digest:
            open(path, "wb").close()
            raise UpdateError("%s does not match its hash" % name)
