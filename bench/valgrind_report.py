#!/usr/bin/env python3
"""Per-item counts from the callgrind dumps of `mpscq-bench --valgrind MODE`.

Usage: bench/valgrind_report.py callgrind|cachegrind DIR

Each dump is one measured region; its trigger names it, e.g.
"S1 mpscq::queue N=1024 items=1024" or "S4 mpscq::queue K=8 scattered items=32";
L1 regions are local_work's add path alone ("L1 mpscq::local_work add(lazy) N=1024
items=1024": per add; "... add_batch(lazy) K=8 items=128": per add_batch call).
callgrind: instructions (Ir) per item, and the excess over the plain-array
floor of the same case. cachegrind: Ir, D1 misses (read + write) and
last-level misses (read + write) per item, from valgrind's cache simulator.
"""
import glob
import os
import re
import sys
from collections import OrderedDict

FLOOR = "plain array (1 thread only)"
REF = "mpscq::queue"


def parse(path):
    label, events, totals = None, None, None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("desc: Trigger: Client Request: "):
                label = line.split("Client Request: ", 1)[1].strip()
            elif line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith("summary:") or line.startswith("totals:"):
                totals = [int(x) for x in line.split()[1:]]
    if label is None or events is None or totals is None:
        return None
    return label, dict(zip(events, totals))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("callgrind", "cachegrind"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, d = sys.argv[1], sys.argv[2]
    groups = OrderedDict()  # (scenario, case) -> OrderedDict(contender -> (items, counts))
    files = sorted(glob.glob(os.path.join(d, "callgrind.out.*")),
                   key=lambda p: int(p.rsplit(".", 1)[1]) if p.rsplit(".", 1)[1].isdigit() else 0)
    for path in files:
        got = parse(path)
        if not got:
            continue
        label, counts = got
        m = re.match(r"([SL]\d) (.*) ((?:N|K)=\d+(?: \w+)?) items=(\d+)$", label)
        if not m:
            continue
        scenario, contender, case, items = m.group(1), m.group(2), m.group(3), int(m.group(4))
        groups.setdefault((scenario, case), OrderedDict())[contender] = (items, counts)
    if not groups:
        print("valgrind_report: no measured regions found in", d, file=sys.stderr)
        return 1

    if mode == "callgrind":
        print("\nInstructions per item (callgrind; repeatable to the instruction). S1: one push + one pop;"
              " S4: the consumer's drain of one item; L1: local_work's add path alone, per add()/try_add() (N=)"
              " or per add_batch() call of K items (K=), the owner adding to an idle queue.")
        w = max([34] + [len(k) for rows in groups.values() for k in rows])
        print("  %-20s %-*s %12s %14s %10s" % ("case", w, "contender", "Ir/item", "above floor", "vs queue"))
        for (scenario, case), rows in groups.items():
            floor = rows.get(FLOOR)
            ref = rows.get(REF)
            first = True
            for contender, (items, c) in rows.items():
                ir = c.get("Ir", 0) / items
                above = "%+.1f" % (ir - floor[1]["Ir"] / floor[0]) if floor else "-"
                vs = "%.2f" % (ir / (ref[1]["Ir"] / ref[0])) if ref and ref[1]["Ir"] else "-"
                print("  %-20s %-*s %12.1f %14s %10s" % (scenario + " " + case if first else "", w, contender, ir,
                                                        above, vs))
                first = False
    else:
        print("\nSimulated cache misses per item (valgrind's cache simulator, the one cachegrind uses;"
              " repeatable exactly). S4: the consumer's drain; scattered = items over 64 MiB,"
              " a 96 MiB buffer touched before each drain;"
              " simulated D1 48 KiB 12-way, LL 32 MiB 16-way unless MPSCQ_BENCH_CACHES says otherwise.")
        print("  %-22s %-34s %10s %12s %12s" % ("case", "contender", "Ir/item", "D1 miss/item", "LL miss/item"))
        for (scenario, case), rows in groups.items():
            first = True
            for contender, (items, c) in rows.items():
                d1 = (c.get("D1mr", 0) + c.get("D1mw", 0)) / items
                ll = (c.get("DLmr", 0) + c.get("DLmw", 0)) / items
                print("  %-22s %-34s %10.1f %12.2f %12.2f" % (scenario + " " + case if first else "", contender,
                                                             c.get("Ir", 0) / items, d1, ll))
                first = False
    return 0


if __name__ == "__main__":
    sys.exit(main())
