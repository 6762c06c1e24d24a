#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks what the compiler does not: the include graph of STYLE.md section 1
# and the calls section 8 bans outside tests. Prints each violation as
# FILE:LINE: reason and exits 1 if there is any.
status=0
bad() { echo "$1: $2"; status=1; }

# Module include rules.
for f in $(git ls-files 'cgroupfs/*.[ch]' 'ns/*.[ch]' 'supervisor/*.[ch]' 'init/*.[ch]'); do
    mod=${f%%/*}
    grep -n '#include' "$f" | while IFS=: read -r line text; do
        inc=$(echo "$text" | sed -n 's/.*[<"]\([^>"]*\)[>"].*/\1/p')
        case "$inc" in
        init/err.h|init/log.h|init/sys.h) ;;
        init/*) [ "$mod" = init ] || echo "$f:$line: $mod may not include $inc" ;;
        supervisor/*) [ "$mod" = supervisor ] || [ "$mod" = init ] || echo "$f:$line: $mod may not include $inc" ;;
        cgroupfs/*) [ "$mod" = ns ] && echo "$f:$line: ns may not include $inc" ;;
        ns/*) [ "$mod" = cgroupfs ] && echo "$f:$line: cgroupfs may not include $inc" ;;
        ev.h) case "$mod" in cgroupfs|ns) echo "$f:$line: $mod may not include <ev.h>" ;; esac ;;
        ini.h) [ "$f" = init/config.c ] || echo "$f:$line: only init/config.c includes <ini.h>" ;;
        sys/capability.h|seccomp.h) [ "$mod" = ns ] || echo "$f:$line: only ns/ uses $inc" ;;
        esac
    done
done | while read -r l; do echo "$l"; echo x >/tmp/minit-lint.$$; done
[ -f /tmp/minit-lint.$$ ] && { status=1; rm -f /tmp/minit-lint.$$; }

# Banned calls outside tests.
for f in $(git ls-files 'init/*.c' 'supervisor/*.c' 'cgroupfs/*.c' 'ns/*.c'); do
    out=$(grep -nE '(^|[^_a-z.>])(signal|system|popen|sleep|usleep|nanosleep|waitpid|wait|wait3|wait4|strcpy|strcat|sprintf|strtok|atoi|assert)[[:space:]]*\(' "$f" |
        grep -vE '^\s*[0-9]+:\s*(/\*|\*)')
    [ -n "$out" ] && { echo "$out" | sed "s|^|$f:|; s|\$| (banned call)|"; status=1; }
    case "$f" in
    init/sys.c|init/config.c|init/log.c) ;;
    *)
        out=$(grep -nE '(^|[^_a-z.>])(pipe|dup|open|fopen)[[:space:]]*\(' "$f")
        [ -n "$out" ] && { echo "$out" | sed "s|^|$f:|; s|\$| (use the sys_ wrapper)|"; status=1; }
        ;;
    esac
done
# waitid is allowed in sys.c only (a WNOWAIT probe: it reaps nothing).
out=$(git grep -nE '(^|[^_a-z])waitid[[:space:]]*\(' -- init supervisor cgroupfs ns | grep -vE '^init/sys\.[ch]:')
[ -n "$out" ] && { echo "$out (waitid outside sys.c)"; status=1; }

if command -v cppcheck >/dev/null 2>&1; then
    cppcheck -q --error-exitcode=1 --enable=warning,portability --inline-suppr \
        --suppress=missingIncludeSystem -I. -D_GNU_SOURCE init supervisor cgroupfs ns || status=1
fi
[ $status -eq 0 ] && echo "lint: ok"
exit $status
