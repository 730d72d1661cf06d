"""Hub configuration: one TOML file plus NGUON_HUB_* environment overrides, validated at start-up.

Env overrides: NGUON_HUB_<SECTION>__<KEY> (e.g. NGUON_HUB_HTTP__PORT=8081, NGUON_HUB_DATABASE__URL=...)
and NGUON_HUB_<KEY> for top-level keys (NGUON_HUB_DATA_DIR). Unknown sections, keys and NGUON_HUB_
variables are an error with a "did you mean" hint. The old NGUON_<SECTION>__<KEY> names are read for one
more release with a warning (protocol/envconfig.py).
"""

from __future__ import annotations

import base64
import difflib
import ipaddress
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hub.broker_files import BrokerFilesConfig
from protocol.brokers import broker_list
from protocol.envconfig import PREFIXES, EnvError
from protocol.envconfig import env_overrides as _program_env
from protocol.tls import client_context
from protocol.vocabulary import ORIGINS

if TYPE_CHECKING:
    from tts.settings import TtsSettings

ENV_PREFIX = PREFIXES["hub"]


class ConfigError(ValueError):
    """The configuration is wrong; the message says where and what to change."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Section):
    url: str = Field("", description="SQLAlchemy URL; empty = sqlite at <data_dir>/hub.sqlite3 (WAL)")
    echo: bool = Field(False, description="log every SQL statement")


class HttpConfig(_Section):
    host: str = Field("127.0.0.1", description="address the HTTP server binds")
    port: int = Field(8080, ge=0, le=65535, description="HTTP port; 0 picks a free one")
    public_url: str = Field("", description="base URL agents use to reach the hub; empty = http://host:port")
    max_upload_mb: int = Field(200, ge=1, description="largest media upload accepted")
    trusted_proxies: tuple[str, ...] = Field(
        (),
        description="addresses of reverse proxies (nginx) whose X-Forwarded-For names the client; login "
        "throttling counts per client address, so behind a proxy this must be set",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for addr in value:
            try:
                ipaddress.ip_address(addr)
            except ValueError:
                raise ValueError(
                    f"http.trusted_proxies: '{addr}' is not an IP address (e.g. 127.0.0.1)"
                ) from None
        return value


class MqttConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str = ""
    password_file: str = Field("", description="file holding the broker password (never put it here)")
    topic_prefix: str = "nguon/v1"
    client_id: str = Field("nguon-hub", description="prefix of the hub's MQTT client ids")
    keepalive_s: int = Field(30, ge=5)
    enabled: bool = Field(True, description="false = no broker (API-only tests)")
    tls: bool = Field(False, description="TLS to the broker; its certificate is always verified")
    ca_file: str = Field("", description="PEM CA of the broker's certificate; empty = the system's store")
    brokers: tuple[str, ...] = Field(
        (),
        description='["host:port", ...]: every broker the hub publishes to and listens on (two brokers, '
        "docs/OPERATIONS.md); empty = the one host:port. Same user, password and CA on each",
    )

    ingest_share_group: str = Field(
        "",
        description="subscribe to device reports as $share/<group>/...: hub processes of one group split "
        "them (a clustered broker, docs/OPERATIONS.md); empty = a plain subscription",
    )

    @field_validator("ingest_share_group")
    @classmethod
    def _share_group(cls, value: str) -> str:
        if value and (len(value) > 64 or any(c in value for c in "/+#$ \t\n") or not value.isprintable()):
            raise ValueError(
                f"mqtt.ingest_share_group {value[:80]!r}: a short name without / + # $ or spaces, "
                'e.g. "hubs"'
            )
        return value

    @property
    def endpoints(self) -> tuple[tuple[str, int], ...]:
        """(host, port) of each broker (checked when the config was loaded)."""
        return broker_list(self.brokers, self.host, self.port)

    def for_broker(self, host: str, port: int) -> MqttConfig:
        """This config for one of its brokers (what a connection to that one broker reads)."""
        return self.model_copy(update={"host": host, "port": port, "brokers": ()})

    @model_validator(mode="after")
    def _tls(self) -> MqttConfig:
        if self.brokers and {"host", "port"} & self.model_fields_set:
            raise ValueError(
                'mqtt.brokers and mqtt.host/mqtt.port are both set: keep only brokers = ["host:port", ...]'
            )
        self.endpoints  # noqa: B018 - ValueError: the list is refused at start, with what to write
        if self.ca_file and not self.tls:
            raise ValueError("mqtt.ca_file is set but mqtt.tls = false: set tls = true to use it")
        if self.tls:
            client_context(self.ca_file)  # TlsConfigError (a ValueError) names the file and the fault
        return self


# [tts] settings of the hub's own (threads, the cache's bounds), not of tts.TtsSettings
HUB_ONLY_TTS = ("workers", "cache_max_mb", "preview_cache_mb")


class TtsConfig(_Section):
    """Every setting of tts.TtsSettings (same names and defaults; tts checks them) plus the hub's workers."""

    engines: tuple[str, ...] = Field(
        ("espeak-ng",), description="engines tried in order: espeak-ng, gtts, piper"
    )
    voice: str = Field("vi", description="vi, vi-vn-x-central, vi-vn-x-south (or north, central, south)")
    gtts_timeout_s: float = 5.0
    voices_dir: str = Field("", description="installed Piper voices (python -m tts voice add); "
                            "empty = <data_dir>/voices")
    neural_voice: str = Field("", description="installed voice used when the province has chosen none; "
                              "empty = espeak-ng")
    loudness_lufs: float = -16.0
    true_peak_db: float = -1.5
    sample_rate: int = 22050
    channels: int = 1
    audio_format: Literal["mp3", "opus", "wav"] = "mp3"
    bitrate: str = "48k"
    chime: bool = False
    max_chars: int = Field(20000, description="longest text spoken")
    extra_abbreviations: str = Field("", description="TSV file of more abbreviations; empty = none")
    speech_rate_wpm: int = 150
    espeak_binary: str = "espeak-ng"
    ffmpeg_binary: str = "ffmpeg"
    ffprobe_binary: str = "ffprobe"
    subprocess_timeout_s: float = 120.0
    workers: int = Field(2, ge=1, le=16, description="speech made at once (its own threads: reads stay fast)")
    cache_max_mb: int = Field(2048, ge=16, description="speech cache (<data_dir>/tts-cache): least recently "
                              "used entries are deleted past this; bulletins' audio is in the media store")
    preview_cache_mb: int = Field(64, ge=1, description="the form's previews (Nghe thử), kept apart and "
                                  "bounded the same way")

    def tts_settings(self) -> TtsSettings:
        """The tts.TtsSettings these make; raises tts.BadSettings (a ValueError) saying what is wrong."""
        from tts.settings import TtsSettings  # noqa: PLC0415 - the CLI never loads speech

        values: dict[str, Any] = self.model_dump(exclude=set(HUB_ONLY_TTS))
        for name in ("voices_dir", "extra_abbreviations"):
            values[name] = Path(values[name]) if values[name] else None
        return TtsSettings(**values)

    @model_validator(mode="after")
    def _speakable(self) -> TtsConfig:
        self.tts_settings()  # tts's own checks (voice, engines, ranges), at start-up rather than at first use
        return self


class SecurityConfig(_Section):
    signing_key: str = Field("", description="Ed25519 PEM path; empty = <data_dir>/keys/hub_signing.pem")
    token_ttl_s: int = Field(12 * 3600, ge=60, description="lifetime of API bearer tokens")
    session_ttl_s: int = Field(8 * 3600, ge=60, description="lifetime of browser sessions")
    lockout_after: int = Field(5, ge=1, description="failed logins before the account is locked")
    lockout_base_s: int = Field(30, ge=1, description="first lock; doubles with every further failure")
    lockout_max_s: int = Field(3600, ge=1)
    secure_cookies: bool = Field(
        False, description="mark cookies Secure; they always are when http.public_url is https://"
    )
    address_failures: int = Field(
        10, ge=1, description="failed logins from one address within address_window_s before it gets 429"
    )
    address_window_s: int = Field(900, ge=1, description="window of address_failures")
    known_address_days: int = Field(
        30,
        ge=0,
        description="a locked account still lets in, with the right password, an address it logged in "
        "from within these days (so a stranger's failures cannot lock the staff out); 0 = never",
    )


class ProgrammeConfig(_Section):
    days_ahead: int = Field(3, ge=1, le=14, description="days per published programme, today included")
    gap_s: int = Field(0, ge=0)
    emergency_default_s: int = Field(3600, ge=60, description="expiry of an emergency with no valid_until")
    recall_memory_days: int = 7
    scheduler: bool = Field(True, description="run the midnight recompile job")


class MediaConfig(_Section):
    """Limits for uploads (checked with ffprobe); LED boards run from 192x96 to 1920x384."""

    max_audio_s: int = Field(3600, ge=1, description="longest audio upload")
    max_video_s: int = Field(600, ge=1, description="longest LED video")
    max_video_width: int = Field(1920, ge=16, description="widest LED video, pixels")
    max_video_height: int = Field(1080, ge=16, description="tallest LED video, pixels")
    max_image_px: int = Field(4096, ge=16, description="largest image side, pixels")
    max_subtitles_kb: int = Field(512, ge=1, description="largest WebVTT file")
    alert_inline_kb: int = Field(
        256,
        ge=0,
        le=512,
        description="an emergency's audio up to this size travels inside its alert, so no device has to "
        "download it before playing (0 = devices always download it)",
    )
    retention_days: int = Field(
        730,
        ge=0,
        description="files of bulletins that ended (finished, recalled, cancelled) this long ago are deleted "
        "by the midnight job; never fewer than the play reports' 400 days; 0 = keep every file",
    )


class StreamConfig(_Section):
    """The stream server (Icecast 2) for live announcements (docs/OPERATIONS.md, "Stream server")."""

    enabled: bool = Field(False, description="live announcements from the microphone (needs Icecast)")
    host: str = Field("127.0.0.1", description="the Icecast the hub feeds (its source connection)")
    port: int = Field(8000, ge=1, le=65535)
    public_url: str = Field("", description="base URL agents use to reach Icecast; empty = http://host:port")
    source_password_file: str = Field("", description="file holding Icecast's source password")
    token_ttl_s: int = Field(120, ge=10, le=3600, description="lifetime of a listening token")
    refresh_s: int = Field(30, ge=1, description="a live session's start message is repeated this often, "
                           "with a fresh token (late joiners, reconnects)")
    grace_s: float = Field(10.0, ge=0.5, le=120, description="a speaker's lost connection ends the "
                           "session after this long")
    max_live_s: int = Field(3600, ge=10, description="longest live session")
    bitrate: str = Field("64k", description="MP3 bitrate of the stream and the recording")

    def source_password(self) -> str:
        if not self.source_password_file:
            raise ConfigError("stream.source_password_file is not set (Icecast's source password)")
        try:
            return Path(self.source_password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"stream.source_password_file: cannot read it: {exc}") from exc


class BackupConfig(_Section):
    """`python -m hub backup` (hub/backup.py, docs/OPERATIONS.md "Backups")."""

    dir: str = Field("", description="where backups go (another disk or a mount); empty = <data_dir>/backups")
    keep: int = Field(14, ge=1, le=3650, description="complete backups kept; older ones are deleted")
    passphrase_file: str = Field(
        "", description="file holding the passphrase that encrypts the signing key's copy (never put it here)"
    )


ORIGIN_LEVELS = ORIGINS


class ReviewConfig(_Section):
    """Review before air (Art. 14.5): who signs off a sensitive bulletin, and who may approve their own."""

    signoffs: int = Field(
        1, ge=1, le=5, description="sign-offs a sensitive bulletin needs, each by a different reviewer"
    )
    groups: dict[str, str] = Field(
        default_factory=dict,
        description="reviewer groups that must each sign off, code -> Vietnamese name (e.g. "
        "{so = 'Sở Thông tin và Truyền thông', btg = 'Ban Tuyên giáo'}); empty = any reviewers",
    )
    self_approve: dict[str, bool] = Field(
        default_factory=lambda: {"central": False, "province": False, "district": False, "commune": True},
        description="per origin level: may the author of a bulletin approve it (emergencies excepted)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ReviewConfig:
        if self.groups and len(self.groups) != self.signoffs:
            raise ValueError(
                f"review.groups names {len(self.groups)} groups but review.signoffs = {self.signoffs}: "
                "one sign-off per group, so set signoffs to the number of groups"
            )
        for code in self.groups:
            if not code or len(code) > 40 or not code.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"review.groups: {code!r} is not a group code (letters, digits, _ or -)")
        unknown = sorted(set(self.self_approve) - set(ORIGIN_LEVELS))
        if unknown:
            raise ValueError(
                f"review.self_approve: unknown level {unknown[0]!r}; use {', '.join(ORIGIN_LEVELS)}"
            )
        return self

    def may_self_approve(self, origin: str) -> bool:
        return self.self_approve.get(origin, origin == "commune")


class CapFeedRule(_Section):
    """A CAP feed the hub follows (docs/CENTRAL.md, "CAP feeds in"): which alerts it takes, what it does."""

    url: str = Field(..., min_length=8, max_length=500, description="the Atom or RSS feed of CAP alerts")
    name: str = Field("", max_length=200, description="who publishes it, for the audit log and the pages")
    areas: list[str] = Field(
        default_factory=list, description="administrative codes this rule accepts (empty: the whole province)"
    )
    severities: list[str] = Field(default_factory=lambda: ["Extreme", "Severe"])
    urgencies: list[str] = Field(default_factory=lambda: ["Immediate", "Expected"])
    action: Literal["air", "queue"] = Field(
        "queue", description="air: at once, as approved; queue: a bulletin waiting for an editor's approval"
    )
    poll_s: int = Field(60, ge=5, le=86400, description="how often the feed is read")


class CentralConfig(_Section):
    """The link to the central source-information system (docs/CENTRAL.md)."""

    enabled: bool = Field(False, description="accept CAP requests from the central system")
    public_keys: list[str] = Field(
        default_factory=list,
        description="the central system's Ed25519 public keys (raw, base64) whose signatures are accepted; "
        "two during a key change",
    )
    max_skew_s: int = Field(
        300, ge=10, le=3600, description="how far a signed request's timestamp may be from the hub's clock"
    )
    confirm_minutes: int = Field(
        0,
        ge=0,
        le=60,
        description="0: a central emergency airs at once (Art. 8.1); N: the duty editors have N minutes to "
        "cancel it, then it airs",
    )
    geocode_names: list[str] = Field(
        default_factory=lambda: ["VN-DVHC"],
        description="CAP geocode valueNames whose value is an administrative code of the area tree",
    )
    peer_url: str = Field("", description="the central system's base URL, where reports and CAP alerts go")
    feeds: list[CapFeedRule] = Field(default_factory=list, description="CAP feeds the hub follows")
    cap_sender: str = Field(
        "httt-nguon.tinh",
        min_length=1,
        max_length=200,
        description="<sender> of the CAP alerts the hub writes",
    )
    report_interval_s: int = Field(
        3600, ge=1, description="how often reports are queued for the central system"
    )
    retry_s: float = Field(60.0, gt=0, description="first retry of a report the central system did not take")
    retry_max_s: float = Field(900.0, gt=0, description="longest wait between retries")

    @field_validator("public_keys")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        for k in value:
            try:
                raw = base64.b64decode(k, validate=True)
            except ValueError:
                raise ValueError(f"central.public_keys: {k[:20]!r} is not base64") from None
            if len(raw) != 32:
                raise ValueError(
                    f"central.public_keys: {k[:20]!r} is not a raw Ed25519 public key (32 bytes)"
                )
        return value


class EmailConfig(_Section):
    """Notifications by e-mail through an SMTP server (hub/services/mailer.py), for the people who asked
    for them on their own page (Tài khoản): approved, rejected, needs review, emergency sent, device down."""

    enabled: bool = Field(False, description="send e-mail notifications")
    host: str = Field("", max_length=255, description="the SMTP server")
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = Field(True, description="STARTTLS before logging in (port 587)")
    username: str = Field("", max_length=255, description="login on the SMTP server (empty: none)")
    password: str = Field("", description="better from NGUON_HUB_EMAIL_PASSWORD or password_file")
    password_file: str = Field("", description="a file holding the SMTP password")
    ca_file: str = Field("", description="CA certificates for the server's (empty: the system's)")
    sender: str = Field("", max_length=254, description="the From address, e.g. httt-nguon@tinh.gov.vn")
    poll_s: float = Field(30.0, gt=0, le=3600, description="how often new notifications are looked for")
    queue_max: int = Field(500, ge=1, le=100_000, description="messages waiting; more are dropped and logged")
    retries: int = Field(3, ge=0, le=20, description="further tries of a message the server did not take")
    retry_s: float = Field(30.0, gt=0, description="first wait before a retry (doubled each time)")
    timeout_s: float = Field(20.0, gt=0, le=300, description="SMTP connection timeout")

    @model_validator(mode="after")
    def _complete(self) -> EmailConfig:
        if self.enabled and not (self.host and self.sender):
            raise ValueError("email.enabled needs email.host and email.sender")
        return self

    def secret(self) -> str:
        if not self.password_file:
            return self.password
        try:
            return Path(self.password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"email.password_file: cannot read {self.password_file}: {exc}") from exc


class HubConfig(_Section):
    data_dir: Path = Field(Path("var/hub"), description="database, media, keys, speech cache")
    timezone: str = "Asia/Ho_Chi_Minh"
    clock_offset_s: float = Field(0.0, description="demo/tests: shift the hub clock")
    log_level: str = "INFO"
    database: DatabaseConfig = DatabaseConfig()
    http: HttpConfig = HttpConfig()
    mqtt: MqttConfig = MqttConfig()
    tts: TtsConfig = TtsConfig()
    security: SecurityConfig = SecurityConfig()
    programme: ProgrammeConfig = ProgrammeConfig()
    media: MediaConfig = MediaConfig()
    review: ReviewConfig = ReviewConfig()
    stream: StreamConfig = StreamConfig()
    central: CentralConfig = CentralConfig()
    backup: BackupConfig = BackupConfig()
    email: EmailConfig = EmailConfig()
    broker_files: BrokerFilesConfig = BrokerFilesConfig()  # hub/broker_files.py; empty = manual mode

    @property
    def cookies_secure(self) -> bool:
        """Cookies carry the Secure flag whenever the hub is reached over HTTPS."""
        return self.security.secure_cookies or self.http.public_url.lower().startswith("https://")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use e.g. Asia/Ho_Chi_Minh") from None
        return value

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'hub.sqlite3'}"

    @property
    def signing_key_path(self) -> Path:
        return (
            Path(self.security.signing_key)
            if self.security.signing_key
            else self.data_dir / "keys" / "hub_signing.pem"
        )

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def backup_dir(self) -> Path:
        return Path(self.backup.dir) if self.backup.dir else self.data_dir / "backups"

    @property
    def tts_cache_dir(self) -> Path:
        return self.data_dir / "tts-cache"

    @property
    def voices_dir(self) -> Path:
        """Installed neural voices: [tts] voices_dir, else <data_dir>/voices."""
        return Path(self.tts.voices_dir) if self.tts.voices_dir else self.data_dir / "voices"

    def mqtt_password(self) -> str:
        if not self.mqtt.password_file:
            return ""
        try:
            return Path(self.mqtt.password_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"mqtt.password_file: cannot read {self.mqtt.password_file}: {exc}") from exc


def _fields_of(model: type[BaseModel]) -> dict[str, Any]:
    return dict(model.model_fields)


def _hint(name: str, choices: list[str]) -> str:
    near = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {near[0]!r}?)" if near else f" (known keys: {', '.join(sorted(choices))})"


# Settings that existed once: what replaced them, said to whoever still has them in a config file.
REMOVED = {
    "programme.auto_normal_until_chosen": (
        "was removed: a normal bulletin airs only once the commune chair chose it (Art. 8.3). To take "
        "the normal bulletins of the province or district without choosing each one, the chair sets a "
        "standing rule for the commune (screen 'Chương trình phát', or PUT /api/v1/programme/standing); "
        "delete this line"
    ),
}


def _check_unknown(data: Mapping[str, Any], model: type[BaseModel], where: str) -> None:
    fields = _fields_of(model)
    for key, value in data.items():
        if f"{where}{key}" in REMOVED:
            raise ConfigError(f"setting {where}{key} {REMOVED[f'{where}{key}']}")
        if key not in fields:
            raise ConfigError(f"unknown setting {where}{key}{_hint(key, list(fields))}")
        ann = fields[key].annotation
        if isinstance(value, Mapping) and isinstance(ann, type) and issubclass(ann, BaseModel):
            _check_unknown(value, ann, f"{where}{key}.")


def _env_value(raw: str) -> Any:
    """Env values are strings; accept JSON for lists/numbers/booleans, else the plain string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _sections() -> set[str]:
    return {
        k
        for k, f in HubConfig.model_fields.items()
        if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)
    }


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """NGUON_HUB_* (and, for one release, the old NGUON_*) variables as a mapping like the TOML file's."""
    sections = _sections()
    out: dict[str, Any] = {}
    try:
        found = _program_env(environ, "hub", sections, set(HubConfig.model_fields) - sections)
    except EnvError as exc:
        raise ConfigError(str(exc)) from None
    for o in found:
        if o.section is not None:
            out.setdefault(o.section, {})[o.key] = _env_value(o.raw)
        else:
            out[o.key] = o.raw if o.key in ("data_dir", "timezone", "log_level") else _env_value(o.raw)
    return out


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def build_config(
    data: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> HubConfig:
    """Validate a mapping (from TOML) with env overrides applied; raises ConfigError with a clear message."""
    merged = _merge(dict(data or {}), env_overrides(os.environ if environ is None else environ))
    _check_unknown(merged, HubConfig, "")
    try:
        return HubConfig.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"setting {where}: {first['msg']}") from None


def load_config(path: Path | str | None = None, *, environ: Mapping[str, str] | None = None) -> HubConfig:
    """Read the TOML file (if given) and apply NGUON_HUB_* overrides."""
    data: dict[str, Any] = {}
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    return build_config(data, environ=environ)
