# Fake `network` for the unix port: a station interface that joins the Wi-Fi described by the
# sim world, can drop (a test writes <control_dir>/wifi.down) and comes back.
import time

import simworld

STA_IF = 0
AP_IF = 1
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_WRONG_PASSWORD = -3
STAT_NO_AP_FOUND = -2
STAT_CONNECT_FAIL = -1
STAT_GOT_IP = 3


def _down():
    ctl = simworld.world().get("control_dir")
    if not ctl:
        return False
    try:
        open(ctl + "/wifi.down").close()
        return True
    except OSError:
        return False


class WLAN:
    def __init__(self, interface=STA_IF):
        self.interface = interface
        self._active = False
        self._status = STAT_IDLE
        self._joined_at = None

    def active(self, on=None):
        if on is None:
            return self._active
        self._active = bool(on)
        if not on:
            self._status = STAT_IDLE

    def connect(self, ssid, key=None):
        if not self._active:
            raise OSError("WLAN not active")
        wifi = simworld.world().get("wifi", {"ssid": ssid, "psk": key})
        if ssid != wifi.get("ssid"):
            self._status = STAT_NO_AP_FOUND
        elif (key or "") != wifi.get("psk", ""):
            self._status = STAT_WRONG_PASSWORD
        else:
            self._status = STAT_CONNECTING
            self._joined_at = time.ticks_add(time.ticks_ms(), wifi.get("connect_ms", 200))

    def disconnect(self):
        self._status = STAT_IDLE

    def status(self, param=None):
        if param == "rssi":
            return -60
        if self._status in (STAT_CONNECTING, STAT_GOT_IP):
            if _down():
                # Like a real station: it keeps trying on its own and rejoins when the AP is back.
                self._status = STAT_CONNECTING
                self._joined_at = time.ticks_add(time.ticks_ms(), 300)
            elif time.ticks_diff(time.ticks_ms(), self._joined_at) >= 0:
                self._status = STAT_GOT_IP
        return self._status

    def isconnected(self):
        return self.status() == STAT_GOT_IP

    def ifconfig(self, *args):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")

    def config(self, param):
        if param == "mac":
            return simworld.unique_id()[:6]
        raise ValueError("unknown config param")
