#!/usr/bin/env bash
# Browser tests of the pages and the HTML report (Scripts/browser-tests.py), as CI runs them:
# installs Debian's chromium and chromium-driver and Selenium from PyPI, builds the release
# `metarec`, and runs the tests against a server on a loopback port. Screenshots of every page
# go to screenshots/ (git-ignored; CI keeps them as artefacts).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "== installing chromium and chromium-driver"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

venv=.build/browser-tests-venv
if [ ! -x "$venv/bin/python" ]; then
    echo "== Selenium from PyPI"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "selenium==4.51.0"
fi

metarec=.build/release/metarec
[ -x "$metarec" ] || swift build -c release --product metarec

arguments=(--metarec "$metarec" --screenshots screenshots)
if ! "$metarec" serve --help >/dev/null 2>&1; then
    echo "warning: this metarec has no 'serve' command: only the HTML report is tested" >&2
    arguments+=(--skip-server)
fi
echo "== browser tests"
"$venv/bin/python" Scripts/browser-tests.py "${arguments[@]}"
