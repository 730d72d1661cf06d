"""Package boundaries and concurrent use from the hub's worker threads."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def test_tts_imports_nothing_of_the_hub_or_agent() -> None:
    code = (
        "import sys, tts, tts.__main__\n"
        "from tts import Synthesizer, TtsSettings, normalize\n"
        "bad = [m for m in ('hub', 'edge_agent', 'aiohttp', 'sqlalchemy', 'aiomqtt', 'gtts')"
        " if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                          check=True)
    # gTTS (and requests) load only when the online engine is actually used
    assert proc.stdout.strip() == ""


def test_same_bulletin_from_many_threads_is_made_once(make_synth) -> None:
    synth = make_synth()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: synth.synthesize("Bản tin chung cho bốn luồng."), range(4)))
    assert len({r.path for r in results}) == 1 and len({r.sha256 for r in results}) == 1
    assert sum(not r.cached for r in results) == 1
    assert len(list(synth.cache.directory.glob("*.mp3"))) == 1
