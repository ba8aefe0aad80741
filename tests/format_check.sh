#!/usr/bin/env bash
# The code follows the committed .clang-format (STYLE.md habit 10).
set -u
cd "$1" || exit 1
mapfile -t files < <(git ls-files '*.cc' '*.h')
[[ ${#files[@]} -gt 0 ]] || { echo "no sources found"; exit 1; }
if clang-format --dry-run --Werror "${files[@]}" 2> /tmp/format-check.$$; then
  echo "clang-format: ${#files[@]} files formatted"
  rm -f /tmp/format-check.$$
else
  head -40 /tmp/format-check.$$; rm -f /tmp/format-check.$$
  echo "run: clang-format -i \$(git ls-files '*.cc' '*.h')"
  exit 1
fi
