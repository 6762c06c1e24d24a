#!/bin/sh
# The program of `make demo`: shows minit as PID 1, leaves orphans and a
# daemon behind, and exits 3. minit reaps the orphans, SIGTERMs the daemon
# (--grace), and exits with the program's 3.
echo "--- inside: the process tree, minit is PID 1"
ps -o pid,ppid,pgid,stat,args
echo "--- leaving 100 orphans and a daemon that says goodbye on SIGTERM"
for i in $(seq 100); do (sh -c 'exit 0' &) ; done
( trap 'echo "daemon: got SIGTERM from minit, cleaning up"; exit 0' TERM
  while :; do sleep 1 & wait $!; done ) &
sleep 0.2
echo "--- zombies now: $(ps -o stat= | grep -c Z)"
echo "--- program exits 3"
exit 3
