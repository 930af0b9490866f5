#!/usr/bin/env bash
# Wrap dist/AQA Judge.app into a DMG with an Applications link (NOT run by this project's CI: needs macOS).
#   installer/macos/make_dmg.sh "dist/AQA Judge.app" dist/aqa-judge-0.1.0-macos-cpu.dmg
# Sign and notarise before handing it out: see installer/macos/README.md.
set -euo pipefail
APP="$1" OUT="$2"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$OUT"
hdiutil create -volname "AQA Judge Assistant" -srcfolder "$STAGE" -fs HFS+ -format UDZO "$OUT"
echo "[package] wrote $OUT" >&2
