"""Errors editors can act on: Vietnamese message saying what to fix, English `code` for programs."""

from __future__ import annotations


class TtsError(ValueError):
    """Base of every tts error; `code` is a stable English identifier."""

    code = "tts_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmptyText(TtsError):
    code = "empty_text"

    def __init__(self) -> None:
        super().__init__("Văn bản trống: hãy nhập nội dung bản tin cần đọc.")


class TextTooLong(TtsError):
    code = "text_too_long"

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(
            f"Văn bản dài {length} ký tự, vượt giới hạn {limit} ký tự: "
            "hãy rút gọn hoặc chia thành nhiều bản tin."
        )
        self.length, self.limit = length, limit


class UnspeakableText(TtsError):
    code = "unspeakable_text"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Không đọc được văn bản: {detail}")


class UnknownEngine(TtsError):
    code = "unknown_engine"

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(
            f"Không có bộ đọc '{name}'. Hãy chọn một trong: {', '.join(known)}."
        )
        self.name = name


class UnknownVoice(TtsError):
    code = "unknown_voice"

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(f"Không có giọng đọc '{name}'. Hãy chọn một trong: {', '.join(known)}.")
        self.name = name


class EngineUnavailable(TtsError):
    code = "engine_unavailable"

    def __init__(self, engine: str, reason: str) -> None:
        super().__init__(f"Bộ đọc {engine} không dùng được: {reason}")
        self.engine, self.reason = engine, reason


class AllEnginesFailed(TtsError):
    code = "all_engines_failed"

    def __init__(self, tried: list[tuple[str, str]]) -> None:
        lines = "; ".join(f"{name}: {err}" for name, err in tried)
        super().__init__(
            f"Không tạo được âm thanh, mọi bộ đọc đều lỗi ({lines}). "
            "Hãy kiểm tra cấu hình bộ đọc (espeak-ng, ffmpeg) hoặc kết nối mạng rồi thử lại."
        )
        self.tried = tried


class AudioProcessingFailed(TtsError):
    code = "audio_processing_failed"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Xử lý âm thanh thất bại ({detail}). Hãy kiểm tra ffmpeg đã được cài đặt.")


class BadSettings(TtsError):
    code = "bad_settings"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Cấu hình đọc văn bản sai: {detail}")


class BadAbbreviationFile(TtsError):
    code = "bad_abbreviation_file"

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"Tệp viết tắt {path} sai: {detail}")


class BadVoice(TtsError):
    code = "bad_voice"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Giọng đọc không dùng được: {detail}")


class UnknownNeuralVoice(TtsError):
    code = "unknown_neural_voice"

    def __init__(self, name: str, installed: list[str]) -> None:
        have = f"các giọng đã cài: {', '.join(installed)}" if installed else "chưa cài giọng nào"
        super().__init__(f"Không có giọng '{name}' ({have}); giọng espeak-ng luôn dùng được.")
        self.name = name
