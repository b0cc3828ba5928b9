#!/usr/bin/env bash
# Installs the system packages the test suite uses, where they are missing (CI starts from a fresh machine).
set -euo pipefail
need=()
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# The web widget tests drive Debian's Chromium headless through Playwright (its own browser download is not used):
# the package brings the libraries it needs; the fonts give the screenshots readable text.
[ -x /usr/bin/chromium ] || need+=(chromium fonts-liberation fonts-dejavu-core)
# The email tests run a throwaway IMAP server: Debian's dovecot (dovecot-core and openssl come with it).
[ -x /usr/sbin/dovecot ] || command -v dovecot >/dev/null 2>&1 || need+=(dovecot-imapd)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
