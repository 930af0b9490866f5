# Sourced by install.sh and uninstall.sh: neither replaces nor removes a program that is running.
# Why: Linux lets a running program's folder be swapped or deleted under it; the desk would keep
# going on the old files while its children (the trainer, the video check) started the new or a
# missing program, mid-session.
refuse_while_running() {
  local exe pid pids=""
  exe="$(readlink -f "$1/aqa-judge" 2>/dev/null)" || return 0
  [ -n "$exe" ] || return 0
  for pid in /proc/[0-9]*; do
    if [ "$(readlink "$pid/exe" 2>/dev/null)" = "$exe" ]; then pids="$pids ${pid#/proc/}"; fi
  done
  if [ -n "$pids" ]; then
    echo "AQA Judge Assistant is running from $1 (process$pids): quit it (File > Quit), then run this again." >&2
    exit 1
  fi
}
