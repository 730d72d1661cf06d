"""MQTT over TLS: an agent verifies the broker's certificate against its CA file, and refuses another."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

from hub.mosquitto import MosquittoProcess, free_port
from tests.agent.harness import AgentProcess, FakeHub, run_check, wait_until, window_clock
from tests.tls import make_tls


async def test_agent_over_tls_verifies_the_broker(tmp_path: Path) -> None:
    tls = make_tls(tmp_path / "tls")
    other = make_tls(tmp_path / "other", ca_name="some other CA")
    tls_port = free_port()
    with MosquittoProcess(tmp_path / "mq", extra_config=tls.listener(tls_port)) as broker:
        hub = FakeHub(tmp_path, broker, window_clock(), f"t{uuid.uuid4().hex[:8]}/v1")
        await hub.start()
        try:
            item = hub.bulletin("tin-tls", 5)
            await hub.send_programme(hub.programme([(item, hub.clock.now() + timedelta(minutes=10))]))

            def agent(name: str, ca: Path) -> AgentProcess:
                tls_env = {
                    "NGUON_AGENT_MQTT__PORT": str(tls_port),
                    "NGUON_AGENT_MQTT__TLS": "true",
                    "NGUON_AGENT_MQTT__CA_FILE": str(ca),
                }
                return AgentProcess(tmp_path / name, hub, clock=hub.clock, env=tls_env).start()

            good, wrong = agent("good", tls.ca), agent("wrong", other.ca)
            try:
                await good.ready()
                await wait_until(
                    lambda: good.status().get("programme_version") == 1, 10, "programme over TLS"
                )
                await wait_until(
                    lambda: "certificate verify failed" in wrong.log_text().lower(), 15, "refused"
                )
                await asyncio.sleep(0.5)
                assert not wrong.status().get("connected"), "an unverified broker is never used"
                # the technician's check says the same, from the device
                ok = await asyncio.to_thread(run_check, good.config, env=good.env)
                assert "chứng chỉ TLS hợp lệ" in ok.stdout, ok.stdout + ok.stderr
                bad = await asyncio.to_thread(run_check, wrong.config, env=wrong.env)
                assert bad.returncode == 1 and "[LỖI] Máy chủ MQTT" in bad.stdout
                assert "chứng chỉ TLS không hợp lệ" in bad.stdout
            finally:
                good.stop()
                wrong.stop()
        finally:
            await hub.stop()
