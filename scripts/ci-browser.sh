#!/usr/bin/env bash
# Make a headless Chromium available for tests/test_render.py's browser check (it skips without one).
# Installs the Debian/Ubuntu package with apt-get when no chromium is on PATH; quiet, non-interactive.
# Set COSTMODEL_SKIP_BROWSER=1 to do nothing. Exits non-zero when it cannot provide a browser.
set -euo pipefail

if [[ "${COSTMODEL_SKIP_BROWSER:-}" == "1" ]]; then
    echo "ci-browser: COSTMODEL_SKIP_BROWSER=1, not installing chromium" >&2
    exit 0
fi

find_browser() {
    local name
    for name in "${CHROMIUM:-}" chromium chromium-browser google-chrome; do
        if [[ -n "$name" ]] && command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

if browser="$(find_browser)"; then
    echo "ci-browser: found $browser" >&2
else
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "ci-browser: no chromium and no apt-get; install chromium by hand" >&2
        exit 1
    fi
    sudo=""
    if [[ "$(id -u)" != "0" ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo -n"
        else
            echo "ci-browser: need root (or sudo) to apt-get install chromium" >&2
            exit 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    echo "ci-browser: installing chromium with apt-get" >&2
    $sudo apt-get update -qq >/dev/null
    # Debian names the package chromium; Ubuntu's chromium-browser is a snap shim, tried second
    if ! $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
        $sudo apt-get install -y -qq --no-install-recommends chromium-browser fonts-dejavu-core >/dev/null
    fi
    browser="$(find_browser)" || { echo "ci-browser: chromium did not install" >&2; exit 1; }
fi

"$browser" --headless --no-sandbox --disable-gpu --version 2>/dev/null || "$browser" --version
