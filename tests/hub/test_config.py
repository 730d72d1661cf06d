"""The hub's config: its own NGUON_HUB_ prefix, unknown names refused with a hint, every speech setting."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.config import HUB_ONLY_TTS, ConfigError, TtsConfig, build_config, load_config
from hub.speech import SpeechService
from tts.settings import TtsSettings

ROOT = Path(__file__).resolve().parents[2]


def test_hub_variables_override_the_file_with_their_own_prefix(tmp_path: Path) -> None:
    cfg = build_config(
        {"data_dir": str(tmp_path), "http": {"port": 8080}},
        environ={
            "NGUON_HUB_HTTP__PORT": "8081",
            "NGUON_HUB_DATA_DIR": str(tmp_path / "other"),
            "NGUON_HUB_REVIEW__SIGNOFFS": "2",
            "NGUON_HUB_HTTP__TRUSTED_PROXIES": '["127.0.0.1"]',
        },
    )
    assert (cfg.http.port, cfg.data_dir, cfg.review.signoffs) == (8081, tmp_path / "other", 2)
    assert cfg.http.trusted_proxies == ("127.0.0.1",)


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        (
            {"NGUON_HUB_DATADIR": "/srv"},
            "NGUON_HUB_DATADIR: the hub has no setting 'datadir' (did you mean 'data_dir'?)",
        ),
        (
            {"NGUON_HUB_HTP__PORT": "1"},
            "NGUON_HUB_HTP__PORT: the hub has no section 'htp' (did you mean 'http'?)",
        ),
        ({"NGUON_HUB_HTTP__PROT": "1"}, "unknown setting http.prot (did you mean 'port'?)"),
        ({"NGUON_HUB_HTTP": "8081"}, "'http' is a section; set one key of it with NGUON_HUB_HTTP__<KEY>"),
        ({"NGUON_HUB_HTTP__": "8081"}, "name a key, e.g. NGUON_HUB_HTTP__<KEY>"),
        ({"NGUON_HUB_HARDWARE__MODE": "real"}, "the hub has no section 'hardware'"),
        ({"NGUON_HUB_HTTP__PORT": "eighty"}, "setting http.port: Input should be a valid integer"),
        ({"NGUON_HUB_HTTP__PORT": "99999"}, "setting http.port"),
        ({"NGUON_HUB_MQTT__ENABLED": "maybe"}, "setting mqtt.enabled"),
        ({"NGUON_HUB_TTS__SAMPLE_RATE": "x" * 100_000}, "setting tts.sample_rate"),
        ({"NGUON_HUB_TTS__CACHE_MAX_MB": "0"}, "setting tts.cache_max_mb"),  # a cache that holds nothing
        ({"NGUON_HUB_TTS__PREVIEW_CACHE_MB": "-1"}, "setting tts.preview_cache_mb"),
        ({"NGUON_HUB_MEDIA__RETENTION_DAYS": "-5"}, "setting media.retention_days"),
    ],
)
def test_an_unknown_or_mistyped_hub_variable_is_refused_saying_what_to_fix(
    tmp_path: Path, environ: dict[str, str], says: str
) -> None:
    with pytest.raises(ConfigError) as err:
        build_config({"data_dir": str(tmp_path)}, environ=environ)
    assert says in str(err.value)


def test_an_unknown_section_or_key_or_type_in_the_file_is_refused(tmp_path: Path) -> None:
    conf = tmp_path / "hub.toml"
    for text, says in (
        ("[htpp]\nport = 1\n", "unknown setting htpp (did you mean 'http'?)"),
        ("[tts]\nspeach_rate_wpm = 1\n", "tts.speach_rate_wpm (did you mean 'speech_rate_wpm'?)"),
        ("[tts]\nsample_rate = 'fast'\n", "setting tts.sample_rate"),
        ("datadir = '/srv'\n", "unknown setting datadir (did you mean 'data_dir'?)"),
    ):
        conf.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as err:
            load_config(conf, environ={})
        assert says in str(err.value), text


def test_old_names_work_for_one_release_with_a_warning_naming_the_new_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An old shared NGUON_ name of the hub is read (and says its new name); one meant for the agent
    (which the hub used to refuse) and a misspelt one (which it used to drop silently) are ignored with a
    warning; the agent's own variables and the non-settings are none of the hub's business."""
    caplog.set_level(logging.WARNING, logger="protocol.envconfig")
    cfg = build_config(
        {"data_dir": str(tmp_path)},
        environ={
            "NGUON_HTTP__PORT": "8082",
            "NGUON_HARDWARE__MODE": "real",
            "NGUON_DATADIR": "/srv/elsewhere",
            "NGUON_AGENT_HARDWARE__MODE": "real",
            "NGUON_AGENT_WHATEVER": "1",
            "NGUON_ADMIN_PASSWORD": "secret",
            "NGUON_TTS_CACHE": str(tmp_path / "cache"),
        },
    )
    assert cfg.http.port == 8082 and cfg.data_dir == tmp_path
    text = caplog.text
    assert "NGUON_HTTP__PORT is an old name, still read for this release: rename it NGUON_HUB_HTTP__PORT" in (
        text
    )
    assert "NGUON_HARDWARE__MODE is not a setting of the hub: ignored" in text
    assert "NGUON_AGENT_HARDWARE__MODE)" in text
    assert "NGUON_DATADIR is not a setting of the hub" in text and "did you mean NGUON_HUB_DATA_DIR?" in text
    assert "NGUON_AGENT_WHATEVER" not in text and "ADMIN_PASSWORD" not in text and "TTS_CACHE" not in text
    assert len(caplog.records) == 3
    # an old name keeps its old checks: a typo'd key in a hub section is still refused
    with pytest.raises(ConfigError, match=r"unknown setting http\.prot \(did you mean 'port'\?\)"):
        build_config({"data_dir": str(tmp_path)}, environ={"NGUON_HTTP__PROT": "1"})
    # the new name wins over the old one when both are set
    cfg = build_config({}, environ={"NGUON_HTTP__PORT": "8082", "NGUON_HUB_HTTP__PORT": "8083"})
    assert cfg.http.port == 8083


def test_every_speech_setting_is_reachable_from_the_hub_config(tmp_path: Path) -> None:
    speech = {f.name: f for f in dataclasses.fields(TtsSettings)}
    assert set(TtsConfig.model_fields) == set(speech) | set(HUB_ONLY_TTS)
    default = build_config({"data_dir": str(tmp_path)}, environ={}).tts.tts_settings()
    assert default == TtsSettings()  # the hub's defaults are tts's
    abbreviations = tmp_path / "abbr.tsv"
    abbreviations.write_text("HTX\thợp tác xã\n", encoding="utf-8")
    changed: dict[str, Any] = {
        "engines": ["gtts", "espeak-ng"], "voice": "south", "gtts_timeout_s": 7.5,
        "voices_dir": str(tmp_path / "voices"), "neural_voice": "vi_VN-x",
        "loudness_lufs": -18.0,
        "true_peak_db": -2.0, "sample_rate": 16000, "channels": 2, "audio_format": "opus", "bitrate": "32k",
        "chime": True, "max_chars": 5000, "extra_abbreviations": str(abbreviations), "speech_rate_wpm": 130,
        "espeak_binary": "/usr/bin/espeak-ng", "ffmpeg_binary": "/usr/bin/ffmpeg",
        "ffprobe_binary": "/usr/bin/ffprobe", "subprocess_timeout_s": 60.0,
    }
    assert set(changed) == set(speech)
    cfg = build_config({"data_dir": str(tmp_path), "tts": changed, "mqtt": {"enabled": False}}, environ={})
    service = SpeechService(cfg)
    try:
        got = service.settings
    finally:
        service.close()
    for name in changed:
        # every value above differs from the default...
        assert getattr(got, name) != getattr(TtsSettings(), name), name
    assert got.engines == ("gtts", "espeak-ng") and got.voice == "vi-vn-x-south"
    assert got.voices_dir == tmp_path / "voices" and got.extra_abbreviations == abbreviations
    assert (got.sample_rate, got.channels, got.speech_rate_wpm, got.max_chars) == (16000, 2, 130, 5000)
    # ...and the environment reaches them too
    env = build_config(
        {}, environ={"NGUON_HUB_TTS__SPEECH_RATE_WPM": "120", "NGUON_HUB_TTS__TRUE_PEAK_DB": "-3"}
    )
    assert (env.tts.speech_rate_wpm, env.tts.true_peak_db) == (120, -3.0)


@pytest.mark.parametrize(
    ("tts", "says"),
    [
        ({"voice": "klingon"}, "klingon"),
        ({"engines": ["festival"]}, "festival"),
        ({"sample_rate": 96000}, "sample_rate"),
        ({"speech_rate_wpm": 1000}, "speech_rate_wpm"),
        ({"channels": 6}, "channels"),
        ({"bitrate": "loud"}, "bitrate"),
    ],
)
def test_a_speech_setting_tts_would_refuse_stops_the_hub_at_start(tts: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_config({"tts": tts}, environ={})
    assert str(err.value).startswith("setting tts") and says in str(err.value)


def test_the_hub_command_refuses_a_misspelt_variable_before_doing_anything(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NGUON_")}
    env["NGUON_HUB_DATADIR"] = str(tmp_path / "hub")
    out = subprocess.run(
        [sys.executable, "-m", "hub", "check", "--no-network"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=env, check=False,
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "NGUON_HUB_DATADIR" in out.stderr and "did you mean 'data_dir'?" in out.stderr
    assert not (tmp_path / "hub").exists()
