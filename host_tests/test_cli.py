"""The CLI's command table: every subcommand has only its own flags, `--verify` means what it
says, the broker group's default, and `broker config --bind`."""

from __future__ import annotations

import pytest
from stadsnod.cli import COMMANDS, main, parser
from stadsnod.core.command import Group
from stadsnod.testbed.demo_city import DemoCity


@pytest.fixture
def pki(tmp_path, monkeypatch):
    monkeypatch.setenv("STADSNOD_PKI_PASSPHRASE", DemoCity.SECRET.decode())
    city = DemoCity.create(tmp_path / "pki")
    city.issue(["aq-0001"], tmp_path / "bundles", location="Slussen", progress=lambda _m: None)
    return city


def test_a_flag_of_another_subcommand_is_refused(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["pki", "audit", "--broker-host", "x"])
    assert e.value.code == 2 and "unrecognized arguments: --broker-host" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["device", "list", "--out", "bundles"])  # --out belongs to issue and rotate


def test_every_command_and_action_has_its_own_help() -> None:
    p = parser()
    for name, entry in COMMANDS.items():
        actions = list(entry.commands) if isinstance(entry, Group) else [None]
        for action in actions:
            argv = [name] + ([action] if action else []) + ["--help"]
            with pytest.raises(SystemExit) as e:
                p.parse_args(argv)
            assert e.value.code == 0, argv


def test_audit_lists_entries_and_verify_only_checks(pki, capsys) -> None:
    assert main(["pki", "audit", "--dir", str(pki.dir)]) == 0
    listed = capsys.readouterr().out
    assert "issue" in listed and "Slussen" in listed and "audit log intact" in listed
    assert main(["pki", "audit", "--verify", "--dir", str(pki.dir)]) == 0
    checked = capsys.readouterr().out
    assert "Slussen" not in checked and "audit log intact" in checked


def test_broker_config_binds_where_it_is_told(pki, tmp_path, capsys) -> None:
    out = tmp_path / "broker"
    assert main(["broker", "config", "--pki", str(pki.dir), "--out", str(out)]) == 0
    assert "listener 8883 127.0.0.1\n" in (out / "mosquitto.conf").read_text()
    assert main(["broker", "config", "--pki", str(pki.dir), "--out", str(out), "--port", "8884",
                 "--bind", "0.0.0.0"]) == 0
    conf = (out / "mosquitto.conf").read_text()
    assert "listener 8884 0.0.0.0\n" in conf and f"crlfile {out}/crl.pem" in conf


def test_the_broker_group_runs_its_default_action() -> None:
    from stadsnod.cli import _with_default

    assert _with_default(["broker"]) == ["broker", "run"]
    assert _with_default(["broker", "--port", "1884"]) == ["broker", "run", "--port", "1884"]
    assert _with_default(["broker", "config", "--bind", "0.0.0.0"])[1] == "config"
