#!/bin/sh
# How long `ringv8 tracker` (under load from `ringv8 bench tracker`) and `ringv8 run` (a node
# walking against that tracker) take from SIGTERM to exit, and whether they exit 0 with their
# final --json. Everything on 127.0.0.1. Usage: scripts/measure-shutdown.sh [RINGV8] [ROUNDS]
set -eu
RINGV8=${1:-build/tools/ringv8}
ROUNDS=${2:-5}
TMP=$(mktemp -d /tmp/ringv8-shutdown-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Sends SIGTERM to $1; sets stop_ms (until it exited) and status (its exit status). Not in a
# subshell: only this shell can wait for its children.
stop() {
  start=$(date +%s%N)
  kill -TERM "$1"
  status=0
  wait "$1" || status=$?
  end=$(date +%s%N)
  stop_ms=$(( (end - start) / 1000000 ))
}

# Whether the file holds one JSON object.
json_ok() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null && echo true || echo false; }
# A field of that object (0 if it is missing).
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$1" "$2" 2>/dev/null || echo 0; }

for round in $(seq "$ROUNDS"); do
  port=$(free_port)
  "$RINGV8" tracker --port "$port" --json >"$TMP/tracker.json" 2>/dev/null &
  tracker=$!
  sleep 0.5
  "$RINGV8" bench tracker --target "127.0.0.1:$port" --peers 500 --duration 4 --json \
    >/dev/null 2>&1 &
  load=$!
  cat >"$TMP/node.json" <<JSON
{"interfaces": [{"interface": "UDPIPv4", "ip": "127.0.0.1", "port": 0}],
 "keys": [{"alias": "me", "generation": "curve25519"}],
 "overlays": [{"class": "DiscoveryCommunity", "key": "me",
   "walkers": [{"strategy": "RandomWalk", "peers": 20}],
   "bootstrappers": [{"class": "DispersyBootstrapper",
     "init": {"ip_addresses": [["127.0.0.1", $port]], "dns_addresses": []}}]}]}
JSON
  "$RINGV8" run --config "$TMP/node.json" --json >"$TMP/run.json" 2>/dev/null &
  node=$!
  sleep 2.5  # Both busy: the tracker under load, the node walking.
  stop "$node"
  echo "{\"command\": \"run\", \"round\": $round, \"stop_ms\": $stop_ms, \"exit\": $status, \"json\": $(json_ok "$TMP/run.json")}"
  stop "$tracker"
  echo "{\"command\": \"tracker\", \"round\": $round, \"stop_ms\": $stop_ms, \"exit\": $status, \"json\": $(json_ok "$TMP/tracker.json"), \"requests_served\": $(field "$TMP/tracker.json" requests)}"
  wait "$load" 2>/dev/null || true
done
