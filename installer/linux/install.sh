#!/usr/bin/env bash
# Install (or upgrade) AQA Judge Assistant for this user; no root, no Python needed.
#   ./install.sh            the program goes to ~/.local/opt/aqa-judge, `aqa-judge` to ~/.local/bin,
#                           a menu entry and its icon to ~/.local/share
# An upgrade replaces the program folder only: the sessions database, the I3D weights and trained
# models (~/.local/share/aqa-judge) and the settings (~/.config/aqa-judge) are never touched.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
PREFIX="${AQA_JUDGE_PREFIX:-$HOME/.local/opt/aqa-judge}"
BIN="$HOME/.local/bin"
. "$(dirname "${BASH_SOURCE[0]}")/running.sh"
refuse_while_running "$PREFIX"
mkdir -p "$(dirname "$PREFIX")" "$BIN" "$DATA/applications" "$DATA/icons/hicolor/256x256/apps"
# Copy beside the old version, then swap, so an interrupted upgrade leaves the old one working.
rm -rf "$PREFIX.new"
cp -a "$HERE/aqa-judge" "$PREFIX.new"
rm -rf "$PREFIX.old"
[ -e "$PREFIX" ] && mv "$PREFIX" "$PREFIX.old"
mv "$PREFIX.new" "$PREFIX"
rm -rf "$PREFIX.old"
ln -sfn "$PREFIX/aqa-judge" "$BIN/aqa-judge"
sed "s|^Exec=aqa-judge|Exec=\"$PREFIX/aqa-judge\"|" "$HERE/aqa-judge.desktop" > "$DATA/applications/aqa-judge.desktop"
cp "$HERE/aqa-judge.png" "$DATA/icons/hicolor/256x256/apps/aqa-judge.png"
command -v update-desktop-database >/dev/null && update-desktop-database "$DATA/applications" >/dev/null 2>&1 || true
echo "Installed AQA Judge Assistant in $PREFIX (menu: AQA Judge Assistant; command: $BIN/aqa-judge)."
# The self-test scores a dive, which needs the I3D weights (not shipped): say so first on a fresh install.
if [ ! -e "$DATA/aqa-judge/weights/i3d_kinetics400.safetensors" ]; then
  echo "Next: start it from the menu (it offers to download the I3D weights, 45 MB) or run: $BIN/aqa-judge weights install"
fi
echo "Check it with: $BIN/aqa-judge --self-test"
