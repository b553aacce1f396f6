#!/usr/bin/env bash
# Regenerates BENCHMARKS.md: release build of microwaf and the filters, the `microwaf bench`
# runs (no-op filter, MicroWAF alert mode on 4 KiB and 1 KiB JSON), the peer comparison
# (benches/peers/run.sh), then the targets of the hot-path and engine issues marked met or not
# met.
#
# Environment: DURATION (10), WARMUP (2), ROUNDS (3), CONNECTIONS (64) for every run;
# SKIP_PEERS=1 to leave the peer comparison out; OUT (BENCHMARKS.md); MICROWAF to use a
# given binary instead of building one; NOTE, a remark printed under the title.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export DURATION=${DURATION:-10} WARMUP=${WARMUP:-2} ROUNDS=${ROUNDS:-3} CONNECTIONS=${CONNECTIONS:-64}
OUT=${OUT:-$ROOT/BENCHMARKS.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/microwaf-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
log() { echo "[bench] $*" >&2; }

if [ -z "${MICROWAF:-}" ]; then
    log "release build"
    cargo build --release --locked -p microwaf-proxy --bin microwaf >&2
    MICROWAF=$ROOT/target/release/microwaf
fi
WASM_DIR=$ROOT/filters/target/wasm32-wasip1/release
for pkg in conformance-noop microwaf-filter; do
    (cd filters && cargo build --release --locked --target wasm32-wasip1 -p "$pkg" >&2) \
        || log "could not build $pkg; its runs are skipped"
done
NOOP=$WASM_DIR/conformance_noop.wasm
MWAF=$WASM_DIR/microwaf_filter.wasm
ALERT=$ROOT/benches/peers/microwaf-alert.yaml

START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
CORES=$(nproc)
MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
COMMON=(--duration "${DURATION}s" --warmup "${WARMUP}s" --rounds "$ROUNDS" --connections "$CONNECTIONS")

# run NAME ARGS...: one `microwaf bench` run; markdown in $WORK/NAME.md, JSON in $WORK/NAME.json.
declare -A CMD=()
run() {
    local name=$1; shift
    CMD[$name]="microwaf bench ${COMMON[*]} $*"
    log "${CMD[$name]}"
    local ok=1
    "$MICROWAF" bench "${COMMON[@]}" "$@" --markdown --json-file "$WORK/$name.json" \
        >"$WORK/$name.md" 2>"$WORK/$name.err" || ok=0
    sed 's/^/  /' "$WORK/$name.err" >&2
    if [ "$ok" = 0 ]; then
        { echo "Run failed:"; echo; echo '```'; tail -n 5 "$WORK/$name.err"; echo '```'; } >"$WORK/$name.md"
        rm -f "$WORK/$name.json"
    fi
}
have() { [ -f "$1" ]; }

run passthrough-h1 --protocol http1 --body-size 1024 --content json
run passthrough-h2 --protocol http2 --streams 1 --body-size 1024 --content json
if have "$NOOP"; then run noop --protocol http1 --body-size 1024 --content json --wasm "$NOOP"; fi
if have "$MWAF"; then
    run microwaf-4k --protocol http1 --body-size 4096 --content json --wasm "$MWAF" --plugin-config "@$ALERT"
    run microwaf-1k --protocol http1 --body-size 1024 --content json --wasm "$MWAF" --plugin-config "@$ALERT"
    run microwaf-4k-sensitive --protocol http1 --body-size 4096 --content json-sensitive \
        --wasm "$MWAF" --plugin-config "@$ALERT"
fi

PEERS_CMD="DURATION=$DURATION WARMUP=$WARMUP ROUNDS=$ROUNDS CONNECTIONS=$CONNECTIONS benches/peers/run.sh"
if [ -z "${SKIP_PEERS:-}" ]; then
    log "$PEERS_CMD"
    MICROWAF=$MICROWAF MICROWAF_WASM=$MWAF benches/peers/run.sh --out "$WORK/peers.md" --tsv "$WORK/peers.tsv" \
        || echo "peer comparison failed" >"$WORK/peers.md"
else
    echo "skipped (SKIP_PEERS)" >"$WORK/peers.md"
fi

# Linear memory per VM: `microwaf demo` (MicroWAF, every built-in on, in front of the demo
# upstream) under wrk load for a few seconds, then the proxy's own high-water-mark gauge.
VM_MEM_CMD="microwaf demo --wasm microwaf_filter.wasm; wrk -c $CONNECTIONS -d 5s /api/users; microwaf_wasm_vm_memory_peak_bytes from /metrics"
VM_MEM_BYTES=""
if [ -f "$MWAF" ] && command -v wrk >/dev/null 2>&1; then
    log "$VM_MEM_CMD"
    free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
    DEMO_PORT=$(free_port)
    ADMIN_PORT=$(free_port)
    "$MICROWAF" demo --wasm "$MWAF" --listen "127.0.0.1:$DEMO_PORT" --admin "127.0.0.1:$ADMIN_PORT" \
        >"$WORK/vm-memory.log" 2>&1 &
    DEMO_PID=$!
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$DEMO_PORT/healthz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    wrk -t1 -c "$CONNECTIONS" -d 5s "http://127.0.0.1:$DEMO_PORT/api/users" >"$WORK/vm-memory.wrk" 2>&1 || true
    VM_MEM_BYTES=$(curl -fs "http://127.0.0.1:$ADMIN_PORT/metrics" \
        | awk '/^microwaf_wasm_vm_memory_peak_bytes/ { print $2; exit }') || true
    kill "$DEMO_PID" 2>/dev/null || true
    wait "$DEMO_PID" 2>/dev/null || true
fi

# ---- figures for the targets ----------------------------------------------------------------
# num FILE KEY: a number from the pretty-printed JSON (keys of `headline` and `ratios` are unique).
num() {
    [ -f "$1" ] || return 0
    awk -v k="\"$2\":" '$1 == k { v = $2; sub(/,$/, "", v); if (v != "null") print v; exit }' "$1"
}
# peer SCENARIO TARGET BASE: median over rounds of TARGET's req/s / BASE's (BASE "" → TARGET's
# median req/s); COLUMN 5/6 instead of 4 for p50/p99 medians.
peer() {
    [ -f "$WORK/peers.tsv" ] || return 0
    awk -F'\t' -v s="$1" -v t="$2" -v b="${3:-}" -v col="${4:-4}" '
        function median(list,   n, a, i, j, x) {
            n = split(list, a, " "); if (n == 0) return ""
            for (i = 2; i <= n; i++) { x = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
            return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        NR > 1 && $1 == s { V[$2, $3] = $col; if ($3 > R) R = $3 }
        END {
            l = ""
            for (r = 1; r <= R; r++) {
                if (!((t, r) in V)) continue
                if (b == "") l = l " " V[t, r]
                else if ((b, r) in V && V[b, r] > 0) l = l " " V[t, r] / V[b, r]
            }
            m = median(l); if (m != "") print m
        }' "$WORK/peers.tsv"
}
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# verdict VALUE OP LIMIT: met / not met / not measured
verdict() {
    if [ -z "$1" ]; then echo "not measured"; return; fi
    if awk -v v="$1" -v l="$3" "BEGIN { exit !(v $2 l) }"; then echo "**met**"; else echo "**not met**"; fi
}

H1=$(peer h1-1k microwaf nginx)
H1_P99=$(peer h1-1k microwaf "" 6)
NGINX_P99=$(peer h1-1k nginx "" 6)
H1_HA=$(peer h1-1k microwaf haproxy)
H2=$(peer h2-1k microwaf nginx)
H2_HA=$(peer h2-1k microwaf haproxy)
NOOP_RATIO=$(num "$WORK/noop.json" filters_vs_proxy_rps)
NOOP_LOSS=""
if [ -n "$NOOP_RATIO" ]; then NOOP_LOSS=$(calc "%.2f" "(1 - $NOOP_RATIO) * 100"); fi
NOOP_P50=$(num "$WORK/noop.json" filters_added_p50_us)
NOOP_CPU_US=""
NOOP_CPU_F=$(num "$WORK/noop.json" filters_cpu_s_per_1k_req)
NOOP_CPU_P=$(num "$WORK/noop.json" proxy_cpu_s_per_1k_req)
if [ -n "$NOOP_CPU_F" ] && [ -n "$NOOP_CPU_P" ]; then
    # s per 1000 requests → µs per request.
    NOOP_CPU_US=$(calc "%.2f" "($NOOP_CPU_F - $NOOP_CPU_P) * 1000")
fi
ALERT_RATIO=$(num "$WORK/microwaf-4k.json" filters_vs_proxy_rps)
ALERT_RATIO_1K=$(num "$WORK/microwaf-1k.json" filters_vs_proxy_rps)
ALERT_RATIO_SENS=$(num "$WORK/microwaf-4k-sensitive.json" filters_vs_proxy_rps)
ALERT_MODSEC=$(peer h1-4k microwaf-alert nginx-modsec-crs)
RSS_KIB=$(num "$WORK/microwaf-4k.json" filters_peak_rss_kib)
RSS_MB=""
if [ -n "$RSS_KIB" ]; then RSS_MB=$(calc "%.1f" "$RSS_KIB * 1024 / 1000000"); fi
CPU_1K=$(num "$WORK/microwaf-1k.json" filters_cpu_s_per_1k_req)
# Start-up memory of the MicroWAF child (`microwaf bench` starts it twice on one module cache:
# the first start compiles, the measured one maps the cached module).
START_PEAK_KIB=$(num "$WORK/microwaf-1k.json" cached_start_peak_kib)
STEADY_KIB=$(num "$WORK/microwaf-1k.json" steady_rss_kib)
COMPILE_PEAK_KIB=$(num "$WORK/microwaf-1k.json" compiled_start_peak_kib)
START_OVER_MB="" START_PEAK_MB="" STEADY_MB="" COMPILE_PEAK_MB=""
if [ -n "$START_PEAK_KIB" ] && [ -n "$STEADY_KIB" ]; then
    START_OVER_MB=$(calc "%.1f" "($START_PEAK_KIB - $STEADY_KIB) * 1024 / 1000000")
    START_PEAK_MB=$(calc "%.1f" "$START_PEAK_KIB * 1024 / 1000000")
    STEADY_MB=$(calc "%.1f" "$STEADY_KIB * 1024 / 1000000")
fi
if [ -n "$COMPILE_PEAK_KIB" ]; then COMPILE_PEAK_MB=$(calc "%.1f" "$COMPILE_PEAK_KIB * 1024 / 1000000"); fi
VM_MEM_MIB=""
if [ -n "$VM_MEM_BYTES" ]; then VM_MEM_MIB=$(calc "%.2f" "$VM_MEM_BYTES / 1048576"); fi
f() { if [ -n "$1" ]; then calc "$2" "$1"; else echo "-"; fi; }

{
    echo "# Benchmarks"
    echo
    echo "Generated by \`scripts/bench.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') at commit \`$COMMIT\`."
    echo
    if [ -n "${NOTE:-}" ]; then echo "> $NOTE"; echo; fi
    echo "- Machine: $CORES cores, $MODEL, Linux $(uname -r); load average when the run started: $START_LOAD."
    echo "- Everything on one machine over loopback: load generator, built-in upstream and proxy share the"
    echo "  $CORES cores, so absolute figures are lower than on dedicated hosts and drift with other load;"
    echo "  the ratios come from alternating rounds measured seconds apart. Each proxy runs one worker"
    echo "  (\`microwaf serve --workers 1\`, nginx \`worker_processes 1\`, HAProxy \`nbthread 1\`)."
    echo
    echo "## Targets"
    echo
    echo "The hot-path issue (passthrough against nginx, what a no-op filter costs, memory) and the"
    echo "single-pass engine issue (what MicroWAF costs inline)."
    echo
    echo "| target | measured | status |"
    echo "| --- | --- | --- |"
    echo "| passthrough, HTTP/1.1 keep-alive, $CONNECTIONS connections, 1 KiB: req/s ≥ 1.0× nginx | $(f "$H1" "%.2f×") nginx | $(verdict "$H1" ">=" 1.0) |"
    echo "| same load: p99 ≤ nginx's p99 | $(f "$H1_P99" "%.0f") µs vs nginx $(f "$NGINX_P99" "%.0f") µs | $(if [ -n "$H1_P99" ] && [ -n "$NGINX_P99" ]; then verdict "$H1_P99" "<=" "$NGINX_P99"; else echo "not measured"; fi) |"
    echo "| same load vs HAProxy (reported) | $(f "$H1_HA" "%.2f×") HAProxy | — |"
    echo "| passthrough, HTTP/2, $CONNECTIONS connections, 1 KiB: req/s ≥ 1.0× nginx | $(f "$H2" "%.2f×") nginx, $(f "$H2_HA" "%.2f×") HAProxy | $(verdict "$H2" ">=" 1.0) |"
    echo "| no-op proxy-wasm filter: req/s loss ≤ 3 % | $(f "$NOOP_LOSS" "%.2f") % | $(verdict "$NOOP_LOSS" "<=" 3) |"
    echo "| no-op proxy-wasm filter: ≤ 2 µs added proxy CPU per request | $(f "$NOOP_CPU_US" "%+.2f") µs | $(verdict "$NOOP_CPU_US" "<=" 2) |"
    echo "| no-op proxy-wasm filter: added latency at p50 (reported) | $(f "$NOOP_P50" "%+.1f") µs | — |"
    echo "| MicroWAF all built-ins, alert, 1 KiB JSON: ≥ 0.7× passthrough req/s | $(f "$ALERT_RATIO_1K" "%.3f×") | $(verdict "$ALERT_RATIO_1K" ">=" 0.7) |"
    echo "| same, 4 KiB JSON: ≥ 0.7× passthrough req/s | $(f "$ALERT_RATIO" "%.3f×") | $(verdict "$ALERT_RATIO" ">=" 0.7) |"
    echo "| same, 4 KiB JSON full of sensitive values: ≥ 0.5× passthrough req/s | $(f "$ALERT_RATIO_SENS" "%.3f×") | $(verdict "$ALERT_RATIO_SENS" ">=" 0.5) |"
    echo "| MicroWAF alert vs nginx + ModSecurity + CRS (body inspection on): ≥ 20× req/s | $(f "$ALERT_MODSEC" "%.2f×") | $(verdict "$ALERT_MODSEC" ">=" 20) |"
    echo "| proxy RSS with MicroWAF under load ≤ 30 MB | $(f "$RSS_MB" "%.1f") MB peak (VmHWM during the timed windows) | $(verdict "$RSS_MB" "<=" 30) |"
    echo "| start-up with MicroWAF from the module cache: peak RSS ≤ steady RSS + 5 MB | $(f "$START_OVER_MB" "%+.1f") MB (VmHWM once ready $(f "$START_PEAK_MB" "%.1f") MB, VmRSS after the runs $(f "$STEADY_MB" "%.1f") MB; a first start that compiles peaks at $(f "$COMPILE_PEAK_MB" "%.1f") MB) | $(verdict "$START_OVER_MB" "<=" 5) |"
    echo "| linear memory per VM ≤ 4 MiB | $(f "$VM_MEM_MIB" "%.2f") MiB (\`microwaf_wasm_vm_memory_peak_bytes\` after 5 s of load) | $(verdict "$VM_MEM_MIB" "<=" 4) |"
    echo "| CPU per 1000 requests of 1 KiB with MicroWAF ≤ 0.1 vCPU (Istio waypoint: 0.25 vCPU per 1000 req/s) | $(f "$CPU_1K" "%.4f") vCPU·s per 1000 req | $(verdict "$CPU_1K" "<=" 0.1) |"
    echo
    echo "## Commands"
    echo
    echo '```sh'
    echo "scripts/bench.sh            # everything below, then this file"
    for name in passthrough-h1 passthrough-h2 noop microwaf-4k microwaf-1k microwaf-4k-sensitive; do
        if [ -n "${CMD[$name]:-}" ]; then echo "${CMD[$name]}"; fi
    done
    echo "$PEERS_CMD"
    echo "$VM_MEM_CMD"
    echo '```'
    echo
    echo "In the commands, \`noop.wasm\` is \`filters/target/wasm32-wasip1/release/conformance_noop.wasm\`,"
    echo "the MicroWAF filter \`filters/target/wasm32-wasip1/release/microwaf_filter.wasm\`, and the alert"
    echo "policy \`benches/peers/microwaf-alert.yaml\`."
    echo
    echo "## microwaf bench"
    echo
    echo "Variants: **direct** = load generator → built-in upstream; **proxy** = through \`microwaf serve\`"
    echo "without filters; **proxy+filters** = with the filter chain. Closed loop, latencies corrected for"
    echo "coordinated omission; CPU and RSS are the proxy child's, from \`/proc\`."
    for name in passthrough-h1 passthrough-h2 noop microwaf-4k microwaf-1k microwaf-4k-sensitive; do
        [ -f "$WORK/$name.md" ] || continue
        echo
        echo "### $name"
        echo
        echo "\`${CMD[$name]}\`"
        echo
        cat "$WORK/$name.md"
    done
    echo
    echo "## Peer comparison"
    echo
    cat "$WORK/peers.md"
    if [ -f "$ROOT/benches/PROFILE.md" ]; then
        echo
        cat "$ROOT/benches/PROFILE.md"
    fi
} | sed "s#$ROOT/##g" >"$OUT"
log "wrote $OUT"
