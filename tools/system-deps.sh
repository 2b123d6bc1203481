#!/usr/bin/env bash
# Install the Debian packages the tests drive (browser, LibreOffice, xmllint), only when missing.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v soffice >/dev/null || need+=(libreoffice-writer)
/usr/bin/python3 -c 'import uno' 2>/dev/null || need+=(python3-uno)
command -v xmllint >/dev/null || need+=(libxml2-utils)
command -v openssl >/dev/null || need+=(openssl)
command -v redis-server >/dev/null || need+=(redis-server)  # rate-limit store tests
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)  # deploy/nginx check
command -v systemd-analyze >/dev/null || need+=(systemd)  # deploy/systemd check
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
