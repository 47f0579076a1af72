#!/usr/bin/env python3
"""callgrind_share.py - sock_test --owner=busy under callgrind: the task-work
machinery in instructions, per item and as a share, for both variants.

Instruction counts (Ir) repeat run to run where wall-clock times on a shared
2-vCPU machine do not. What counts as machinery (sock_test wraps both sides in
out-of-line functions for this, see owner.cpp and receiver.hpp):

  run side  = inclusive Ir of run_task_work()      (run(): pops,
              or take + reverse + retry list, dispatch, the pending flag)
              minus the inclusive Ir of the item callbacks it calls
              (buffer::on_run: the payload)
  add side  = inclusive Ir of add_task_work()      (local_work::add or
              llist_local_work::add: gate, push, wake rule)
  reverse   = the run side's Ir on llist.hpp lines (llist::reverse, inlined;
              legacy only; part of the run side)
  payload   = the inclusive Ir of the item callbacks (verify the buffer's
              bytes, queue it for return)
  share     = (run side + add side) / (run side + add side + payload): the
              machinery's part of the task-work path, as bench S5 defines it

Not the seed's denominator: valgrind sees user space only (the kernel's TCP
work, most of the CPU time natively, is invisible), and the owner loop's own
instrumentation (getrusage, stats) is left out. Instruction counts also miss
what deep lists cost natively - cache misses on items another core wrote -
so compare these with the TSC figures of a native run, not instead of them.
valgrind runs one thread at a time, so the lists are shorter than natively
(it/run is printed from sock_test's own line).

The receiver is epoll + recv(): io_uring multishot receive does not deliver
under valgrind 3.19 (nothing arrives).

usage: callgrind_share.py [--binary=PATH] [--clients=8,1024] [--variants=legacy,mpscq]
                          [--own-iters=3000] [--max-mib=32] [--out-dir=DIR]
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile


def parse_callgrind(path):
    """Self Ir per function, Ir per (function, source file), and call edges
    (caller, callee) -> [count, inclusive Ir]. Handles name compression and
    relative positions (only the first event, Ir, is used)."""
    names = {"fn": {}, "fl": {}}
    self_ir = collections.Counter()
    by_file = collections.Counter()
    edges = collections.defaultdict(lambda: [0, 0])
    total = 0
    fn = fl = fi = cfn = None
    pending_call = None

    def resolve(kind, text):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?$", text)
        if not m:
            return text
        key, name = m.group(1), m.group(2)
        table = names["fn" if kind == "fn" else "fl"]
        if name is not None:
            table[key] = name
        return table.get(key, "?")

    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                if len(parts) < 2:
                    continue
                ir = int(parts[1])
                if pending_call is not None:
                    e = edges[(fn, pending_call[0])]
                    e[0] += pending_call[1]
                    e[1] += ir
                    pending_call = None
                else:
                    self_ir[fn] += ir
                    by_file[(fn, fi or fl)] += ir
                    total += ir
                continue
            key, _, val = line.partition("=")
            if key == "fn":
                fn = resolve("fn", val)
                fi = None
            elif key == "fl":
                fl = resolve("fl", val)
                fi = None
            elif key in ("fi", "fe"):
                fi = resolve("fl", val)
            elif key in ("cfi", "cfl"):
                resolve("fl", val)
            elif key == "cfn":
                cfn = resolve("fn", val)
            elif key == "calls":
                pending_call = (cfn, int(val.split()[0]))
    return total, self_ir, by_file, edges


def summarize(path):
    total, self_ir, by_file, edges = parse_callgrind(path)

    def incl(pred):
        # Inclusive Ir of the functions matching pred: the Ir of the call
        # edges into them from outside (no recursion here).
        ir = calls = 0
        for (caller, callee), (n, cost) in edges.items():
            if pred(callee) and not pred(caller):
                ir += cost
                calls += n
        return ir, calls

    is_run = lambda f: f is not None and "run_task_work<" in f
    is_item = lambda f: f is not None and "::on_run(" in f
    is_add = lambda f: f is not None and "add_task_work<" in f
    is_own = lambda f: f is not None and "own_work(" in f
    run_ir, run_calls = incl(is_run)
    item_ir, items = incl(is_item)
    add_ir, adds = incl(is_add)
    own_ir, _ = incl(is_own)
    # llist.hpp is used only by the legacy variant's run side (the reverse
    # pass; its add has its own loop), inlined into whichever run function.
    reverse_ir = sum(ir for (f, file), ir in by_file.items()
                     if file and file.endswith("/llist.hpp") and not is_add(f) and "::add(" not in (f or ""))
    return {
        "total": total, "own": own_ir, "run": run_ir - item_ir, "add": add_ir, "items": items, "adds": adds,
        "run_calls": run_calls, "reverse": reverse_ir, "payload": item_ir,
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(here, "..", "..", "build", "release", "examples", "sock_test"))
    ap.add_argument("--clients", default="8,1024")
    ap.add_argument("--variants", default="legacy,mpscq")
    ap.add_argument("--own-iters", type=int, default=3000)
    ap.add_argument("--max-mib", type=int, default=32)
    ap.add_argument("--out-dir", default=None)
    a = ap.parse_args()
    out_dir = a.out_dir or tempfile.mkdtemp(prefix="sock_test_cg.")
    os.makedirs(out_dir, exist_ok=True)
    print("callgrind, sock_test --owner=busy --receiver=epoll --own-iters=%d --max-mib=%d (user-space Ir only)"
          % (a.own_iters, a.max_mib))
    print("%7s %-6s | %7s %6s | %8s %8s %8s %8s | %7s %9s | %s" % (
        "clients", "var", "items", "it/run", "run/it", "add/it", "rev/it", "mach/it", "pay/it", "share%",
        "seed (kernel perf)"))
    seed = {("legacy", 8): "2.64%", ("mpscq", 8): "2.11%", ("legacy", 1024): "3.50%", ("mpscq", 1024): "1.32%"}
    ok = True
    for clients in [int(c) for c in a.clients.split(",")]:
        for var in a.variants.split(","):
            out = os.path.join(out_dir, "cg.%s.%d" % (var, clients))
            cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, a.binary, "--owner=busy",
                   "--receiver=epoll", "--own-iters=%d" % a.own_iters, "--max-mib=%d" % a.max_mib, "--seconds=60",
                   "--clients=%d" % clients, "--reps=1", "--variants=" + var]
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                ok = False
                sys.stderr.write("sock_test failed under callgrind (%d):\n%s\n%s\n" % (p.returncode, p.stdout, p.stderr[-2000:]))
                continue
            s = summarize(out)
            n = max(s["items"], 1)
            it_run = s["items"] / max(s["run_calls"], 1)
            mach = s["run"] + s["add"]
            denom = mach + s["payload"]
            print("%7d %-6s | %7d %6.1f | %8.1f %8.1f %8.1f %8.1f | %7.0f %9.3f | %s" % (
                clients, var, s["items"], it_run, s["run"] / n, s["add"] / max(s["adds"], 1), s["reverse"] / n,
                mach / n, s["payload"] / n, 100.0 * mach / denom if denom > 0 else 0, seed.get((var, clients), "-")))
            sys.stdout.flush()
    print("Ir per item: run/it run side (run_task_work minus the callbacks), add/it add_task_work, rev/it of run/it\n"
          "  the llist reverse pass, mach/it = run + add, pay/it the callback (memcmp of the buffer + bookkeeping);\n"
          "  share%% = machinery Ir / (machinery + payload Ir), user space only. Files: %s" % out_dir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
