"""The agent's config: its own NGUON_AGENT_ prefix, unknown names refused with a hint, old names for one
release (an agent installed with the old shared NGUON_ variables keeps working)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.config import ConfigError, load_settings
from tests.agent.test_units import BASE

ROOT = Path(__file__).resolve().parents[2]


def test_agent_variables_override_the_file_with_their_own_prefix() -> None:
    s = load_settings(
        None,
        env={
            "NGUON_AGENT_MQTT__PORT": "1884",
            "NGUON_AGENT_HARDWARE__VOLUME": "60",
            "NGUON_AGENT_HARDWARE__SIM_RECORD": "no",
            "NGUON_AGENT_CLOCK_TRUST": "always",
            "NGUON_AGENT_LED__WINDOWS": '["06:00-07:00"]',
        },
        raw={**BASE, "mqtt": {"port": 1883}},
    )
    assert (s.mqtt.port, s.hardware.volume, s.hardware.sim_record) == (1884, 60, False)
    assert (s.clock_trust, s.led.windows) == ("always", ("06:00-07:00",))


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"NGUON_AGENT_KINDD": "led"}, "NGUON_AGENT_KINDD: the agent has no setting 'kindd' (did you mean"),
        (
            {"NGUON_AGENT_HARDWARD__MODE": "sim"},
            "NGUON_AGENT_HARDWARD__MODE: the agent has no section 'hardward' (did you mean 'hardware'?)",
        ),
        ({"NGUON_AGENT_HTTP__PORT": "8081"}, "the agent has no section 'http'"),
        ({"NGUON_AGENT_HARDWARE__MODEE": "sim"}, "unknown key 'hardware.modee' (did you mean 'mode'?)"),
        ({"NGUON_AGENT_MQTT": "1884"}, "'mqtt' is a section; set one key of it with NGUON_AGENT_MQTT__<KEY>"),
        ({"NGUON_AGENT_MQTT__PORT": "many"}, "mqtt.port = 'many' is not a valid whole number"),
        ({"NGUON_AGENT_MQTT__TLS": "maybe"}, "mqtt.tls = 'maybe' is not a valid boolean (true or false)"),
        ({"NGUON_AGENT_HARDWARE__VOLUME": "9" * 10_000}, "hardware.volume"),
    ],
)
def test_an_unknown_or_mistyped_agent_variable_is_refused_saying_what_to_fix(
    env: dict[str, str], says: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(None, env=env, raw=BASE)
    assert says in str(err.value)


def test_a_wrong_type_or_unknown_section_in_the_file_is_refused() -> None:
    for raw, says in (
        ({**BASE, "hardwre": {"mode": "sim"}}, "unknown key 'hardwre' (did you mean 'hardware'?)"),
        ({**BASE, "mqtt": {"tls": 1}}, "mqtt.tls = 1 is not a valid boolean"),
        ({**BASE, "hardware": {"sim_record": "yes please"}}, "hardware.sim_record"),
        ({**BASE, "mqtt": 1883}, "[mqtt] must be a table"),
    ):
        with pytest.raises(ConfigError) as err:
            load_settings(None, env={}, raw=raw)
        assert says in str(err.value), raw


def test_an_agent_installed_with_the_old_names_keeps_working_and_is_told_the_new_ones(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="protocol.envconfig")
    s = load_settings(
        None,
        env={
            "NGUON_MQTT__PORT": "8883",
            "NGUON_HARDWARE__VOLUME": "60",
            "NGUON_CLOCK_TRUST": "always",
            "NGUON_HTTP__PORT": "8081",  # the hub's: ignored, with a warning
            "NGUON_HUB_HTTP__PORT": "8081",  # the hub's own prefix: none of the agent's business
            "NGUON_KIOSK_URL": "http://127.0.0.1:8090/",  # not a setting
        },
        raw=BASE,
    )
    assert (s.mqtt.port, s.hardware.volume, s.clock_trust) == (8883, 60, "always")
    text = caplog.text
    assert (
        "NGUON_MQTT__PORT is an old name, still read for this release: "
        "rename it NGUON_AGENT_MQTT__PORT"
    ) in text
    assert "rename it NGUON_AGENT_HARDWARE__VOLUME" in text and "rename it NGUON_AGENT_CLOCK_TRUST" in text
    assert "NGUON_HTTP__PORT is not a setting of the agent: ignored" in text
    assert "its new name is NGUON_HUB_HTTP__PORT" in text
    assert "NGUON_HUB_" + "HTTP__PORT is" not in text and "KIOSK" not in text
    assert len(caplog.records) == 4
    # the old name keeps its checks, and the new one wins when both are set
    with pytest.raises(ConfigError, match="did you mean 'port'"):
        load_settings(None, env={"NGUON_MQTT__PROT": "1884"}, raw=BASE)
    s = load_settings(None, env={"NGUON_MQTT__PORT": "8883", "NGUON_AGENT_MQTT__PORT": "1884"}, raw=BASE)
    assert s.mqtt.port == 1884


def test_the_agent_command_refuses_a_misspelt_variable(tmp_path: Path) -> None:
    conf = tmp_path / "agent.toml"
    conf.write_text(
        f'device_id = "{BASE["device_id"]}"\narea = "{BASE["area"]}"\n'
        f'hub_public_keys = ["{BASE["hub_public_keys"][0]}"]\ndata_dir = "{tmp_path / "data"}"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NGUON_")}
    env["NGUON_AGENT_HARDWARE__VOLUM"] = "60"
    out = subprocess.run(
        [sys.executable, "-m", "edge_agent", "check", "--config", str(conf), "--no-network"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=env, check=False,
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "hardware.volum" in out.stderr and "did you mean 'volume'?" in out.stderr
