"""`python -m hub backup` and `python -m hub restore`: the database, the media, the voices and the signing
key.

A backup is one directory `<backup dir>/nguon-<UTC stamp>/`:
- `hub.sqlite3` (SQLite's online backup API: consistent while the hub runs, WAL included) or `hub.pgdump`
  (`pg_dump -Fc`, one snapshot);
- `media/<aa>/<sha256>`: the content-addressed media (not `compact/`, the alerts' Opus copies, which the
  hub makes again when needed), hard-linked to the previous backup's copy when it has
  it (media never change), so a daily backup costs only the day's new files;
- `voices/<id>/<file>`: the installed neural voices (model, config, licence, voice.json: everything
  `python -m tts voice add` wrote), hard-linked to the previous backup's copy when unchanged like the
  media; without them a restored hub would speak every bulletin that names a voice with espeak-ng;
- `hub_signing.enc.pem`: the signing key as encrypted PKCS#8 (the passphrase comes from a file;
  `openssl pkey -in hub_signing.enc.pem` reads it too);
- `manifest.json`, written last: what is inside, each file's sha256 and the sequence number in use.
It is built as `.nguon-<stamp>.partial` and renamed when complete; a lock file keeps two backups apart;
beyond `backup.keep` complete backups, the oldest are deleted.

Restore checks every file against the manifest before it writes anything, refuses a non-empty target
(database, key, or a different voice of the same id) unless told to replace it, holds the publisher lock
(no hub may run meanwhile), brings the schema up to date, and moves the sequence numbers RESTORE_SEQ_JUMP
above the backup's and the replaced database's: the hub that was backed up kept signing after the backup,
and devices refuse anything not above what they accepted (a replay), so the restored hub must start above
whatever it could have reached.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import inspect, text, update
from sqlalchemy.engine import make_url

from hub.config import HubConfig
from hub.db import Database
from hub.models import HubSeq
from hub.singleton import PublisherLock
from protocol.keys import KeyPair, key_id_for, load_signing_key
from tts.voices import ID_RE as VOICE_ID_RE
from tts.voices import META as VOICE_META

FORMAT = 1
PREFIX = "nguon-"
MANIFEST = "manifest.json"
KEY_FILE = "hub_signing.enc.pem"
SQLITE_FILE = "hub.sqlite3"
PG_FILE = "hub.pgdump"
MIN_PASSPHRASE = 12
# ten thousand million envelopes: what a hub signing a thousand a second would reach in 115 days, far above
# anything it could have signed between its last backup and its death; far below 2^53 (JSON numbers)
RESTORE_SEQ_JUMP = 10**10
PG_TIMEOUT_S = 3600
CHUNK = 1 << 20


class BackupError(RuntimeError):
    """The backup or restore cannot go on; the message says what to fix. Nothing half-written is kept."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    media_files: int
    media_bytes: int
    linked: int
    deleted: list[str]
    voices: int = 0


def read_passphrase(cfg: HubConfig, override: str | None = None) -> bytes:
    name = override or cfg.backup.passphrase_file
    if not name:
        raise BackupError(
            "no passphrase for the signing key's copy: set backup.passphrase_file (a file, mode 0600, "
            "holding a long random line, e.g. `openssl rand -base64 32`) or pass --passphrase-file; keep "
            "a copy of it away from the backups"
        )
    try:
        phrase = Path(name).read_bytes().strip()
    except OSError as exc:
        raise BackupError(f"cannot read the passphrase file {name}: {exc.strerror}") from None
    if len(phrase) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase in {name} is shorter than {MIN_PASSPHRASE} characters")
    return phrase


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _copy_hashing(src: Path, dest: Path) -> str:
    h = hashlib.sha256()
    with src.open("rb") as fin, dest.open("wb") as fout:
        while chunk := fin.read(CHUNK):
            h.update(chunk)
            fout.write(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def _dir_lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"another backup is writing to {root} now; try again when it ends") from None
        yield
    finally:
        os.close(fd)


def complete_backups(root: Path) -> list[Path]:
    """Complete backups in `root`, oldest first (their names sort by time)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.name.startswith(PREFIX) and (p / MANIFEST).is_file())


def _pg_env(url: str) -> tuple[list[str], dict[str, str]]:
    """libpq arguments and environment (the password in PGPASSWORD, never on the command line)."""
    u = make_url(url)
    args = ["-d", u.database or ""]
    if u.host:
        args += ["-h", u.host]
    if u.port:
        args += ["-p", str(u.port)]
    if u.username:
        args += ["-U", u.username]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return args, env


def _run_pg(tool: str, args: list[str], env: dict[str, str]) -> None:
    if shutil.which(tool) is None:
        raise BackupError(
            f"{tool} is not installed: apt-get install postgresql-client (the server's version)"
        )
    try:
        out = subprocess.run(
            [tool, *args], env=env, capture_output=True, text=True, timeout=PG_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise BackupError(f"{tool} did not finish within {PG_TIMEOUT_S} s") from None
    if out.returncode != 0:
        raise BackupError(f"{tool} failed (exit {out.returncode}): {out.stderr.strip()[-1500:]}")


def _dump_database(db: Database, dest: Path) -> str:
    if db.is_postgres:
        args, env = _pg_env(db.url)
        _run_pg("pg_dump", ["-Fc", "--no-owner", "-f", str(dest / PG_FILE), *args], env)
        return PG_FILE
    path = db.engine.url.database
    if not path or path == ":memory:":
        raise BackupError("an in-memory database cannot be backed up")
    if not Path(path).is_file():
        raise BackupError(f"the database {path} does not exist (run `python -m hub migrate` first?)")
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out = sqlite3.connect(dest / SQLITE_FILE)
    try:
        src.execute("PRAGMA busy_timeout=5000")
        src.backup(out)  # the online backup API: one consistent copy while the hub writes
        out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file (the hub turns WAL on again)
    finally:
        out.close()
        src.close()
    return SQLITE_FILE


def _seq_value(db: Database) -> int:
    with db.session() as sess:
        return int(sess.scalar(text("SELECT COALESCE(MAX(value), 0) FROM hub_seq")) or 0)


def _copy_media(media_dir: Path, dest: Path, previous: Path | None) -> tuple[dict[str, int], int, int]:
    """Every media file into dest/media (linked to `previous` when there, checked by its name's hash)."""
    files: dict[str, int] = {}
    linked = total = 0
    if not media_dir.is_dir():
        return files, linked, total
    for src in sorted(media_dir.glob("??/*")):
        if not src.is_file() or src.name.endswith(".tmp") or len(src.name) != 64:
            continue  # an upload in progress writes a temporary file first
        rel = f"{src.parent.name}/{src.name}"
        target = dest / "media" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        size = src.stat().st_size
        old = previous / "media" / rel if previous else None
        if old is not None and old.is_file() and old.stat().st_size == size:
            os.link(old, target)
            linked += 1
        elif _copy_hashing(src, target) != src.name:
            raise BackupError(f"media file {src} does not match its name (sha256): the disk may be failing")
        files[rel] = size
        total += size
    return files, linked, total


def voice_ids(voices: dict[str, dict[str, Any]]) -> list[str]:
    return sorted({rel.split("/", 1)[0] for rel in voices})


def _copy_voices(
    voices_dir: Path, dest: Path, previous: Path | None
) -> tuple[dict[str, dict[str, Any]], int]:
    """Every installed voice's files into dest/voices: {"<id>/<file>": {"size", "sha256"}}, and how many
    were linked to `previous` (same size and sha256 as its manifest says). Folders being added or removed
    (hidden, `.adding-*`/`.removing-*`) and folders without voice.json are not voices."""
    files: dict[str, dict[str, Any]] = {}
    linked = 0
    if not voices_dir.is_dir():
        return files, linked
    before: dict[str, Any] = {}
    if previous is not None:
        with contextlib.suppress(BackupError, KeyError):
            before = read_manifest(previous).get("voices") or {}
    for folder in sorted(voices_dir.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir() or not (folder / VOICE_META).is_file():
            continue
        for src in sorted(folder.iterdir()):
            if not src.is_file() or src.name.startswith("."):
                continue
            rel = f"{folder.name}/{src.name}"
            target = dest / "voices" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            size = src.stat().st_size
            old = before.get(rel)
            old_path = previous / "voices" / rel if previous else None
            if (old_path is not None and isinstance(old, dict) and old.get("size") == size
                    and old_path.is_file() and old_path.stat().st_size == size
                    and _sha256_file(src) == old.get("sha256")):
                os.link(old_path, target)
                linked += 1
                digest = str(old["sha256"])
            else:
                digest = _copy_hashing(src, target)
            files[rel] = {"size": size, "sha256": digest}
    return files, linked


def _encrypt_key(key_path: Path, passphrase: bytes, dest: Path) -> str:
    try:
        key = load_signing_key(key_path)
    except ValueError as exc:
        raise BackupError(str(exc)) from None
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    fd = os.open(dest / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key_id_for(key.public_key())


def backup(cfg: HubConfig, *, passphrase_file: str | None = None, keep: int | None = None) -> BackupResult:
    """One complete backup in cfg.backup_dir, then the retention; raises BackupError saying what to fix."""
    passphrase = read_passphrase(cfg, passphrase_file)
    root = cfg.backup_dir
    keep = keep or cfg.backup.keep
    with _dir_lock(root):
        for stale in root.glob(f".{PREFIX}*.partial"):  # a backup that died half-way (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        work = root / f".{PREFIX}{stamp}.partial"
        work.mkdir(mode=0o700)
        db = Database(cfg.database_url)
        try:
            seq = _seq_value(db)
            db_file = _dump_database(db, work)
            key_id = _encrypt_key(cfg.signing_key_path, passphrase, work)
            done = complete_backups(root)
            previous = done[-1] if done else None
            media, linked, total = _copy_media(cfg.media_dir, work, previous)
            voices, voice_links = _copy_voices(cfg.voices_dir, work, previous)
            manifest = {
                "format": FORMAT,
                "created_at": datetime.now(UTC).isoformat(),
                "database": {
                    "kind": "postgresql" if db.is_postgres else "sqlite",
                    "file": db_file,
                    "sha256": _sha256_file(work / db_file),
                },
                "key": {"file": KEY_FILE, "key_id": key_id, "sha256": _sha256_file(work / KEY_FILE)},
                "seq_at_backup": seq,
                "media": media,
                "voices": voices,
            }
            (work / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
            final = root / f"{PREFIX}{stamp}"
            work.rename(final)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        finally:
            db.dispose()
        kept = complete_backups(root)
        deleted = [p.name for p in kept[: max(0, len(kept) - keep)]]
        for name in deleted:
            shutil.rmtree(root / name)
    return BackupResult(final, len(media), total, linked + voice_links, deleted, len(voice_ids(voices)))


# --- restore ---


def read_manifest(src: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{src} is not a complete backup (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{src / MANIFEST} cannot be read: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{src} has backup format {manifest.get('format')!r}; this hub reads {FORMAT}")
    return manifest


def verify(src: Path, passphrase: bytes) -> tuple[dict[str, Any], KeyPair]:
    """Every file of the backup against its manifest, and the key decrypted; raises BackupError."""
    manifest = read_manifest(src)
    try:
        for part in ("database", "key"):
            entry = manifest[part]
            if _sha256_file(src / entry["file"]) != entry["sha256"]:
                raise BackupError(f"{src / entry['file']} does not match the manifest: the backup is damaged")
        for rel, size in manifest["media"].items():
            path = src / "media" / rel
            if path.stat().st_size != size or _sha256_file(path) != Path(rel).name:
                raise BackupError(f"media file {path} does not match its sha256: the backup is damaged")
        for rel, entry in (manifest.get("voices") or {}).items():  # none in a backup from before voices
            voice_id, _, name = rel.partition("/")
            if not VOICE_ID_RE.match(voice_id) or not name or "/" in name or name.startswith("."):
                raise BackupError(f"{src / MANIFEST} names a voice file {rel!r} outside a voice's folder")
            path = src / "voices" / rel
            if path.stat().st_size != entry["size"] or _sha256_file(path) != entry["sha256"]:
                raise BackupError(f"voice file {path} does not match its sha256: the backup is damaged")
    except (KeyError, TypeError, AttributeError) as exc:
        raise BackupError(f"{src / MANIFEST} is malformed ({exc.__class__.__name__} {exc})") from None
    except OSError as exc:
        raise BackupError(f"the backup misses a file: {exc.filename}") from None
    try:
        key = serialization.load_pem_private_key((src / KEY_FILE).read_bytes(), password=passphrase)
    except (ValueError, TypeError):
        raise BackupError(
            "the passphrase does not open the signing key's copy (wrong passphrase file?)"
        ) from None
    if not isinstance(key, Ed25519PrivateKey) or key_id_for(key.public_key()) != manifest["key"]["key_id"]:
        raise BackupError("the signing key's copy is not the key the manifest names")
    return manifest, KeyPair(key)


def _has_data(db: Database) -> bool:
    tables = set(inspect(db.engine).get_table_names())
    with db.engine.connect() as conn:
        return any(
            conn.execute(text(f"SELECT 1 FROM {t} LIMIT 1")).first()  # noqa: S608 - names from this list
            for t in ("users", "bulletins", "hub_seq")
            if t in tables
        )


def _restore_sqlite(cfg: HubConfig, src: Path) -> None:
    target = Path(make_url(cfg.database_url).database or "")
    check = sqlite3.connect(f"file:{src / SQLITE_FILE}?mode=ro", uri=True)
    try:
        ok = check.execute("PRAGMA integrity_check").fetchone()
    finally:
        check.close()
    if not ok or ok[0] != "ok":
        raise BackupError(f"{src / SQLITE_FILE} fails SQLite's integrity check: {ok}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".restoring")
    shutil.copyfile(src / SQLITE_FILE, tmp)
    for extra in ("-wal", "-shm"):
        target.with_name(target.name + extra).unlink(missing_ok=True)
    tmp.rename(target)


def _restore_pg(db: Database, src: Path) -> None:
    """Into the configured database (created empty with createdb, or one `--replace` allows to drop)."""
    args, env = _pg_env(db.url)
    db.dispose()
    _run_pg(
        "pg_restore",
        [
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            "--clean",
            "--if-exists",
            *args,
            str(src / PG_FILE),
        ],
        env,
    )


def _installed_differs(folder: Path, voices: dict[str, Any], voice_id: str) -> bool:
    """Whether `folder` holds something other than the backup's voice `voice_id` (absent: no)."""
    if not folder.exists():
        return False
    want = {rel.split("/", 1)[1]: e for rel, e in voices.items() if rel.split("/", 1)[0] == voice_id}
    have = {p.name for p in folder.iterdir() if p.is_file()} if folder.is_dir() else set()
    if have != set(want):
        return True
    return any(
        (folder / n).stat().st_size != e["size"] or _sha256_file(folder / n) != e["sha256"]
        for n, e in want.items()
    )


def _restore_voices(voices_dir: Path, src: Path, voices: dict[str, Any]) -> None:
    """Each voice copied into a hidden folder and renamed into place (a reader never sees half a voice);
    one already installed with the same files is left alone, another one of the same id (--replace) is
    moved away first."""
    for voice_id in voice_ids(voices):
        dest = voices_dir / voice_id
        if dest.exists() and not _installed_differs(dest, voices, voice_id):
            continue
        voices_dir.mkdir(parents=True, exist_ok=True)
        staging = voices_dir / f".restoring-{voice_id}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            for rel in voices:
                if rel.split("/", 1)[0] == voice_id:
                    shutil.copyfile(src / "voices" / rel, staging / rel.split("/", 1)[1])
        except BaseException:  # a full disk, say: no half voice is left behind
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if dest.exists():
            gone = voices_dir / f".removing-{voice_id}"
            shutil.rmtree(gone, ignore_errors=True)
            dest.rename(gone)
            shutil.rmtree(gone, ignore_errors=True)
        staging.rename(dest)


def restore(
    cfg: HubConfig, src: Path, *, passphrase_file: str | None = None, replace: bool = False
) -> dict[str, Any]:
    """Restore the backup `src` into cfg's database, media and key; returns what was restored."""
    manifest, key = verify(src, read_passphrase(cfg, passphrase_file))
    db = Database(cfg.database_url)
    kind = "postgresql" if db.is_postgres else "sqlite"
    lock = PublisherLock(db)
    try:
        if manifest["database"]["kind"] != kind:
            raise BackupError(
                f"the backup holds a {manifest['database']['kind']} database; database.url names a {kind} one"
            )
        key_path = cfg.signing_key_path
        if not replace:
            if _has_data(db):
                raise BackupError(
                    "the target database already holds a hub's data; restoring would replace "
                    "it: pass --replace if that is what you want"
                )
            if key_path.exists() and KeyPair.load_or_create(key_path).key_id != key.key_id:
                raise BackupError(f"{key_path} holds another signing key; move it away or pass --replace")
            for voice_id in voice_ids(manifest.get("voices") or {}):
                if _installed_differs(cfg.voices_dir / voice_id, manifest["voices"], voice_id):
                    raise BackupError(
                        f"{cfg.voices_dir / voice_id} holds another voice of the same id; "
                        "remove it (python -m tts voice remove) or pass --replace"
                    )
        lock.acquire()  # HubAlreadyRunning: no hub may publish while its database is being replaced
        # what the database being replaced signed (a hub restored before from this same backup, say)
        prior = _seq_value(db) if "hub_seq" in inspect(db.engine).get_table_names() else 0
        if db.is_postgres:
            _restore_pg(db, src)
        else:
            db.dispose()
            _restore_sqlite(cfg, src)
        db.migrate()  # a backup of an older hub: the schema of this one
        # above anything the backed-up hub signed after the backup, and the replaced database signed
        floor = max(_seq_value(db), prior) + RESTORE_SEQ_JUMP
        with db.session() as sess:
            sess.execute(update(HubSeq).values(value=floor))
            if sess.get(HubSeq, "envelope") is None:  # it had signed nothing when backed up
                sess.add(HubSeq(name="envelope", value=floor))
        seq = _seq_value(db)
        media_dir = cfg.media_dir
        for rel in manifest["media"]:
            dest = media_dir / rel
            if not dest.is_file():
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_name(dest.name + ".tmp")
                shutil.copyfile(src / "media" / rel, tmp)
                tmp.rename(dest)
        _restore_voices(cfg.voices_dir, src, manifest.get("voices") or {})
        key.save(key_path)
    finally:
        lock.release()
        db.dispose()
    return {
        "key_id": key.key_id,
        "media_files": len(manifest["media"]),
        "voices": voice_ids(manifest.get("voices") or {}),
        "seq": seq,
        "created_at": manifest["created_at"],
    }
