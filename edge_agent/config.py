"""Agent settings: frozen dataclasses from a TOML file, checked at start, overridable by NGUON_AGENT_* env.

NGUON_AGENT_<SECTION>__<KEY> or NGUON_AGENT_<KEY>; an unknown section, key or NGUON_AGENT_ variable is
refused with a "did you mean"; the old NGUON_* names are read for one more release with a warning
(protocol/envconfig.py).
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from protocol.brokers import broker_list
from protocol.envconfig import EnvError, env_overrides
from protocol.topics import validate_area_path, validate_device_id
from protocol.vocabulary import DEVICE_KINDS, DeviceKind


class ConfigError(ValueError):
    """The configuration is wrong; the message says where and what to write instead."""


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password_file: str = ""
    keepalive_s: int = 30
    reconnect_max_s: float = 60.0  # reconnect delays grow (randomised) up to this
    tls: bool = False  # TLS to the broker (port 8883 usually); its certificate is always verified
    ca_file: str = ""  # PEM CA for the broker's certificate; empty = the system's CA store
    # ["host:port", ...]: several brokers, the first reachable used, the next when it is lost (transport.py);
    # empty = the one host:port above. Every broker takes the same user, password and CA.
    brokers: tuple[str, ...] = ()
    return_after_s: float = 300.0  # on a later broker, look this often (randomised) if an earlier one is back

    @property
    def endpoints(self) -> tuple[tuple[str, int], ...]:
        """(host, port) of each broker, in order of preference (checked when the settings were loaded)."""
        return broker_list(self.brokers, self.host, self.port)


@dataclass(frozen=True)
class HardwareSettings:
    mode: str = "sim"
    sim_speed: float = 1.0
    sim_record: bool = True  # sim only: keep a WAV copy of each play (false: benches with many agents)
    relay_pin: int = 17
    relay_lead_s: float = 2.0
    relay_idle_off_s: float = 10.0
    player: str = "aplay"
    mixer_control: str = "PCM"
    volume: int = 80


@dataclass(frozen=True)
class RadioSettings:
    windows: tuple[str, ...] = ("05:00-06:30", "17:00-18:30")
    # tiếp sóng (edge_agent/rebroadcast.py): no sound this long, or silence this long, is a gap
    relay_down_s: float = 3.0
    relay_silence_s: float = 3.0


@dataclass(frozen=True)
class LedSettings:
    width: int = 192
    height: int = 96
    http_host: str = "127.0.0.1"
    http_port: int = 8090
    standby: str = "clock"
    windows: tuple[str, ...] = ("05:00-07:00", "17:00-22:00")


@dataclass(frozen=True)
class Settings:
    device_id: str
    area: str
    hub_public_keys: tuple[str, ...]
    kind: str = "radio"
    data_dir: str = "/var/lib/nguon-agent"
    hub_url: str = "http://127.0.0.1:8080"
    topic_prefix: str = "nguon/v1"
    clock_offset_s: float = 0.0
    clock_trust: str = "ntp"
    heartbeat_s: float = 30.0
    media_cache_mb: int = 512
    timezone: str = "Asia/Ho_Chi_Minh"
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    hardware: HardwareSettings = field(default_factory=HardwareSettings)
    radio: RadioSettings = field(default_factory=RadioSettings)
    led: LedSettings = field(default_factory=LedSettings)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def windows(self) -> tuple[str, ...]:
        return self.led.windows if self.kind == DeviceKind.LED else self.radio.windows


_SECTIONS: dict[str, type] = {
    "mqtt": MqttSettings,
    "hardware": HardwareSettings,
    "radio": RadioSettings,
    "led": LedSettings,
}


def _hint(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(sorted(known))})"


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _coerce(where: str, value: Any, typ: Any) -> Any:  # noqa: PLR0911, PLR0912 - one branch per field type
    """Check/convert one value to the field's type; env strings are parsed."""
    text = str(typ)
    from_env = isinstance(value, str) and typ is not str
    try:
        if typ is bool:
            if isinstance(value, str):
                word = value.strip().lower()
                if word not in _TRUE + _FALSE:
                    raise ValueError
                return word in _TRUE
            if not isinstance(value, bool):
                raise ValueError
            return value
        if typ is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if typ is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if typ is str:
            if not isinstance(value, str):
                raise ValueError
            return value
        if text.startswith("tuple"):
            if from_env:
                value = json.loads(value) if value.strip().startswith("[") else value.split(",")
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise ValueError
            return tuple(v.strip() for v in value)
    except (ValueError, TypeError, json.JSONDecodeError):
        pass
    else:
        return value
    names = {bool: "boolean (true or false)", int: "whole number", float: "number", str: "string"}
    wanted = names.get(typ, text.replace("tuple[str, ...]", "list of strings"))
    raise ConfigError(f"{where} = {value!r} is not a valid {wanted}")


def _build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    hints = get_type_hints(cls)
    names = [f.name for f in fields(cls) if f.name not in _SECTIONS]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key in _SECTIONS and cls is Settings:
            continue
        if key not in names:
            raise ConfigError(
                f"unknown key '{where}{key}'{_hint(key, names + list(_SECTIONS) * (cls is Settings))}"
            )
        kwargs[key] = _coerce(f"{where}{key}", value, hints[key])
    try:
        return cls(**kwargs)
    except TypeError as exc:
        missing = [
            f.name
            for f in fields(cls)
            if f.name not in kwargs and f.name in ("device_id", "area", "hub_public_keys")
        ]
        raise ConfigError(f"missing required key(s) {', '.join(missing)}: {exc}") from None


def _env_overrides(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    top = [f.name for f in fields(Settings) if f.name not in _SECTIONS]
    try:
        found = env_overrides(env, "agent", list(_SECTIONS), top)
    except EnvError as exc:
        raise ConfigError(str(exc)) from None
    for o in found:
        if o.section is None:
            merged[o.key] = o.raw
        else:
            section = merged.setdefault(o.section, {})
            if not isinstance(section, dict):
                raise ConfigError(f"[{o.section}] must be a table (section)")
            section[o.key] = o.raw
    return merged


def load_settings(
    path: Path | None, env: Mapping[str, str] | None = None, raw: Mapping[str, Any] | None = None
) -> Settings:
    """Read the TOML file (or `raw`), apply env overrides, validate everything; raise ConfigError."""
    env = os.environ if env is None else env
    if raw is None:
        if path is None:
            raise ConfigError("give the agent a config file: python -m edge_agent run --config FILE")
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    data = _env_overrides(dict(raw), env)
    mqtt = data.get("mqtt")
    if isinstance(mqtt, dict) and mqtt.get("brokers") and ({"host", "port"} & set(mqtt)):
        raise ConfigError(
            "mqtt.brokers and mqtt.host/mqtt.port are both set: keep only brokers = [\"host:port\", ...]"
        )
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"[{name}] must be a table (section)")
        sections[name] = _build(cls, value, f"{name}.")
    settings = replace(_build(Settings, data, ""), **sections)
    return _validate(settings)


def _validate(s: Settings) -> Settings:  # noqa: PLR0912 - one check per setting, each with its own message
    def bad(msg: str) -> ConfigError:
        return ConfigError(msg)

    try:
        validate_device_id(s.device_id)
        validate_area_path(s.area)
    except ValueError as exc:
        raise bad(str(exc)) from None
    if s.kind not in DEVICE_KINDS:
        raise bad(f"kind = {s.kind!r} must be one of {', '.join(DEVICE_KINDS)}")
    if s.clock_trust not in ("ntp", "always"):
        raise bad(f"clock_trust = {s.clock_trust!r} must be 'ntp' or 'always'")
    if not s.hub_public_keys:
        raise bad("hub_public_keys is empty: put the hub's base64 Ed25519 public key there")
    if not s.hub_url.startswith(("http://", "https://")):
        raise bad(f"hub_url = {s.hub_url!r} must start with http:// or https://")
    if s.heartbeat_s <= 0 or s.media_cache_mb <= 0:
        raise bad("heartbeat_s and media_cache_mb must be above 0")
    hw = s.hardware
    if hw.mode not in ("sim", "real"):
        raise bad(f"hardware.mode = {hw.mode!r} must be 'sim' or 'real'")
    if hw.player not in ("aplay", "ffplay", "mpv"):
        raise bad(f"hardware.player = {hw.player!r} must be aplay, ffplay or mpv")
    if hw.sim_speed <= 0 or hw.relay_lead_s < 0 or hw.relay_idle_off_s < 0:
        raise bad("hardware.sim_speed must be above 0 and relay delays not negative")
    if not (0.5 <= s.radio.relay_down_s <= 60 and 0.5 <= s.radio.relay_silence_s <= 60):
        raise bad("radio.relay_down_s and radio.relay_silence_s must be from 0.5 to 60 (seconds)")
    if not 0 <= hw.volume <= 100:
        raise bad(f"hardware.volume = {hw.volume} must be from 0 to 100")
    try:
        s.mqtt.endpoints  # noqa: B018 - parsed here to refuse a bad list at start, with its message
    except ValueError as exc:
        raise bad(f"mqtt.brokers: {exc}") from None
    if s.mqtt.return_after_s < 1:
        raise bad(f"mqtt.return_after_s = {s.mqtt.return_after_s} must be at least 1 (seconds)")
    if s.mqtt.ca_file and not s.mqtt.tls:
        raise bad("mqtt.ca_file is set but mqtt.tls = false: set tls = true to use it")
    if s.mqtt.tls:
        from protocol.tls import TlsConfigError, client_context  # noqa: PLC0415

        try:
            client_context(s.mqtt.ca_file)
        except TlsConfigError as exc:
            raise bad(str(exc)) from None
    if s.led.standby not in ("clock", "black"):
        raise bad(f"led.standby = {s.led.standby!r} must be 'clock' or 'black'")
    for where, windows in (("radio.windows", s.radio.windows), ("led.windows", s.led.windows)):
        for w in windows:
            if not _window_ok(w):
                raise bad(f'{where} has {w!r}; write windows like "05:00-06:30"')
    try:
        from protocol.keys import load_public_key  # noqa: PLC0415

        for key in s.hub_public_keys:
            load_public_key(key)
    except ValueError as exc:
        raise bad(f"hub_public_keys: {exc}") from None
    return s


def _window_ok(text: str) -> bool:
    try:
        start, end = text.split("-")
        for part in (start, end):
            hh, mm = part.split(":")
            if not (len(hh) == 2 and len(mm) == 2 and 0 <= int(hh) < 24 and 0 <= int(mm) < 60):
                return False
    except ValueError:
        return False
    return start < end
