#!/usr/bin/env bash
# Install the browser assets of the web map (Leaflet, jQuery, Bootstrap, Awesome Markers,
# Font Awesome, Leaflet.VectorGrid) from the npm registry, at the exact versions of
# package-lock.json, and copy only the files the page loads into web_map/static/vendor/.
# Neither CI nor an intranet deployment reaches a CDN: the page is served from there.
# The same install brings the devDependencies: ESLint, which `make lint` runs on the page's own
# scripts (eslint.config.js), from build/web-assets/node_modules/.bin/eslint.
#
# node_modules lives under build/web-assets/ (git-ignored), not beside package.json.
# Safe to run again: when the lock file is unchanged and every file is in place it does nothing
# (and needs no network).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/build/web-assets"
vendor="$root/web_map/static/vendor"
stamp="$vendor/.installed"

# Source (under node_modules) -> destination (under vendor), one line each.
FILES="
leaflet/dist/leaflet.js                                  leaflet/leaflet.js
leaflet/dist/leaflet.css                                 leaflet/leaflet.css
leaflet/dist/images/layers.png                           leaflet/images/layers.png
leaflet/dist/images/layers-2x.png                        leaflet/images/layers-2x.png
leaflet/dist/images/marker-icon.png                      leaflet/images/marker-icon.png
leaflet/dist/images/marker-icon-2x.png                   leaflet/images/marker-icon-2x.png
leaflet/dist/images/marker-shadow.png                    leaflet/images/marker-shadow.png
jquery/dist/jquery.min.js                                jquery/jquery.min.js
bootstrap/dist/js/bootstrap.bundle.min.js                bootstrap/bootstrap.bundle.min.js
bootstrap/dist/css/bootstrap.min.css                     bootstrap/bootstrap.min.css
leaflet.awesome-markers/dist/leaflet.awesome-markers.js  awesome-markers/leaflet.awesome-markers.js
leaflet.awesome-markers/dist/leaflet.awesome-markers.css awesome-markers/leaflet.awesome-markers.css
leaflet.awesome-markers/dist/images/markers-soft.png     awesome-markers/images/markers-soft.png
leaflet.awesome-markers/dist/images/markers-soft@2x.png  awesome-markers/images/markers-soft@2x.png
leaflet.awesome-markers/dist/images/markers-shadow.png   awesome-markers/images/markers-shadow.png
leaflet.awesome-markers/dist/images/markers-shadow@2x.png awesome-markers/images/markers-shadow@2x.png
@fortawesome/fontawesome-free/css/all.min.css            fontawesome/css/all.min.css
@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2 fontawesome/webfonts/fa-solid-900.woff2
@fortawesome/fontawesome-free/webfonts/fa-solid-900.ttf  fontawesome/webfonts/fa-solid-900.ttf
@fortawesome/fontawesome-free/webfonts/fa-regular-400.woff2 fontawesome/webfonts/fa-regular-400.woff2
@fortawesome/fontawesome-free/webfonts/fa-regular-400.ttf fontawesome/webfonts/fa-regular-400.ttf
@fortawesome/fontawesome-free/webfonts/fa-brands-400.woff2 fontawesome/webfonts/fa-brands-400.woff2
@fortawesome/fontawesome-free/webfonts/fa-brands-400.ttf fontawesome/webfonts/fa-brands-400.ttf
@fortawesome/fontawesome-free/webfonts/fa-v4compatibility.woff2 fontawesome/webfonts/fa-v4compatibility.woff2
@fortawesome/fontawesome-free/webfonts/fa-v4compatibility.ttf fontawesome/webfonts/fa-v4compatibility.ttf
leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js vectorgrid/Leaflet.VectorGrid.bundled.min.js
"

# The stamp records what was installed: the lock file and this file list.
want_stamp=$( { cat "$root/package-lock.json"; echo "$FILES"; } | sha256sum | cut -d' ' -f1)

all_present() {
  local src dst
  while read -r src dst; do
    [ -z "$src" ] && continue
    [ -s "$vendor/$dst" ] || return 1
  done <<< "$FILES"
  [ -x "$work/node_modules/.bin/eslint" ]
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ] && all_present; then
  echo "web assets: up to date in web_map/static/vendor/"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "web assets: npm is missing (install Node.js and npm, e.g. apt-get install nodejs npm)" >&2
  exit 1
fi

mkdir -p "$work"
cp "$root/package.json" "$root/package-lock.json" "$work/"
echo "web assets: npm ci (versions from package-lock.json)"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

# Copied aside (under build/), then swapped in: pages served meanwhile lose their files for a
# moment only, not for the whole copy.
fresh="$work/vendor"
rm -rf "$fresh"
mkdir -p "$fresh"
while read -r src dst; do
  [ -z "$src" ] && continue
  mkdir -p "$(dirname "$fresh/$dst")"
  cp "$work/node_modules/$src" "$fresh/$dst"
done <<< "$FILES"
# The minified files name source maps we do not ship; drop the hint so no tool asks for them.
find "$fresh" \( -name '*.js' -o -name '*.css' \) \
  -exec sed -i -E '/^(\/\/|\/\*)# sourceMappingURL=[^ ]*( \*\/)?$/d' {} +
echo "$want_stamp" > "$fresh/.installed"
rm -rf "$vendor"
mv "$fresh" "$vendor"
echo "web assets: installed $(find "$vendor" -type f ! -name .installed | wc -l) files," \
  "$(du -sh "$vendor" | cut -f1) in web_map/static/vendor/"
