# Markdown tables from run.sh's TSV rows (scenario, target, round, rps, p50_us, p99_us,
# cpu_s_per_1k, peak_rss_kib, non_2xx, errors): one table per scenario, medians over rounds,
# ratios as medians of per-round ratios. Called with -F'\t' -v targets="t1 t2 …".

function median(list,   n, a, i, j, x) {
    n = split(list, a, " ")
    if (n == 0) return ""
    for (i = 2; i <= n; i++) {
        x = a[i] + 0
        for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]
        a[j + 1] = x
    }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

function add(key, v) { if (v != "-" && v != "") L[key] = L[key] " " v }

function ratio(s, t, base,   r, list) {
    list = ""
    for (r = 1; r <= maxround; r++)
        if ((s, t, r) in RPS && (s, base, r) in RPS && RPS[s, base, r] > 0)
            list = list " " RPS[s, t, r] / RPS[s, base, r]
    return list == "" ? "" : sprintf("%.2f×", median(list))
}

function num(v, fmt) { return v == "" ? "-" : sprintf(fmt, v) }

NR == 1 { next }
{
    s = $1; t = $2; r = $3
    if (!(s in seen)) { seen[s] = 1; order[++ns] = s }
    RPS[s, t, r] = $4
    if (r > maxround) maxround = r
    add(s SUBSEP t SUBSEP "rps", $4); add(s SUBSEP t SUBSEP "p50", $5)
    add(s SUBSEP t SUBSEP "p99", $6); add(s SUBSEP t SUBSEP "cpu", $7)
    if ($8 != "-" && $8 + 0 > PEAK[s, t]) PEAK[s, t] = $8 + 0
    NON[s, t] += $9; ERR[s, t] += $10; HAS[s, t] = 1
}
END {
    nt = split(targets, T, " ")
    for (i = 1; i <= ns; i++) {
        s = order[i]
        printf "\n### %s\n\n", s
        print "| target | req/s | vs nginx | vs HAProxy | vs microwaf | p50 µs | p99 µs | CPU s/1k req | peak RSS MiB | non-2xx | errors |"
        print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        for (j = 1; j <= nt; j++) {
            t = T[j]
            if (!((s, t) in HAS)) continue
            printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d |\n", t,
                num(median(L[s, t, "rps"]), "%.0f"),
                ratio(s, t, "nginx"), ratio(s, t, "haproxy"), ratio(s, t, "microwaf"),
                num(median(L[s, t, "p50"]), "%.0f"), num(median(L[s, t, "p99"]), "%.0f"),
                num(median(L[s, t, "cpu"]), "%.4f"),
                ((s, t) in PEAK) ? sprintf("%.1f", PEAK[s, t] / 1024) : "-",
                NON[s, t], ERR[s, t]
        }
    }
}
