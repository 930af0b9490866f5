#!/usr/bin/env bash
# Wrap the onedir build into one file a club downloads: aqa-judge-<version>-linux-<variant>.tar.gz.
#   installer/linux/make_tarball.sh dist/aqa-judge dist/aqa-judge-0.1.0-linux-cpu.tar.gz
# Inside: the app folder, the .desktop entry, the icon, install.sh and uninstall.sh (and running.sh, which both source).
set -euo pipefail
APP="$1" OUT="$2"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAME="$(basename "$OUT" .tar.gz)"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
mkdir "$STAGE/$NAME"
cp -a "$APP" "$STAGE/$NAME/aqa-judge"
cp "$HERE/aqa-judge.desktop" "$HERE/install.sh" "$HERE/uninstall.sh" "$HERE/running.sh" "$STAGE/$NAME/"
cp "$HERE/../../resources/icons/aqa-judge.png" "$STAGE/$NAME/"
chmod +x "$STAGE/$NAME/install.sh" "$STAGE/$NAME/uninstall.sh"
tar -C "$STAGE" -czf "$OUT" "$NAME"
echo "[package] wrote $OUT ($(du -h "$OUT" | cut -f1))" >&2
