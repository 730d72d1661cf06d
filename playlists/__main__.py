"""`python -m playlists compile FILE|-`: one JSON request in, one JSON result out (exit 2 if bad)."""

from __future__ import annotations

import argparse
import json
import sys

from playlists.engine import compile_dict
from playlists.errors import RequestError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playlists", description="Programme engine.")
    sub = parser.add_subparsers(dest="command", required=True)
    comp = sub.add_parser("compile", help="compile one programme request (JSON) and print the result")
    comp.add_argument("file", help="the request file, or - for standard input")
    args = parser.parse_args(argv)
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            with open(args.file, encoding="utf-8") as f:
                text = f.read()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        request = json.loads(text)
    except json.JSONDecodeError as exc:
        print(f"error: the request is not valid JSON: {exc}", file=sys.stderr)
        return 2
    try:
        result = compile_dict(request)
    except RequestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
