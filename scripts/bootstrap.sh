#!/usr/bin/env bash
# Installs what nguon needs on Debian 12 and is idempotent: system packages through apt when a binary
# is missing, then the virtualenv at .venv from requirements.lock. Safe to run on every start.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v icecast2 >/dev/null 2>&1 || need+=(icecast2)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v pgrep >/dev/null 2>&1 || need+=(procps)
[ -e /usr/share/fonts/truetype/noto/NotoSans-Regular.ttf ] || need+=(fonts-noto-core)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian's icecast2 service would run with the package's default passwords: off until configured
  # (docs/OPERATIONS.md, "Stream server"); the demo and the suite start their own.
  case " ${need[*]} " in *" icecast2 "*) $SUDO systemctl disable --now icecast2 >/dev/null 2>&1 || true ;; esac
fi

stamp=.venv/.nguon-installed
sum=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
  echo "bootstrap: preparing .venv" >&2
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # The build tools the editable install uses (a fresh venv has an old setuptools and no wheel).
  .venv/bin/pip install -q --disable-pip-version-check "setuptools==84.2.1" "wheel==0.48.0"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.lock
  .venv/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$sum" > "$stamp"
fi

# axe-core, the accessibility checker the browser tests run on every page (tests/a11y.py), from the npm
# registry, pinned; kept out of the tree (.cache/) and never served by the hub.
AXE_VERSION=4.10.2
if [ ! -f .cache/npm/node_modules/axe-core/axe.min.js ] || \
   ! grep -q "\"version\": \"$AXE_VERSION\"" .cache/npm/node_modules/axe-core/package.json; then
  echo "bootstrap: installing axe-core $AXE_VERSION for the browser tests" >&2
  npm install --silent --no-save --no-audit --no-fund --prefix .cache/npm "axe-core@$AXE_VERSION" >/dev/null
fi
