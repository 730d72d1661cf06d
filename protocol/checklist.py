"""One line of a `check` command's report (`python -m hub check`, `python -m edge_agent check`), so an
operator and a technician read the same format: [ OK ] / [LỖI] / [ -- ] label: what to look at."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

from protocol.tls import client_context


@dataclass(frozen=True)
class Line:
    ok: bool | None  # None: for information
    label: str
    detail: str

    def render(self) -> str:
        mark = "[ OK ]" if self.ok else "[LỖI]" if self.ok is False else "[ -- ]"
        return f"{mark} {self.label}: {self.detail}"


def report(head: str, lines: Sequence[Line]) -> tuple[str, bool]:
    """The printable report and whether every check passed (information lines never fail)."""
    ok = all(line.ok is not False for line in lines)
    tail = "Tất cả đều ổn." if ok else "Có mục cần xử lý (đánh dấu [LỖI])."
    return "\n".join([head, *(x.render() for x in lines), tail]), ok


def probe_broker(host: str, port: int, *, tls: bool, ca_file: str, unreachable_hint: str) -> Line:
    """Can this machine reach the MQTT broker, and (with TLS) does its certificate verify as the client's
    own connection would (CA, expiry, host name)? `unreachable_hint` says what to look at if not."""
    where = f"{host}:{port}"
    try:
        with socket.create_connection((host, port), timeout=3.0) as sock:
            if not tls:
                return Line(True, "Máy chủ MQTT", f"{where} trả lời")
            try:
                with client_context(ca_file).wrap_socket(sock, server_hostname=host):
                    return Line(True, "Máy chủ MQTT", f"{where} trả lời, chứng chỉ TLS hợp lệ")
            except ssl.SSLError as exc:
                return Line(
                    False,
                    "Máy chủ MQTT",
                    f"{where}: chứng chỉ TLS không hợp lệ ({exc.reason or exc}): "
                    "kiểm tra ca_file và tên máy chủ",
                )
    except OSError as exc:
        return Line(False, "Máy chủ MQTT", f"{where} không kết nối được ({exc}): {unreachable_hint}")
