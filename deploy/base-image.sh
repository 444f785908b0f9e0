#!/bin/sh
# Builds a Debian 12 base image from Debian's packages and imports it into the container
# engine, for machines that reach Debian's mirrors but no image registry:
#   deploy/base-image.sh [TAG]   (default localhost/debian:bookworm-slim)
# then: podman build --format docker --build-arg BASE_IMAGE=TAG -t logsieve .
# Like Debian's own slim image it is mmdebstrap's minbase variant; it is made once and kept
# in the engine's store (delete the image to make it again).
set -eu
tag=${1:-localhost/debian:bookworm-slim}
engine=${CONTAINER_ENGINE:-podman}
if "$engine" image exists "$tag" 2>/dev/null; then
    echo "$tag: already there"
    exit 0
fi
tarball=$(mktemp --suffix=.tar)
trap 'rm -f "$tarball"' EXIT
mmdebstrap --variant=minbase --quiet \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    bookworm "$tarball" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main"
"$engine" import --change 'CMD ["/bin/bash"]' "$tarball" "$tag"
