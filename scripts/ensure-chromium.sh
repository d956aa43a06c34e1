#!/usr/bin/env bash
# Make sure Debian's headless-capable Chromium is installed for the browser test
# (tests/app/test_audit_html_browser.py). Installs it with apt-get when it is missing and we run
# as root; otherwise says what to do and succeeds (the test then skips locally, fails under CI).
set -euo pipefail

if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "ensure-chromium: chromium is missing; install it with: sudo apt-get install -y chromium" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: chromium is missing and apt-get is not available; install Chromium" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || { sleep 5; apt-get update -qq; }
apt-get install -y -qq chromium >/dev/null
echo "ensure-chromium: installed $(chromium --version 2>/dev/null || echo chromium)"
