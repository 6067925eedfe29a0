#!/usr/bin/env bash
# Makes parley-load's media fixture (loadgen/fixtures/): two seconds of a moving test
# picture in VP8 at the three simulcast sizes parley-load sends (quarter, half and full
# of 1280x720, each at about a browser's bitrate for that size at 15 frames a second),
# a keyframe only at the start of each, and two seconds of a tone in 20 ms Opus
# frames. The files are in the repository; this is only to make them again
# (apt install ffmpeg).
set -euo pipefail
cd "$(dirname "$0")/../loadgen/fixtures"
seconds=2
fps=15
layer() { # name width height kbit/s
  ffmpeg -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=$fps" -t "$seconds" \
    -vf "scale=$2:$3" -c:v libvpx -deadline realtime -cpu-used 8 -b:v "$4k" \
    -minrate "$4k" -maxrate "$4k" -g 1000 -keyint_min 1000 -auto-alt-ref 0 -lag-in-frames 0 \
    -f ivf "$1.ivf"
}
layer q 320 180 60
layer h 640 360 150
layer f 1280 720 400
ffmpeg -loglevel error -y -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$seconds" \
  -c:a libopus -b:a 32k -frame_duration 20 -application voip -ac 1 -f ogg tone.opus
ls -l
