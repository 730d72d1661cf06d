"""Command line: `python -m tts normalize TEXT | say TEXT -o FILE | batch DIR | voice add|list|remove`."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from tts import abbreviations
from tts.errors import TtsError
from tts.normalize import normalize
from tts.settings import ENGINES, VOICES, TtsSettings
from tts.synthesizer import Synthesizer
from tts.voices import VoiceStore

EXTENSIONS = {".mp3": "mp3", ".wav": "wav", ".ogg": "opus", ".opus": "opus"}


class UsageError(Exception):
    """Bad command-line input: printed, exit status 2."""


def _default_cache() -> Path:
    env = os.environ.get("NGUON_TTS_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "nguon" / "tts"


def _settings(args: argparse.Namespace, **overrides: object) -> TtsSettings:
    values: dict[str, object] = {}
    if args.engines:
        values["engines"] = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    for name in ("voice", "bitrate", "chime", "extra_abbreviations", "voices_dir"):
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    if args.lufs is not None:
        values["loudness_lufs"] = args.lufs
    values.update(overrides)
    return TtsSettings(**values)  # type: ignore[arg-type]


def _default_voices() -> Path:
    env = os.environ.get("NGUON_VOICES_DIR")
    return Path(env) if env else Path.home() / ".local" / "share" / "nguon" / "voices"


def _read_text(parts: list[str]) -> str:
    if parts == ["-"]:
        return sys.stdin.read()
    return " ".join(parts)


def cmd_normalize(args: argparse.Namespace) -> int:
    table = abbreviations.load(args.extra_abbreviations)  # no cache needed just to print words
    print(normalize(_read_text(args.text), abbreviations=table))
    return 0


def cmd_say(args: argparse.Namespace) -> int:
    out = Path(args.output)
    fmt = EXTENSIONS.get(out.suffix.lower())
    if fmt is None:
        raise UsageError(f"Không biết định dạng của '{out.name}': hãy dùng đuôi .wav, .mp3, .ogg hoặc .opus.")
    if not out.parent.is_dir():
        raise UsageError(f"Thư mục '{out.parent}' không tồn tại: hãy tạo trước hoặc chọn nơi khác.")
    synth = Synthesizer(_settings(args, audio_format=fmt), args.cache_dir)
    result = synth.synthesize(_read_text(args.text), engine=args.engine, voice=args.voice,
                              neural_voice=args.neural_voice)
    # Copy beside the target then rename: a crash never leaves half a file under the user's name.
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(result.path, tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    tried = "".join(f"; {name} lỗi: {err}" for name, err in result.engines_tried)
    print(f"{out}: {result.duration_ms / 1000:.1f} s, {result.size} byte, bộ đọc {result.engine} "
          f"({result.voice}){', từ bộ nhớ đệm' if result.cached else ''}{tried}", file=sys.stderr)
    return 0


def _progress(done: int, total: int, name: str) -> None:
    width = 30
    filled = width * done // total if total else width
    bar = "#" * filled + "-" * (width - filled)
    sys.stderr.write(f"\r[{bar}] {done}/{total} {name[:40]:<40}")
    sys.stderr.flush()


def cmd_batch(args: argparse.Namespace) -> int:
    folder = Path(args.directory)
    if not folder.is_dir():
        raise UsageError(f"'{folder}' không phải thư mục: hãy chỉ ra thư mục chứa các tệp .txt.")
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise UsageError(f"Thư mục '{folder}' không có tệp .txt nào để đọc.")
    settings = _settings(args, audio_format=args.format)
    synth = Synthesizer(settings, args.cache_dir)
    failures: list[str] = []
    for index, path in enumerate(files):
        _progress(index, len(files), path.name)
        try:
            text = path.read_text(encoding="utf-8")
            result = synth.synthesize(text, engine=args.engine, voice=args.voice,
                                      neural_voice=args.neural_voice)
            target = path.with_suffix(settings.extension)
            tmp = target.with_name(f".{target.name}.tmp")
            shutil.copyfile(result.path, tmp)
            os.replace(tmp, target)
        except UnicodeDecodeError:
            failures.append(f"{path.name}: tệp không phải UTF-8, hãy lưu lại với mã UTF-8.")
        except TtsError as exc:
            failures.append(f"{path.name}: {exc.message}")
    _progress(len(files), len(files), "xong")
    sys.stderr.write("\n")
    for line in failures:
        print(line, file=sys.stderr)
    print(f"Đã đọc {len(files) - len(failures)}/{len(files)} tệp.", file=sys.stderr)
    return 1 if failures else 0


def cmd_voice(args: argparse.Namespace) -> int:
    store = VoiceStore(args.voices_dir, max_model_mb=args.max_mb)
    if args.action == "add":
        info = store.add(args.model, config=args.config, licence=args.licence, name=args.name,
                         region=args.region, voice_id=args.id)
        print(f"Đã cài giọng {info.id} ({info.label}, {info.language}, {info.sample_rate} Hz, "
              f"{info.model_bytes / 1e6:.1f} MB) vào {store.directory / info.id}")
    elif args.action == "remove":
        info = store.remove(args.voice_id)
        print(f"Đã gỡ giọng {info.id} ({info.label}).")
    else:
        voices = store.list()
        if not voices:
            print(f"Chưa cài giọng nào trong {store.directory}; bản tin được đọc bằng espeak-ng.")
        for v in voices:
            print(f"{v.id}\t{v.label}\t{v.language}\t{v.sample_rate} Hz\t{v.model_bytes / 1e6:.1f} MB\t"
                  f"{v.licence_first_line}")
    return 0


def _voice_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--voices-dir", type=Path, default=_default_voices(),
                       help="thư mục giọng (mặc định $NGUON_VOICES_DIR hoặc ~/.local/share/nguon/voices; "
                            "trên máy chủ: <data_dir>/voices)")
    where.add_argument("--max-mb", type=int, default=200, help="tệp mô hình lớn nhất nhận (MB)")
    voice = sub.add_parser("voice", help="cài, liệt kê, gỡ giọng đọc Piper (.onnx)")
    actions = voice.add_subparsers(dest="action", required=True)
    p = actions.add_parser("add", parents=[where], help="kiểm tra rồi cài một giọng")
    p.add_argument("model", type=Path, help="tệp mô hình .onnx")
    p.add_argument("--config", type=Path, help="tệp cấu hình (mặc định MODEL.onnx.json bên cạnh)")
    p.add_argument("--licence", "--license", type=Path,
                   help="tệp giấy phép (mặc định LICENSE hoặc MODEL_CARD bên cạnh)")
    p.add_argument("--name", help="tên hiển thị, ví dụ 'Giọng nữ miền Bắc'")
    p.add_argument("--region", choices=["north", "central", "south"], help="vùng miền của giọng")
    p.add_argument("--id", help="mã giọng (mặc định tên tệp không có .onnx)")
    actions.add_parser("list", parents=[where], help="liệt kê giọng đã cài")
    p = actions.add_parser("remove", parents=[where], help="gỡ một giọng")
    p.add_argument("voice_id")
    voice.set_defaults(func=cmd_voice)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tts",
                                     description="Đọc bản tin tiếng Việt thành âm thanh.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--cache-dir", type=Path, default=_default_cache(),
                        help="thư mục bộ nhớ đệm (mặc định $NGUON_TTS_CACHE hoặc ~/.cache/nguon/tts)")
    common.add_argument("--engines", help=f"chuỗi bộ đọc dự phòng, cách nhau dấu phẩy ({', '.join(ENGINES)})")
    common.add_argument("--extra-abbreviations", type=Path, help="tệp viết tắt bổ sung (TSV)")
    common.add_argument("--voices-dir", type=Path, default=_default_voices(),
                        help="thư mục giọng đã cài (mặc định $NGUON_VOICES_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("normalize", parents=[common], help="in văn bản đã chuẩn hoá")
    p.add_argument("text", nargs="+", help="văn bản (hoặc '-' để đọc từ stdin)")
    p.set_defaults(func=cmd_normalize, voice=None, bitrate=None, chime=None, lufs=None)

    audio = argparse.ArgumentParser(add_help=False)
    audio.add_argument("--engine", help="bộ đọc ưu tiên cho lần này")
    audio.add_argument("--voice", help=f"giọng ({', '.join(VOICES)}; hoặc north/central/south)")
    audio.add_argument("--bitrate", help="tốc độ bit, ví dụ 48k")
    audio.add_argument("--lufs", type=float, help="độ to mục tiêu, mặc định -16")
    audio.add_argument("--neural-voice", help="mã giọng Piper đã cài (python -m tts voice list)")
    audio.add_argument("--chime", action="store_true", default=None, help="thêm nhạc hiệu đầu và cuối")

    p = sub.add_parser("say", parents=[common, audio], help="đọc một văn bản ra tệp âm thanh")
    p.add_argument("text", nargs="+", help="văn bản (hoặc '-' để đọc từ stdin)")
    p.add_argument("-o", "--output", required=True, help="tệp ra: .wav, .mp3, .ogg hoặc .opus")
    p.set_defaults(func=cmd_say)

    p = sub.add_parser("batch", parents=[common, audio], help="đọc mọi tệp .txt trong thư mục")
    p.add_argument("directory")
    p.add_argument("--format", choices=["mp3", "opus", "wav"], default="mp3")
    p.set_defaults(func=cmd_batch)
    _voice_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (UsageError, TtsError) as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

