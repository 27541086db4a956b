#!/usr/bin/env bash
# Makes the tiny JPEG and WebP fixtures of test/node/image-formats.test.ts with
# the reference encoders (Debian: libjpeg-turbo-progs, imagemagick, webp) and
# writes them to test/fixtures/images/ (committed; a few hundred bytes each).
# The PNG fixtures, the EXIF orientations and the decompression bomb are made
# inside the tests (test/node/image-fixtures.ts): no tool needed.
#
#   apt-get install -y libjpeg-turbo-progs imagemagick webp
#   bash scripts/make-image-fixtures.sh
#
# The picture: 32x16 pixels, four flat 16x8 quadrants, red (top left), green
# (top right), blue (bottom left), white (bottom right): every EXIF
# orientation and every channel mix-up shows.
set -euo pipefail
cd "$(dirname "$0")/.."
out=test/fixtures/images
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
convert=/usr/bin/convert-im6.q16 # the real ImageMagick (a stand-in `convert` may shadow it)
[ -x "$convert" ] || convert=convert

node -e '
const w = 32, h = 16;
const rgb = Buffer.alloc(w * h * 3), rgba = Buffer.alloc(w * h * 4);
const colour = (x, y) => (y < 8 ? (x < 16 ? [255, 0, 0] : [0, 255, 0]) : x < 16 ? [0, 0, 255] : [255, 255, 255]);
for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
  const c = colour(x, y), i = y * w + x;
  rgb.set(c, 3 * i);
  rgba.set([...c, x < 16 ? 255 : 128], 4 * i); // the right half half transparent
}
require("fs").writeFileSync(process.argv[1] + "/quadrants.ppm", Buffer.concat([Buffer.from(`P6\n${w} ${h}\n255\n`), rgb]));
require("fs").writeFileSync(process.argv[1] + "/quadrants.pam", Buffer.concat([Buffer.from(`P7\nWIDTH ${w}\nHEIGHT ${h}\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n`), rgba]));
' "$tmp"

ppm=$tmp/quadrants.ppm
# JPEG: the common kinds, and the ones jpeg-js cannot decode (refused by name).
cjpeg -quality 95 -sample 2x2 "$ppm" >"$out/baseline-420.jpg"
cjpeg -quality 95 -sample 1x1 "$ppm" >"$out/baseline-444.jpg"
cjpeg -quality 95 -grayscale "$ppm" >"$out/grey.jpg"
cjpeg -quality 95 -progressive "$ppm" >"$out/progressive.jpg"
cjpeg -quality 95 -restart 1B "$ppm" >"$out/restart.jpg"
cjpeg -quality 95 -arithmetic "$ppm" >"$out/arithmetic.jpg"
"$convert" "$ppm" -colorspace CMYK -quality 95 -strip "$out/cmyk.jpg"

# WebP: lossy (VP8), lossless (VP8L), lossy with alpha (VP8X + ALPH), animated (ANIM).
"$convert" "$tmp/quadrants.pam" "$tmp/quadrants-alpha.png"
"$convert" "$ppm" "$tmp/quadrants.png"
cwebp -quiet -q 95 "$tmp/quadrants.png" -o "$out/lossy.webp"
cwebp -quiet -lossless "$tmp/quadrants.png" -o "$out/lossless.webp"
cwebp -quiet -q 95 -alpha_q 100 "$tmp/quadrants-alpha.png" -o "$out/alpha.webp"
img2webp -loop 0 -lossless "$tmp/quadrants.png" "$tmp/quadrants-alpha.png" -o "$out/animated.webp"

ls -l "$out"
