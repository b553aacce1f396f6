#!/usr/bin/env bash
# Peer comparison: the same load against the built-in upstream directly, nginx, HAProxy,
# nginx + ModSecurity + OWASP CRS, and microwaf (passthrough, MicroWAF alert mode, MicroWAF
# block mode), all reverse proxies on 127.0.0.1 in front of one `microwaf bench --upstream-only`.
# Rounds alternate (the order rotates every round); the table holds medians over rounds, and
# ratios are medians of per-round ratios (pairs measured seconds apart share the machine's state).
#
# Usage: benches/peers/run.sh [--out FILE.md] [--tsv FILE.tsv]
# Environment (defaults):
#   DURATION=10 WARMUP=2 ROUNDS=3   seconds per measurement, untimed warm-up before it, rounds
#   CONNECTIONS=64 STREAMS=1        load connections; HTTP/2 streams per connection (h2load -m)
#   WORKERS=1                       nginx worker_processes, HAProxy nbthread, microwaf --workers
#   SCENARIOS="h1-1k h2-1k h1-4k h1-4k-sensitive"
#   PORT_BASE=18080                 ports PORT_BASE..PORT_BASE+6 on 127.0.0.1
#   MICROWAF=target/release/microwaf (built unless MICROWAF is set)
#   MICROWAF_WASM=filters/target/wasm32-wasip1/release/microwaf_filter.wasm (built if missing)
# Installs nginx, HAProxy, ModSecurity + CRS, wrk and h2load with apt-get when missing (root,
# or sudo without a password); otherwise it says what to install and stops.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
STREAMS=${STREAMS:-1}
WORKERS=${WORKERS:-1}
SCENARIOS=${SCENARIOS:-"h1-1k h2-1k h1-4k h1-4k-sensitive"}
PORT_BASE=${PORT_BASE:-18080}
OUT="$HERE/results.md"
TSV=""
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --tsv) TSV=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

log() { echo "[peers] $*" >&2; }

# ---- installation -------------------------------------------------------------------------
MODSEC_SO=/usr/lib/nginx/modules/ngx_http_modsecurity_module.so
CRS_SETUP=/etc/modsecurity/crs/crs-setup.conf
PACKAGES="nginx haproxy libnginx-mod-http-modsecurity modsecurity-crs wrk nghttp2-client"

missing() {
    local m=""
    for c in nginx haproxy wrk h2load; do
        command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || m="$m $c"
    done
    [ -f "$MODSEC_SO" ] || m="$m modsecurity-module"
    [ -f "$CRS_SETUP" ] || m="$m crs"
    echo "$m"
}

install_peers() {
    local m; m=$(missing)
    [ -z "$m" ] && return 0
    log "missing:$m; installing $PACKAGES"
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo"
        else
            echo "error: missing:$m. Installing needs root. Run:" >&2
            echo "  sudo apt-get update && sudo apt-get install -y $PACKAGES" >&2
            echo "then run this script again (it does not need root itself)." >&2
            exit 2
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: missing:$m and no apt-get: install $PACKAGES (Debian names) by hand" >&2
        exit 2
    fi
    # Debian starts nginx and HAProxy as services on install where an init system runs; this
    # script runs its own instances on its own ports, so those are left alone.
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $PACKAGES >/dev/null
    m=$(missing)
    if [ -n "$m" ]; then
        echo "error: still missing after apt-get:$m" >&2
        exit 2
    fi
}

install_peers
export PATH="$PATH:/usr/sbin:/sbin"

# ---- microwaf and the MicroWAF filter -------------------------------------------------------
if [ -z "${MICROWAF:-}" ]; then
    log "building microwaf (release)"
    (cd "$ROOT" && cargo build --release --locked -p microwaf-proxy --bin microwaf >&2)
    MICROWAF="$ROOT/target/release/microwaf"
fi
WASM=${MICROWAF_WASM:-$ROOT/filters/target/wasm32-wasip1/release/microwaf_filter.wasm}
if [ ! -f "$WASM" ] && [ -z "${MICROWAF_WASM:-}" ]; then
    log "building the MicroWAF filter (wasm32-wasip1, release)"
    (cd "$ROOT/filters" && cargo build --release --locked --target wasm32-wasip1 -p microwaf-filter >&2) \
        || log "could not build the MicroWAF filter"
fi
FILTER_NOTE=""
if [ ! -f "$WASM" ]; then
    FILTER_NOTE="MicroWAF rows not run: no filter at $WASM"
    log "$FILTER_NOTE"
fi

# ---- processes ---------------------------------------------------------------------------
RUN=$(mktemp -d "${TMPDIR:-/tmp}/microwaf-peers.XXXXXX")
chmod 755 "$RUN"   # nginx workers may run as another user
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$RUN"
}
trap cleanup EXIT

UP_PORT=$PORT_BASE
declare -A PORT=([direct]=$PORT_BASE [nginx]=$((PORT_BASE + 1)) [haproxy]=$((PORT_BASE + 2))
    [nginx-modsec-crs]=$((PORT_BASE + 3)) [microwaf]=$((PORT_BASE + 4))
    [microwaf-alert]=$((PORT_BASE + 5)) [microwaf-block]=$((PORT_BASE + 6)))
TARGETS="direct nginx haproxy nginx-modsec-crs microwaf microwaf-alert microwaf-block"
declare -A PID=()

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
    local port=$1 pid=$2 name=$3 i
    for i in $(seq 1 600); do
        port_open "$port" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "error: $name exited before listening on $port; its log:" >&2
            cat "$RUN/$name.log" >&2 || true
            exit 1
        fi
        sleep 0.1
    done
    echo "error: $name not listening on $port after 60 s" >&2
    exit 1
}

# render TEMPLATE OUT KEY=VALUE...: replaces every @KEY@ literally (values may span lines).
render() {
    local tpl=$1 out=$2; shift 2
    env "$@" awk -v keys="$(printf '%s\n' "$@" | sed 's/=.*//' | tr '\n' ' ')" '
        function repl(s, k, v,   i, o) {
            o = ""
            while ((i = index(s, k)) > 0) { o = o substr(s, 1, i - 1) v; s = substr(s, i + length(k)) }
            return o s
        }
        BEGIN { n = split(keys, K, " ") }
        { for (j = 1; j <= n; j++) $0 = repl($0, "@" K[j] "@", ENVIRON[K[j]]); print }
    ' "$tpl" >"$out"
}

start() { # start NAME COMMAND...: background process with its log in $RUN
    local name=$1; shift
    "$@" >"$RUN/$name.log" 2>&1 &
    PID[$name]=$!
    PIDS+=("$!")
}

microwaf_filters() { # the `filters:` value of microwaf.yaml.in for a policy file (or none)
    if [ -z "${1:-}" ]; then echo "[]"; return; fi
    printf '\n      - name: microwaf\n        code: %s\n        config: |\n' "$WASM"
    sed 's/^/          /' "$1"
}

start_targets() { # start_targets PROTO: every peer for one scenario
    local proto=$1 listen_opts="" bind_opts="" codec=http1
    if [ "$proto" = h2 ]; then listen_opts="http2"; bind_opts="proto h2"; codec=http2; fi
    local up="127.0.0.1:$UP_PORT"
    render "$HERE/nginx.conf.in" "$RUN/nginx.conf" WORKERS="$WORKERS" RUN="$RUN" NAME=plain \
        LOAD_MODULE="" UPSTREAM="$up" LISTEN="127.0.0.1:${PORT[nginx]}" LISTEN_OPTS="$listen_opts" \
        MODSECURITY=""
    start nginx nginx -p "$RUN" -c "$RUN/nginx.conf"
    render "$HERE/nginx.conf.in" "$RUN/nginx-modsec.conf" WORKERS="$WORKERS" RUN="$RUN" NAME=modsec \
        LOAD_MODULE="load_module $MODSEC_SO;" UPSTREAM="$up" \
        LISTEN="127.0.0.1:${PORT[nginx-modsec-crs]}" LISTEN_OPTS="$listen_opts" \
        MODSECURITY="modsecurity on; modsecurity_rules_file $HERE/modsecurity.conf;"
    start nginx-modsec-crs nginx -p "$RUN" -c "$RUN/nginx-modsec.conf"
    render "$HERE/haproxy.cfg.in" "$RUN/haproxy.cfg" WORKERS="$WORKERS" UPSTREAM="$up" \
        LISTEN="127.0.0.1:${PORT[haproxy]}" BIND_OPTS="$bind_opts"
    start haproxy haproxy -db -f "$RUN/haproxy.cfg"
    local name policy
    for name in microwaf microwaf-alert microwaf-block; do
        case $name in
            microwaf) policy="" ;;
            microwaf-alert) policy="$HERE/microwaf-alert.yaml" ;;
            microwaf-block) policy="$HERE/microwaf-block.yaml" ;;
        esac
        if [ -n "$policy" ] && [ ! -f "$WASM" ]; then continue; fi
        render "$HERE/microwaf.yaml.in" "$RUN/$name.yaml" LISTEN="127.0.0.1:${PORT[$name]}" \
            CODEC="$codec" UPSTREAM="$up" FILTERS="$(microwaf_filters "$policy")"
        MICROWAF_LOG=warn start "$name" "$MICROWAF" serve --config "$RUN/$name.yaml" --workers "$WORKERS"
    done
    for name in $TARGETS; do
        [ "$name" = direct ] && continue
        if [ -n "${PID[$name]:-}" ]; then wait_port "${PORT[$name]}" "${PID[$name]}" "$name"; fi
    done
}

stop_all() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    PIDS=()
    PID=()
}

# ---- /proc readings of a target's process tree ---------------------------------------------
TCK=$(getconf CLK_TCK)
tree() { # the pid and its children (nginx: master and workers)
    local root=$1
    echo "$root"
    awk -v r="$root" '{ sub(/^.*\) /, ""); if ($2 == r) print FILENAME }' /proc/[0-9]*/stat 2>/dev/null \
        | sed 's#/proc/\([0-9]*\)/stat#\1#'
}
cpu_ticks() { # utime + stime summed over pids
    local t=0 p v
    for p in "$@"; do
        v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$((t + v))
    done
    echo "$t"
}
peak_kib() { # VmHWM summed over pids
    local t=0 p v
    for p in "$@"; do
        v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}

# ---- load -----------------------------------------------------------------------------------
to_us() { # wrk durations: 12.34us / 1.23ms / 1.02s / 1.5m
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000
        else if (v ~ /m$/) print n * 60000000; else if (v ~ /s$/) print n * 1000000; else print n
    }'
}

# load PROTO URL SECONDS [OUTFILE]: prints "rps p50_us p99_us requests non2xx errors"
load() {
    local proto=$1 url=$2 secs=$3 out=$RUN/load.out
    if [ "$proto" = h1 ]; then
        wrk -t1 -c"$CONNECTIONS" -d"${secs}s" --latency "$url" >"$out" 2>&1 || true
        local rps p50 p99 reqs non2xx errs
        rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
        p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$out")")
        p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$out")")
        reqs=$(awk '/requests in/ { print $1 }' "$out")
        non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
        errs=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$out")
        echo "${rps:-0} ${p50:-0} ${p99:-0} ${reqs:-0} ${non2xx:-0} ${errs:-0}"
    else
        rm -f "$RUN/h2.log"
        h2load -t1 -c"$CONNECTIONS" -m"$STREAMS" -D "$secs" --log-file="$RUN/h2.log" "$url" >"$out" 2>&1 || true
        local rps reqs non2xx errs pct
        rps=$(awk '/^finished in/ { for (i = 1; i <= NF; i++) if ($i == "req/s,") print $(i - 1) }' "$out")
        # requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout
        reqs=$(awk '/^requests:/ { print $6 }' "$out")
        # status codes: N 2xx, N 3xx, N 4xx, N 5xx
        non2xx=$(awk '/^status codes:/ { print $5 + $7 + $9 }' "$out")
        errs=$(awk '/^requests:/ { print $12 + $14 }' "$out")
        pct=$(sort -n -k3 "$RUN/h2.log" 2>/dev/null | awk '{ v[NR] = $3 } END {
            if (NR == 0) { print "0 0"; exit }
            i50 = int(NR * 0.50); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
            print v[i50], v[i99] }')
        echo "${rps:-0} ${pct% *} ${pct#* } ${reqs:-0} ${non2xx:-0} ${errs:-0}"
    fi
}

RESULTS=$RUN/results.tsv
printf 'scenario\ttarget\tround\trps\tp50_us\tp99_us\tcpu_s_per_1k\tpeak_rss_kib\tnon_2xx\terrors\n' >"$RESULTS"

measure() { # measure SCENARIO PROTO TARGET ROUND
    local scenario=$1 proto=$2 target=$3 round=$4
    local url="http://127.0.0.1:${PORT[$target]}/bench"
    local pids="" p
    if [ "$target" != direct ]; then pids=$(tree "${PID[$target]}"); fi
    load "$proto" "$url" "$WARMUP" >/dev/null
    # shellcheck disable=SC2086
    for p in $pids; do echo 5 >"/proc/$p/clear_refs" 2>/dev/null || true; done
    local c0 c1 res
    # shellcheck disable=SC2086
    c0=$(cpu_ticks $pids)
    res=$(load "$proto" "$url" "$DURATION")
    # shellcheck disable=SC2086
    c1=$(cpu_ticks $pids)
    local rps p50 p99 reqs non2xx errs cpu="-" peak="-"
    read -r rps p50 p99 reqs non2xx errs <<<"$res"
    if [ -n "$pids" ] && [ "${reqs:-0}" -gt 0 ]; then
        cpu=$(awk -v d=$((c1 - c0)) -v t="$TCK" -v n="$reqs" 'BEGIN { printf "%.4f", d / t * 1000 / n }')
        # shellcheck disable=SC2086
        peak=$(peak_kib $pids)
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$target" "$round" "$rps" "$p50" "$p99" \
        "$cpu" "$peak" "$non2xx" "$errs" >>"$RESULTS"
    log "$scenario round $round/$ROUNDS $target: $rps req/s p50 ${p50} µs p99 ${p99} µs cpu/1k $cpu peak ${peak} KiB non-2xx $non2xx errors $errs"
}

# ---- scenarios ------------------------------------------------------------------------------
for scenario in $SCENARIOS; do
    case $scenario in
        h1-1k) proto=h1 size=1024 content=json ;;
        h2-1k) proto=h2 size=1024 content=json ;;
        h1-4k) proto=h1 size=4096 content=json ;;
        h1-4k-sensitive) proto=h1 size=4096 content=json-sensitive ;;
        *) echo "unknown scenario $scenario" >&2; exit 2 ;;
    esac
    for p in $(seq "$PORT_BASE" $((PORT_BASE + 6))); do
        if port_open "$p"; then echo "error: 127.0.0.1:$p is in use (set PORT_BASE)" >&2; exit 1; fi
    done
    log "scenario $scenario: $proto, $size B $content, $CONNECTIONS connections, $ROUNDS rounds of ${DURATION}s"
    start upstream "$MICROWAF" bench --upstream-only --listen "127.0.0.1:$UP_PORT" \
        --body-size "$size" --content "$content" --upstream-threads 1
    wait_port "$UP_PORT" "${PID[upstream]}" upstream
    start_targets "$proto"
    present=""
    for t in $TARGETS; do
        if [ "$t" = direct ] || [ -n "${PID[$t]:-}" ]; then present="$present $t"; fi
    done
    read -r -a order <<<"$present"
    for round in $(seq 1 "$ROUNDS"); do
        n=${#order[@]}
        for i in $(seq 0 $((n - 1))); do
            measure "$scenario" "$proto" "${order[$(((i + round - 1) % n))]}" "$round"
        done
    done
    stop_all
done

# ---- report ---------------------------------------------------------------------------------
if [ -n "$TSV" ]; then cp "$RESULTS" "$TSV"; fi
{
    echo "<!-- written by benches/peers/run.sh; raw rows: --tsv FILE -->"
    echo "Load: ${CONNECTIONS} connections, wrk (HTTP/1.1, \`-t1 --latency\`) or h2load (HTTP/2 prior knowledge, \`-t1 -m${STREAMS}\`), ${ROUNDS} alternating rounds of ${DURATION} s after ${WARMUP} s warm-up each; ${WORKERS} worker(s) per proxy. Medians over rounds; ratios are medians of per-round ratios. CPU = the proxy's CPU seconds per 1000 requests (= vCPU per 1000 req/s), peak RSS = VmHWM during the run, summed over the proxy's processes."
    if [ -n "$FILTER_NOTE" ]; then printf '\n%s.\n' "$FILTER_NOTE"; fi
    awk -F'\t' -v targets="$TARGETS" -f "$HERE/table.awk" "$RESULTS"
}  >"$OUT"
log "wrote $OUT"
