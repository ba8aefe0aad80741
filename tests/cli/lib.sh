# Shared by the shell-level CLI tests (sourced after bin and work are set).
fail() {
  echo "FAIL: $*"
  exit 1
}

# expect_exit CODE ARGS...: runs "$bin" ARGS with its output in $work/out; fails unless it exits
# with CODE.
expect_exit() {
  local want=$1
  shift
  set +e
  "$bin" "$@" > "$work/out" 2>&1
  local got=$?
  set -e
  [[ $got -eq $want ]] || { cat "$work/out"; fail "'$*' exited $got, expected $want"; }
}
