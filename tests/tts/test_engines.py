"""Engine fallback without any network, and Piper's subprocess contract."""

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tts import EngineUnavailable, TtsSettings
from tts.engines import PiperEngine
from tts.errors import UnknownNeuralVoice


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_proxy() -> Iterator[int]:
    """A proxy that accepts connections and never answers: the 'silent network' gTTS hangs on."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, name="silent-proxy", daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    server.close()


def _proxy_env(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


def test_gtts_refused_falls_back_to_espeak_fast(make_synth, monkeypatch: pytest.MonkeyPatch) -> None:
    _proxy_env(monkeypatch, _closed_port())
    synth = make_synth(engines=("gtts", "espeak-ng"), gtts_timeout_s=3.0)
    started = time.monotonic()
    result = synth.synthesize("Bản tin thử khi mất mạng.")
    assert time.monotonic() - started < 3.0
    assert result.engine == "espeak-ng" and result.path.exists()
    assert [name for name, _ in result.engines_tried] == ["gtts"]
    assert "Google" in result.engines_tried[0][1]


def test_gtts_silent_network_times_out(
    make_synth, monkeypatch: pytest.MonkeyPatch, silent_proxy: int
) -> None:
    _proxy_env(monkeypatch, silent_proxy)
    synth = make_synth(engines=("gtts", "espeak-ng"), gtts_timeout_s=1.0)
    started = time.monotonic()
    result = synth.synthesize("Bản tin thử khi mạng treo.")
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 3.0, elapsed
    assert result.engine == "espeak-ng"
    assert result.engines_tried[0][0] == "gtts"
    # the fallback's audio is cached under espeak-ng's key: the next call does not wait for Google again
    started = time.monotonic()
    assert synth.synthesize("Bản tin thử khi mạng treo.").cached
    assert time.monotonic() - started < 0.05


def test_piper_unavailable_reasons(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="voices_dir"):
        PiperEngine(TtsSettings()).synthesize("a", "vi_VN-x", tmp_path)
    with pytest.raises(EngineUnavailable, match="chưa chọn giọng"):
        PiperEngine(TtsSettings(voices_dir=tmp_path)).synthesize("a", "", tmp_path)
    with pytest.raises(UnknownNeuralVoice, match="chưa cài giọng nào"):
        PiperEngine(TtsSettings(voices_dir=tmp_path)).synthesize("a", "vi_VN-x", tmp_path)


def test_explicit_engine_is_tried_first_then_the_chain(make_synth) -> None:
    result = make_synth(engines=("espeak-ng",)).synthesize("Xin chào.", engine="piper")
    assert result.engine == "espeak-ng" and result.engines_tried[0][0] == "piper"
    assert os.path.exists(result.path)
