#!/bin/sh
# make demo: minit as PID 1 of a fresh pid namespace on the ready examples.
MINIT=${1:-build/minit}
here=$(dirname "$0")
echo "=== job 1: one program"
echo "\$ unshare --pid --fork --mount-proc $MINIT --grace 2s -- sh $here/job1-demo.sh"
unshare --pid --fork --mount-proc "$MINIT" --grace 2s -- sh "$here/job1-demo.sh"
echo "--- minit exited with status $? (the program's own)"
echo
echo "=== job 2: services (migrate -> web -> worker), stopped after 3 s"
sock=/tmp/minit-example.sock
rm -f "$sock"
echo "\$ unshare --pid --fork --mount-proc $MINIT -c $here/services.ini"
unshare --pid --fork --mount-proc "$MINIT" -c "$here/services.ini" &
pid=$!
i=0; while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
"$MINIT" ctl -S "$sock" wait-ready web worker --timeout 10s
sleep 2
echo "\$ minit ctl -S $sock status"
"$MINIT" ctl -S "$sock" status
echo "\$ minit ctl -S $sock shutdown"
"$MINIT" ctl -S "$sock" shutdown
wait $pid
echo "--- minit exited with status $?"
