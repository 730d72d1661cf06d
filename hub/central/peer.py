"""A reference central peer: plays the central system's part, so a province can test its link and the suite
can test both ends (`python -m hub central ...`, docs/CENTRAL.md).

- `keygen --key FILE`: an Ed25519 key for the central system (PEM, 0600); prints the public key to pin in
  the province's `central.public_keys`.
- `alert ...`: writes a Vietnamese CAP 1.2 alert (stdout).
- `send --hub URL --key FILE [CAP_FILE|-]`: signs the alert and sends it to the province; prints the answer.
- `serve --port N --data DIR --hub-key B64`: receives the province's reports and CAP alerts
  (`POST /api/v1/reports`, `POST /api/v1/cap`), checks the hub's signature, keeps each key once in
  `DIR/received.jsonl`; `GET /received` lists them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from hub.central import capwrite
from hub.central.cap import parse
from hub.central.signature import public_keys, sign_headers, verify
from hub.errors import ServiceError
from protocol.keys import KeyPair, load_signing_key

CAP_PATH = "/api/v1/central/cap"


async def send_cap(hub_url: str, key: KeyPair, body: bytes, *, timeout_s: float = 30.0) -> tuple[int, Any]:
    """POST a signed CAP alert to a province hub; (status, JSON answer)."""
    headers = {
        **sign_headers(key.private, "POST", CAP_PATH, body, datetime.now(UTC)),
        "Content-Type": "application/cap+xml",
    }
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as http,
        http.post(hub_url.rstrip("/") + CAP_PATH, data=body, headers=headers) as r,
    ):
        return r.status, await r.json()


class Receiver:
    """The peer's receiving end: each report or alert key kept once."""

    def __init__(self, data_dir: Path, hub_keys: list[str], max_skew_s: int) -> None:
        self.path = data_dir / "received.jsonl"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.keys = public_keys(hub_keys)
        self.max_skew_s = max_skew_s
        self.seen: dict[str, dict[str, Any]] = {}
        self.nonces: set[str] = set()
        self.posts = 0
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                self.seen[row["key"]] = row

    async def take(self, request: web.Request) -> web.Response:
        self.posts += 1
        body = await request.read()
        try:
            v = verify(
                self.keys,
                request.headers,
                method="POST",
                path=request.path,
                body=body,
                now=datetime.now(UTC),
                max_skew_s=self.max_skew_s,
            )
            if v.nonce in self.nonces:
                return web.json_response({"error": "replayed"}, status=409)
            self.nonces.add(v.nonce)
            if request.path.endswith("/cap"):
                alert = parse(body)
                key, kind, doc = request.headers.get("Idempotency-Key", alert.identifier), "cap", None
            else:
                doc = json.loads(body)
                key, kind = request.headers.get("Idempotency-Key", doc.get("key", "")), doc.get("kind", "")
        except ServiceError as exc:
            return web.json_response(exc.to_dict(), status=exc.status)
        except (ValueError, KeyError) as exc:
            return web.json_response({"error": str(exc)[:200]}, status=400)
        if not key:
            return web.json_response({"error": "Idempotency-Key missing"}, status=400)
        duplicate = key in self.seen
        if not duplicate:
            row = {"key": key, "kind": kind, "received_at": datetime.now(UTC).isoformat(), "doc": doc}
            self.seen[key] = row
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return web.json_response({"ok": True, "duplicate": duplicate})

    async def received(self, request: web.Request) -> web.Response:
        rows = [
            {"key": r["key"], "kind": r["kind"], "received_at": r["received_at"]} for r in self.seen.values()
        ]
        return web.json_response({"received": rows, "posts": self.posts})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/api/v1/reports", self.take)
        app.router.add_post("/api/v1/cap", self.take)
        app.router.add_get("/received", self.received)
        return app


def _alert(args: argparse.Namespace) -> bytes:
    sent = datetime.now(UTC).replace(microsecond=0)
    refs = []
    for r in args.reference or []:
        sender, ident, when = r.split(",")
        refs.append((sender, ident, datetime.fromisoformat(when)))
    info = capwrite.InfoOut(
        event=args.event,
        urgency=args.urgency,
        severity=args.severity,
        certainty="Likely",
        category="Met",
        headline=args.headline,
        description=args.description,
        instruction=args.instruction,
        sender_name="Hệ thống thông tin nguồn Trung ương",
        expires=sent + timedelta(minutes=args.expires_min),
        areas=[capwrite.AreaOut("Địa bàn cảnh báo", geocodes=[("VN-DVHC", c) for c in args.code])],
    )
    return capwrite.write(
        capwrite.AlertOut(
            identifier=args.id or f"TW-{secrets.token_hex(6)}",
            sender=args.sender,
            sent=sent,
            status=args.status,
            msg_type=args.msg_type,
            references=refs,
            infos=[info],
        )
    )


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m hub central", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="ccmd", required=True)
    kg = sub.add_parser("keygen", help="create the central system's key; print its public key")
    kg.add_argument("--key", required=True, type=Path)
    al = sub.add_parser("alert", help="write a Vietnamese CAP 1.2 alert to stdout")
    al.add_argument("--id", default="")
    al.add_argument("--sender", default="canhbao@httt-nguon.gov.vn")
    al.add_argument("--code", action="append", required=True, help="administrative code (VN-DVHC)")
    al.add_argument("--status", default="Actual", choices=("Actual", "Exercise", "Test", "System"))
    al.add_argument("--msg-type", default="Alert", choices=("Alert", "Update", "Cancel"))
    al.add_argument("--reference", action="append", help="sender,identifier,sent (Update, Cancel)")
    al.add_argument("--event", default="Lũ quét")
    al.add_argument("--urgency", default="Immediate")
    al.add_argument("--severity", default="Extreme")
    al.add_argument("--headline", default="Cảnh báo lũ quét")
    al.add_argument("--description", default="Mưa lớn, nguy cơ lũ quét và sạt lở đất.")
    al.add_argument("--instruction", default="Bà con di chuyển đến nơi an toàn.")
    al.add_argument("--expires-min", type=int, default=120)
    sd = sub.add_parser("send", help="sign a CAP alert and send it to a province hub")
    sd.add_argument("--hub", required=True, help="the hub's base URL, e.g. http://127.0.0.1:8080")
    sd.add_argument("--key", required=True, type=Path)
    sd.add_argument("file", nargs="?", default="-")
    sv = sub.add_parser("serve", help="receive the province's reports and CAP alerts")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8090)
    sv.add_argument("--data", type=Path, default=Path("var/central"))
    sv.add_argument("--hub-key", action="append", required=True, help="the hub's public key (/api/v1/keys)")
    sv.add_argument("--max-skew-s", type=int, default=300)
    args = p.parse_args(argv)
    if args.ccmd == "keygen":
        pair = KeyPair.generate()
        pair.save(args.key)
        print(pair.public_b64)
        return 0
    if args.ccmd == "alert":
        sys.stdout.buffer.write(_alert(args))
        return 0
    if args.ccmd == "send":
        body = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        status, out = asyncio.run(send_cap(args.hub, KeyPair(load_signing_key(args.key)), body))
        print(json.dumps({"status": status, **out}, ensure_ascii=False))
        return 0 if status == 200 else 1
    receiver = Receiver(args.data, args.hub_key, args.max_skew_s)
    web.run_app(receiver.app(), host=args.host, port=args.port, print=lambda *_: None)
    return 0
