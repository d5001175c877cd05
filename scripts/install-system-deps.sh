#!/usr/bin/env bash
# Install the Debian/Ubuntu packages gridmap needs, when they are missing:
# PostgreSQL with PostGIS (the project runs its own local cluster) and, for the browser tests,
# Chromium. Uses sudo when not root. Safe to run again: it installs only what is missing.
set -euo pipefail

want=()
pg_bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
pg_version=""
if [ -n "$pg_bindir" ]; then
  pg_version=$(basename "$(dirname "$pg_bindir")")
else
  want+=(postgresql)
fi
postgis_control=$(ls /usr/share/postgresql/*/extension/postgis.control 2>/dev/null | head -n 1 || true)
if [ -z "$postgis_control" ]; then
  if [ -n "$pg_version" ]; then
    want+=("postgresql-${pg_version}-postgis-3")
  else
    want+=(postgis)
  fi
fi
if [ "${GRIDMAP_SKIP_BROWSER:-0}" != "1" ]; then
  command -v chromium >/dev/null 2>&1 || want+=(chromium)
  # Chinese glyphs for the pages the browser tests render and screenshot.
  dpkg -s fonts-noto-cjk >/dev/null 2>&1 || want+=(fonts-noto-cjk)
fi

if [ ${#want[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "installing system packages: ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
echo "system packages: installed ${want[*]}"
