#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the unit tests (build/tests/unit/*) and the black-box tests
# (tests/blackbox/NN-*.py), each under a timeout, and ends with one line:
#     N passed, N failed, N skipped
# Usage: tests/run.sh [unit|blackbox]   (default: both)
O=${O:-build}
what=${1:-all}
pass=0 fail=0 skipped=0
failed_names=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() {  # $1 = name; reads the TAP log in $log
    p=$(grep -c '^ok ' "$log" | tr -d ' ')
    s=$(grep -c '^ok .*# SKIP' "$log" | tr -d ' ')
    f=$(grep -c '^not ok ' "$log" | tr -d ' ')
    p=$((p - s))
    pass=$((pass + p)); skipped=$((skipped + s)); fail=$((fail + f))
    bad=0
    [ "$f" -gt 0 ] && bad=1
    if [ "$2" -ne 0 ] && [ "$2" -ne 77 ]; then bad=1; fi
    if [ "$bad" -eq 1 ]; then
        if [ "$f" -eq 0 ]; then fail=$((fail + 1)); fi
        failed_names="$failed_names $1"
        grep -E '^(not ok|#)' "$log" | head -60
        [ "$2" -ne 0 ] && echo "# $1 exited with status $2"
    fi
    printf '%-40s %4d ok %3d failed %3d skipped\n' "$1" "$p" "$f" "$s"
}

if [ "$what" = all ] || [ "$what" = unit ]; then
    for t in "$O"/tests/unit/test_*; do
        [ -x "$t" ] || continue
        timeout 60 "$t" >"$log" 2>&1
        count "unit/$(basename "$t")" $?
    done
fi
if [ "$what" = all ] || [ "$what" = blackbox ]; then
    for t in tests/blackbox/[0-9]*.py; do
        [ -f "$t" ] || continue
        timeout 300 python3 "$t" >"$log" 2>&1
        count "blackbox/$(basename "$t")" $?
    done
fi
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
