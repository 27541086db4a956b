#!/usr/bin/env bash
# Fetch the default public-domain / CC0 photos from Debian packages into
# assets/photos/, without installing anything:
#   python3-skimage          -> coffee.png, chelsea.png, rocket.jpg, astronaut.png
#   python-matplotlib-data   -> grace_hopper.jpg
# Needs apt-get and dpkg-deb (Debian/Ubuntu). Usage: scripts/fetch-photos.sh [DEST]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/assets/photos}"
PACKAGES=(python3-skimage python-matplotlib-data)
SKIMAGE_DATA=usr/lib/python3/dist-packages/skimage/data
MPL_DATA=usr/share/matplotlib/mpl-data/sample_data

for tool in apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "fetch-photos: '$tool' not found (needs a Debian-based system)" >&2; exit 1; }
done

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"

if ! apt-get download "${PACKAGES[@]}" >/dev/null 2>&1; then
  echo "fetch-photos: apt-get download failed, running apt-get update first" >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get update >/dev/null; else sudo apt-get update >/dev/null; fi
  apt-get download "${PACKAGES[@]}" >/dev/null
fi

for deb in ./*.deb; do dpkg-deb -x "$deb" extracted; done

mkdir -p "$DEST"
for f in coffee.png chelsea.png rocket.jpg astronaut.png; do
  cp "extracted/$SKIMAGE_DATA/$f" "$DEST/$f"
done
cp "extracted/$MPL_DATA/grace_hopper.jpg" "$DEST/grace_hopper.jpg"

SKIMAGE_VERSION="$(dpkg-deb -f python3-skimage_*.deb Version)"
MPL_VERSION="$(dpkg-deb -f python-matplotlib-data_*.deb Version)"

cat > "$DEST/LICENSE.md" <<EOF
# Photos: sources and licences

Taken unmodified from Debian packages (versions below) by \`scripts/fetch-photos.sh\`.

| file | subject | taken from | licence (as stated upstream) |
|---|---|---|---|
| \`coffee.png\` | a cup of espresso | \`python3-skimage\` ${SKIMAGE_VERSION}, \`${SKIMAGE_DATA}/coffee.png\` | CC0, by the photographer Rachel Michetti (scikit-image \`skimage.data.coffee\` docstring: "No copyright restrictions. CC0 by the photographer") |
| \`chelsea.png\` | Chelsea the cat | \`python3-skimage\` ${SKIMAGE_VERSION}, \`${SKIMAGE_DATA}/chelsea.png\` | CC0, by the photographer Stefan van der Walt (\`skimage.data.chelsea\` docstring) |
| \`rocket.jpg\` | launch of Falcon 9 carrying DSCOVR | \`python3-skimage\` ${SKIMAGE_VERSION}, \`${SKIMAGE_DATA}/rocket.jpg\` | public domain, released by SpaceX (\`skimage.data.rocket\` docstring; https://www.flickr.com/photos/spacexphotos/16511594820/) |
| \`astronaut.png\` | NASA portrait of astronaut Eileen Collins | \`python3-skimage\` ${SKIMAGE_VERSION}, \`${SKIMAGE_DATA}/astronaut.png\` | public domain, NASA Great Images database (\`skimage.data.astronaut\` docstring: "No known copyright restrictions, released into the public domain"; https://flic.kr/p/r9qvLn) |
| \`grace_hopper.jpg\` | US Navy portrait of Commodore Grace M. Hopper | \`python-matplotlib-data\` ${MPL_VERSION}, \`${MPL_DATA}/grace_hopper.jpg\` | public domain, work of the U.S. Navy (official US government photograph) |
EOF

ls -l "$DEST"
du -ch "$DEST"/*.png "$DEST"/*.jpg | tail -n 1
