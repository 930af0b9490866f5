#!/usr/bin/env bash
# Remove AQA Judge Assistant for this user. The sessions database, weights, models and settings
# stay unless asked: ./uninstall.sh --purge also deletes ~/.local/share/aqa-judge and ~/.config/aqa-judge.
set -euo pipefail
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
CONFIG="${XDG_CONFIG_HOME:-$HOME/.config}"
PREFIX="${AQA_JUDGE_PREFIX:-$HOME/.local/opt/aqa-judge}"
. "$(dirname "${BASH_SOURCE[0]}")/running.sh"
refuse_while_running "$PREFIX"
rm -rf "$PREFIX"
rm -f "$HOME/.local/bin/aqa-judge" "$DATA/applications/aqa-judge.desktop" "$DATA/icons/hicolor/256x256/apps/aqa-judge.png"
if [ "${1:-}" = "--purge" ]; then
  rm -rf "$DATA/aqa-judge" "$CONFIG/aqa-judge"
  echo "Removed AQA Judge Assistant and its data (sessions, weights, models, settings)."
else
  echo "Removed AQA Judge Assistant. Your sessions, weights, models ($DATA/aqa-judge) and settings ($CONFIG/aqa-judge) are kept; ./uninstall.sh --purge removes them."
fi
