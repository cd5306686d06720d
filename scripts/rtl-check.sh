#!/usr/bin/env bash
# Runs every tile that `deltarnn simulate --emit-rtl-inputs DIR` wrote on the authors' RTL under
# Verilator (scripts/rtl-build.sh builds one testbench per format and shape, cached), and writes
# each tile's <tile>/rtl.json: the cycles the testbench measured for MxV_SP, MTxV_SP and VXV_SP,
# and its verdict on the values (it compares every output word with the simulator's). Then
# `deltarnn simulate --compare-rtl DIR` prints RTL against simulator.
#   scripts/rtl-check.sh DIR [RTL_DIR]   (default RTL_DIR: $DELTARNN_RTL, else ../shared/reference/reneta/HDL)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-}"
rtl="${2:-${DELTARNN_RTL:-$here/../shared/reference/reneta/HDL}}"
if [ -z "$dir" ] || [ ! -f "$dir/manifest.json" ]; then
    echo "error: usage: scripts/rtl-check.sh DIR, where DIR holds the manifest.json of deltarnn simulate --emit-rtl-inputs DIR" >&2
    exit 2
fi
dir="$(cd "$dir" && pwd)"
# format, then one "tile-folder columns rows" line per tile.
listing="$(python3 - "$dir/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(m["format"])
for t in m["tiles"]:
    print(t["dir"], t["columns"], t["rows"])
PY
)" || { echo "error: cannot read $dir/manifest.json" >&2; exit 1; }
format="$(head -n1 <<<"$listing")"
case "$format" in fxp16) variant=fxp ;; bf16) variant=bf16 ;; *) echo "error: unknown format '$format' in $dir/manifest.json" >&2; exit 1 ;; esac
tail -n +2 <<<"$listing" | while read -r tile columns rows; do
    tb="$(bash "$here/scripts/rtl-build.sh" "$variant" "$columns" "$rows" "$rtl")"
    # The testbench reads ../../../../dat relative to where it runs.
    mkdir -p "$dir/$tile/run/a/b/c"
    start=$(date +%s)
    if ! (cd "$dir/$tile/run/a/b/c" && timeout 1800 "$tb" > "$dir/$tile/rtl.log" 2>&1); then
        echo "error: the RTL testbench failed on $tile; see $dir/$tile/rtl.log" >&2
        exit 1
    fi
    python3 - "$dir/$tile/rtl.log" "$dir/$tile/rtl.json" <<'PY'
import json, re, sys
log = open(sys.argv[1]).read()
cycles, values = [], []
for name in ("MxV_SP", "MTxV_SP", "VXV_SP"):
    m = re.search(r"\[%s\] Cycles consumed = (\d+)\." % name, log)
    if not m:
        sys.exit("error: no cycle count for %s in %s" % (name, sys.argv[1]))
    cycles.append(int(m.group(1)))
    bad = re.search(r"\[%s\] CCM output incorrect! \(num_err_chk = (\d+)\)" % name, log)
    ok = re.search(r"\[%s\] CCM output correct\." % name, log)
    values.append("incorrect (%s words)" % bad.group(1) if bad else ("correct" if ok else "no verdict"))
json.dump({"cycles": cycles, "values": values}, open(sys.argv[2], "w"))
PY
    echo "$tile: ${columns} columns x ${rows} rows on the $format RTL in $(( $(date +%s) - start )) s" >&2
done
