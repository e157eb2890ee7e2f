#!/bin/sh
# The evidence of an inspector's day, made at bench time (nothing large is
# committed): JPEG photos of 1-4 MiB and short spoken clips, all from a
# seed, so the same seed gives the same files on the same Debian.
#
#   bench/shaped/media.sh [--seed N] [--photos N] [--audio N] DIR
#
# DIR/photos/photo-NN.jpg: a plasma picture (ImageMagick, -seed) scaled up
#   and given Gaussian noise, which makes a JPEG (quality 90) about as
#   large per pixel as a phone's photo of a street; the size of each is
#   drawn from the seed, uniformly in 1.15-3.85 MiB, and the picture's
#   dimensions are adjusted (at most three tries) until the file lands in
#   1-4 MiB (1,048,576-4,194,304 bytes).
# DIR/audio/audio-NN.wav: a sentence of an interview in Mandarin spoken by
#   espeak-ng (voice cmn), made 16 kHz mono 16-bit by sox, a recorder's
#   format: 5-20 s, 150-650 KiB.
# DIR/manifest.txt: size and SHA-256 of every file. A DIR whose manifest
# was made with the same arguments is kept as it is (made once per build
# directory). Needs Debian's imagemagick, espeak-ng and sox:
#   apt-get install --no-install-recommends imagemagick espeak-ng sox
set -eu

seed=11
photos=60
audio=10
dir=
while [ $# -gt 0 ]; do
  case $1 in
  -h | --help)
    sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
  --seed) seed=${2:?--seed N}; shift ;;
  --photos) photos=${2:?--photos N}; shift ;;
  --audio) audio=${2:?--audio N}; shift ;;
  -*) echo "usage: $0 [--seed N] [--photos N] [--audio N] DIR" >&2; exit 2 ;;
  *) dir=$1 ;;
  esac
  shift
done
[ -n "$dir" ] || { echo "usage: $0 [--seed N] [--photos N] [--audio N] DIR" >&2; exit 2; }
case $seed$photos$audio in *[!0-9]*) echo "$0: --seed, --photos and --audio take numbers" >&2; exit 2 ;; esac
for tool in convert espeak-ng sox sha256sum; do
  command -v "$tool" >/dev/null || {
    echo "$0: $tool is missing: apt-get install --no-install-recommends imagemagick espeak-ng sox" >&2
    exit 1
  }
done
# ImageMagick itself, not a stand-in that only converts PNG.
convert -version 2>/dev/null | grep -q ImageMagick || {
  echo "$0: 'convert' is not ImageMagick: apt-get install --no-install-recommends imagemagick" >&2
  exit 1
}

stamp="seed=$seed photos=$photos audio=$audio v2"
if [ -f "$dir/manifest.txt" ] && [ "$(head -n 1 "$dir/manifest.txt")" = "$stamp" ]; then
  echo "media: $dir is made already ($stamp)" >&2
  exit 0
fi
rm -rf "$dir"
mkdir -p "$dir/photos" "$dir/audio"

# A number in [0, mod) from the seed and a label: the same on every run.
draw() { echo $((0x$(printf '%s' "$seed:$1" | sha256sum | cut -c1-7) % $2)); }

min=1048576
max=4194304
i=1
while [ "$i" -le "$photos" ]; do
  f=$(printf '%s/photos/photo-%02d.jpg' "$dir" "$i")
  # Target size in KiB, uniform in 1.15-3.85 MiB; about 0.57 bytes a pixel.
  target=$((1178 + $(draw "photo$i" 2765)))
  s=$(draw "seed$i" 1000000)
  pixels=$((target * 1024 * 100 / 57))
  try=1
  while :; do
    w=$(awk -v p="$pixels" 'BEGIN { printf "%d", sqrt(p * 4 / 3) }')
    h=$((w * 3 / 4))
    convert -seed "$s" -size 320x240 plasma:fractal -resize "${w}x${h}!" \
      -seed "$s" -attenuate 0.5 +noise Gaussian -quality 90 "$f"
    size=$(stat -c %s "$f")
    if [ "$size" -ge "$min" ] && [ "$size" -le "$max" ]; then break; fi
    if [ "$try" -ge 3 ]; then
      echo "$0: $f is $size bytes after 3 tries, outside 1-4 MiB" >&2
      exit 1
    fi
    pixels=$(awk -v p="$pixels" -v t="$target" -v s="$size" 'BEGIN { printf "%d", p * t * 1024 / s }')
    try=$((try + 1))
  done
  i=$((i + 1))
done

# What the inspectors and the subjects say in an interview.
lines='执法人员：您好，我们是泗阳县城市管理局的执法人员，这是我们的执法证件。今天来是因为有群众反映您的店门口长期摆放商品，占用了人行道。
店主：这几天进货多，店里放不下，就先放在门口了，我马上搬进去。
执法人员：根据规定，临街商户不能超出门窗外墙摆卖。这次是首次发现，我们依法采用柔性执法方式，先对您进行告诫，请您在十天内整改到位。
店主：好的，我明白了，今天下午就清理干净，以后一定注意。
执法人员：另外您的店招有一颗固定螺栓已经锈蚀，刮大风的时候有坠落的危险，建议您尽快请专业人员加固。
店主：谢谢提醒，我这周就联系装修师傅来处理。
执法人员：这是门前三包责任告知书，请您看一下，有不清楚的地方可以随时问我们。
执法人员：我们十天后会来回访，看看整改的情况，也听听您对我们工作的意见和建议。
店主：你们讲得很清楚，态度也很好，我没有意见，会配合整改。
执法人员：今天的约谈就到这里，请您在笔录上签字确认。'
i=1
while [ "$i" -le "$audio" ]; do
  f=$(printf '%s/audio/audio-%02d.wav' "$dir" "$i")
  n=$(printf '%s\n' "$lines" | wc -l)
  a=$(( $(draw "line$i" "$n") + 1 ))
  text=$(printf '%s\n' "$lines" | sed -n "${a}p")
  speed=$((140 + $(draw "speed$i" 40)))
  espeak-ng -v cmn -s "$speed" -w "$dir/audio/tmp.wav" "$text"
  sox -V1 "$dir/audio/tmp.wav" -r 16000 -c 1 -b 16 "$f" trim 0 20
  i=$((i + 1))
done
rm -f "$dir/audio/tmp.wav"

{
  echo "$stamp"
  (cd "$dir" && find photos audio -type f | sort | while read -r f; do
    printf '%s %s\n' "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -c1-64)  $f"
  done)
} >"$dir/manifest.txt.tmp"
mv "$dir/manifest.txt.tmp" "$dir/manifest.txt"
awk 'NR > 1 { n++; b += $1 } END { printf "media: %d files, %d bytes\n", n, b }' "$dir/manifest.txt" >&2
