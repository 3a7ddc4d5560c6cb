"""A power cut at every flash program operation of an app install (the node's updater on
littlefs over the fake flash, under MicroPython: host_tests/fakes/flash/update_scenarios.py):
after each reboot the node points at a complete, verified release -- the old one, or the new
one on trial -- its security counter has not dropped, and finishing the install fetches at most
one piece (1 KB) more than an uninterrupted one."""

from __future__ import annotations

from stadsnod.testbed.ota import powercut_release, run_powercut


def test_a_power_cut_at_every_flash_write_of_an_install(tmp_path) -> None:
    out = run_powercut(powercut_release(tmp_path))
    assert out["cut_points"] > 50, out
    # early cuts leave the old release, cuts after the pointer's rename the new one on trial
    assert out["outcomes"]["old"] > 0 and out["outcomes"]["new"] > 0, out
    assert out["outcomes"]["bricked"] == 0, out
    assert out["outcomes"]["old"] + out["outcomes"]["new"] == out["cut_points"], out
    assert out["worst_extra_bytes"] <= 1024, out


def test_each_attack_on_an_install_is_refused_and_changes_nothing(tmp_path) -> None:
    """TUF's attacks on the node's own updater: rollback (older release, older timestamp),
    freeze, a release below the security counter or expired, the wrong board or .mpy ABI,
    arbitrary software (a manifest signed by the timestamp key, a timestamp by the release
    key), mix-and-match (a manifest the timestamp does not name, a file list or a file of
    another release),
    endless data (an oversize file entry, chunk or manifest) -- and an equal version is a
    no-op. What runs, and what it would fall back to, stay as they were."""
    from stadsnod.testbed.ota_attacks import attack_cases, run_attacks

    out = run_attacks(attack_cases(tmp_path))
    assert len(out) == 16, sorted(out)
    for name, (said, unchanged, expect, _fetched) in out.items():
        assert expect in said, (name, said)
        assert unchanged, name
        if name != "same-version":
            assert said.startswith("refused: "), (name, said)
    # endless data is refused before it is read: one piece of the manifest (and the
    # timestamp, ~600 B), not its 18 KB
    assert out["oversize-manifest"][3] <= 1024 + 1024, out["oversize-manifest"]



def test_a_power_cut_at_every_write_of_a_firmware_install(tmp_path) -> None:
    """An ESP32 release that brings a firmware image, against a fake chip whose partitions and
    bootloader follow ESP-IDF (new, pending verify, valid or aborted): a cut at every program
    operation of the install, the switch, the boot and the confirm -- littlefs, the partition
    and otadata alike. After every boot a whole, valid firmware runs with the app made for it,
    and booting on ends with the new release confirmed and its firmware valid."""
    from stadsnod.testbed.ota import firmware_release, run_firmware

    out = run_firmware(firmware_release(tmp_path))
    # the image is 20 pieces: every piece, erase and otadata write is a cut point
    assert out["cut_points"] > 100, out
    assert out["outcomes"]["bricked"] == 0, out
    assert out["outcomes"]["old"] > 0 and out["outcomes"]["new"] > 0, out
    assert out["worst_extra_bytes"] <= 1024, out
    # the clean install fetched the image once, and the app and its lists
    assert out["clean_bytes"] >= 20000, out


def test_a_firmware_whose_app_crashes_goes_back_with_its_app(tmp_path) -> None:
    """Unconfirmed at the next reset, ESP-IDF's bootloader aborts the new firmware and boots
    the old one; the loader sees it and takes the app back too."""
    from stadsnod.testbed.ota import firmware_release, run_firmware

    out = run_firmware(firmware_release(tmp_path), "crash")
    assert out["said"] == "v2 staged in slot b and firmware in ota_1; restarting into a trial"
    assert out["running"] == "ota_0"
    assert out["ota_1"] == out["aborted"]
    s = out["state"]
    assert s["active"] == "a" and s["version"] == 1 and s["reverted"] == 2, s
    assert s["security"] == 1 and not s.get("trial"), s


def test_drops_and_resets_mid_download_resume_without_fetching_twice(tmp_path) -> None:
    """Resume: the link dying with an answer on its way, or the node resetting, at requests
    hypothesis picks; each install resumed until done. The update service sends at most the
    release plus one piece (1 KB) per interruption, and the release ends up staged whole."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from stadsnod.testbed.ota import run_resume

    src = powercut_release(tmp_path)
    # the clean install asks 8 times: timestamp, manifest, file list, five pieces of files
    schedule = st.dictionaries(st.integers(1, 8), st.sampled_from(["drop", "reboot"]),
                               min_size=1, max_size=4)

    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(schedule, min_size=20, max_size=20))
    def check(schedules: list[dict[int, str]]) -> None:
        for sched, (hits, sent, clean, whole) in zip(schedules, run_resume(src, schedules),
                                                     strict=True):
            assert whole, sched
            assert hits == len(sched), sched  # every one of them struck
            assert sent <= clean + 1024 * hits, (sched, sent, clean)

    check()


def test_power_cuts_in_a_row_during_a_firmware_install_converge(tmp_path) -> None:
    """Longer scenarios: the power goes again and again -- at points hypothesis picks, one per
    power-on, while the node boots, installs, switches or confirms -- and after each boot a
    whole firmware runs with its app; at the end the new release is confirmed."""
    from hypothesis import HealthCheck, example, given, settings
    from hypothesis import strategies as st
    from stadsnod.testbed.ota import firmware_release, run_firmware_cuts

    src = firmware_release(tmp_path)
    # a power-on to confirmed takes ~150 program operations (the every-cut test counts them)
    schedule = st.lists(st.integers(0, 160), min_size=2, max_size=5)

    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(schedule, min_size=15, max_size=15))
    # found by CI: a cut between the firmware's confirm and app.json's, then cuts until the
    # trial's attempts ran out -- the app went back, its confirmed firmware did not
    @example([[145, 0]] + [[0, 0]] * 14)
    def check(schedules: list[list[int]]) -> None:
        for sched, wrong in zip(schedules, run_firmware_cuts(src, schedules), strict=True):
            assert wrong is None, (sched, wrong)

    check()
