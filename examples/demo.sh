#!/bin/sh
# make demo: runs minit as PID 1 of a fresh pid namespace on a ready example.
MINIT=${1:-build/minit}
here=$(dirname "$0")
echo "\$ unshare --pid --fork --mount-proc $MINIT --grace 2s -- sh $here/job1-demo.sh"
unshare --pid --fork --mount-proc "$MINIT" --grace 2s -- sh "$here/job1-demo.sh"
echo "--- minit exited with status $? (the program's own)"
