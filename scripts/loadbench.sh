#!/usr/bin/env bash
# Load benchmark of a real noflyd over loopback: builds noflyd and
# noflybench, serves the shared 50,000-zone set on 127.0.0.1, and measures
# the health check (the floor), CheckPosition and 20-waypoint CheckFlightPlan
# (50 m buffer): closed loop, open loop at 2,000 calls/s, with SIGHUP reloads
# every second, and again against 10,000 exemption records. Prints one table
# and whether each target is met. Takes about four minutes; sends traffic
# only to 127.0.0.1.
#
# Environment:
#   NOFLY_BENCH_DATA  directory of the shared set (zones.geojson, points.txt,
#                     routes.geojson); default ../shared/bench/data; when
#                     missing, generated into a temporary directory
#                     (../shared/bench: go run ./gen)
#   LOADBENCH_PORT    first of the two loopback ports used (default 17600)
#   LOADBENCH_D       measured seconds of each run (default 5)
#   LOADBENCH_ROUNDS  rounds of the closed-loop runs, medians printed (default 3)
#   LOADBENCH_C       connections (default 4); LOADBENCH_INFLIGHT calls in
#                     flight per connection (default 8)
#
# Exit status: 0 when the reload-under-load runs had no failed call, 1
# otherwise (the throughput and latency targets are reported, not enforced:
# they depend on what else the machine runs).
set -euo pipefail
cd "$(dirname "$0")/.."

port=${LOADBENCH_PORT:-17600}
d=${LOADBENCH_D:-5}
rounds=${LOADBENCH_ROUNDS:-3}
conns=${LOADBENCH_C:-4}
inflight=${LOADBENCH_INFLIGHT:-8}
rate=2000

work=$(mktemp -d)
pid=
status=0
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

data=${NOFLY_BENCH_DATA:-../shared/bench/data}
if [ ! -f "$data/zones.geojson" ] || [ ! -f "$data/points.txt" ] || [ ! -f "$data/routes.geojson" ]; then
	data=$work/data
	echo "== generating the shared benchmark set in $data" >&2
	mkdir -p "$data"
	(cd ../shared/bench && go run ./gen -out "$data")
fi

echo "== building" >&2
go build -o "$work/" ./cmd/noflyd ./cmd/noflybench
bench=$work/noflybench

echo "== seeding 10,000 exemption records" >&2
"$bench" seed -db "$work/exemptions.db" -zones "$data/zones.geojson" -n 10000 -units 100 >&2

# start_noflyd ADDR DB: starts noflyd with the 50k zones, waits for SERVING.
start_noflyd() {
	"$work/noflyd" --listen "$1" --metrics-listen "127.0.0.1:$((port + 10))" --db "$2" \
		--zones "$data/zones.geojson" --log-format json 2>>"$work/noflyd.log" &
	pid=$!
	"$bench" wait -addr "$1" -timeout 2m
}
stop_noflyd() {
	kill -TERM "$pid"
	for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
	if kill -0 "$pid" 2>/dev/null; then
		echo "noflyd did not stop within 30 s of SIGTERM" >&2
		kill -KILL "$pid"
		status=1
	fi
	wait "$pid" || true
	pid=
}
# reloads prints nofly_zone_reloads_total from the metrics (nothing without curl).
reloads() {
	if command -v curl >/dev/null; then
		curl -s "http://127.0.0.1:$((port + 10))/metrics" | awk '$1 == "nofly_zone_reloads_total" {print $2}' || true
	fi
}

common=(-c "$conns" -inflight "$inflight" -d "${d}s" -points "$data/points.txt" -routes "$data/routes.geojson" -buffer 50 -waypoints 20)
# run ARGS: noflybench run against the server at $addr (pid $pid), with
# the common flags (later flags win).
run() { "$bench" run -addr "$addr" -server-pid "$pid" "${common[@]}" "$@"; }
table=$work/table.md
: >"$table"

echo "== load $(uptime | sed 's/.*load average/load average/'), $(nproc) cores; client and server on this machine" >&2

addr=127.0.0.1:$port
echo "== noflyd, 50,000 zones, no exemptions ($addr)" >&2
start_noflyd "$addr" "$work/empty.db"
run -modes health,position,route -rounds "$rounds" | sed 's/^| /| no exemptions: /' >>"$table"
run -modes position -rate "$rate" -d "$((2 * d))s" | sed 's/^| /| no exemptions: /' >>"$table"
before=$(reloads)
if ! run -modes position,route -hup-pid "$pid" -hup-every 1s -max-failed 0 -d "$((2 * d))s" |
	sed 's/^| /| SIGHUP every 1 s: /' >>"$table"; then
	status=1
fi
if ! run -modes position -rate "$rate" -hup-pid "$pid" -hup-every 1s -max-failed 0 -d "$((2 * d))s" |
	sed 's/^| /| SIGHUP every 1 s: /' >>"$table"; then
	status=1
fi
after=$(reloads)
stop_noflyd
if grep -q '"reload failed' "$work/noflyd.log"; then
	echo "a reload failed during the run:" >&2
	grep '"reload failed' "$work/noflyd.log" >&2
	status=1
fi

addr=127.0.0.1:$((port + 1))
echo "== noflyd, 50,000 zones, 10,000 exemption records; checks by unit U-07 ($addr)" >&2
start_noflyd "$addr" "$work/exemptions.db"
run -modes health,position,route -rounds "$rounds" -unit U-07 | sed 's/^| /| 10k exemptions: /' >>"$table"
run -modes position -rate "$rate" -unit U-07 -d "$((2 * d))s" | sed 's/^| /| 10k exemptions: /' >>"$table"
stop_noflyd

echo
echo "noflyd and noflybench on one $(nproc)-core machine ($(uname -m)), loopback; ${conns} connections × ${inflight} calls in flight;"
echo "50,000 zones ($data/zones.geojson); each row ${d} s (closed loop: median of ${rounds}) or $((2 * d)) s (open loop, reloads)."
echo
echo "| server: call | load | rps | server CPU/call | p50 | p99 | p99.9 | vs health | failed | verdicts |"
echo "|---|---|---|---|---|---|---|---|---|---|"
cat "$table"
echo
if [ -n "$before" ] && [ -n "$after" ]; then
	echo "zone reloads completed during the SIGHUP runs: $((after - before))"
fi

# Targets. Columns of a row: 2 call, 3 load, 4 rps, 5 CPU, 6 p50, 7 p99, 8 p99.9, 9 vs health, 10 failed.
ratio=$(awk -F'|' 'index($2, "no exemptions: position") && index($3, "closed") { gsub(/[ %]/, "", $9); print $9; exit }' "$table")
p99=$(awk -F'|' 'index($2, "no exemptions: position") && index($3, "open") { gsub(/^ +| +$/, "", $7); print $7; exit }' "$table")
failed=$(awk -F'|' 'index($2, "SIGHUP") { gsub(/ /, "", $10); split($10, a, "("); s += a[1] } END { print s + 0 }' "$table")
p99us=$(awk -v v="$p99" 'BEGIN { split(v, a, " "); print (a[2] == "ms" ? a[1] * 1000 : (a[2] == "s" ? a[1] * 1e6 : a[1])) }')
met() { if [ "$1" = 1 ]; then echo "met"; else echo "NOT met"; fi; }
echo
echo "targets:"
echo "- CheckPosition at least 80% of the health check's throughput: ${ratio}% — $(met "$(awk -v r="$ratio" 'BEGIN { print (r >= 80) }')")"
echo "- CheckPosition p99 below 5 ms at ${rate}/s: ${p99} — $(met "$(awk -v u="$p99us" 'BEGIN { print (u < 5000) }')")"
echo "- no failed call while the zones reload every second: ${failed} failed — $(met "$([ "$status" = 0 ] && [ "$failed" = 0 ] && echo 1 || echo 0)")"
exit "$status"
