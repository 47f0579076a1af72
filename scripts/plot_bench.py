#!/usr/bin/env python3
"""Plot mpscq-bench's CSV: one panel per scenario (and key metric).

Usage: scripts/plot_bench.py out/bench.csv out/bench.png

Each panel groups bars by case; one bar per contender (the same colour in
every panel) at the median over repetitions, with a min-max whisker, and the
median of per-repetition ratios to the panel's reference written on the bar.
Panels whose values span more than 30x use a log scale.
"""
import csv
import math
import statistics
import sys
from collections import OrderedDict, defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# (scenario, metric, title); panels without data are skipped.
PANELS = [
    ("S1", "ns/item", "S1 single thread: push N, pop N (ns/item)"),
    ("S2", "M items/s", "S2 1P1C pinned, consumer spins (M items/s)"),
    ("S2b", "M items/s", "S2 1P1C pinned, consumer sleeps (M items/s)"),
    ("S3", "M items/s", "S3 oversubscribed producers (M items/s)"),
    ("S4", "consumer ns/item", "S4 drain K items (consumer ns/item)"),
    ("S5", "M items/s", "S5 task work, seed's clients (M items/s)"),
    ("S5", "machinery %", "S5 machinery share (% of owner+add time)"),
    ("S6", "latency median us", "S6 eager add to sleeping owner (us, median)"),
    ("S6", "latency p99 us", "S6 eager add to sleeping owner (us, p99)"),
    ("S6b", "owner sleeps/cycle", "S6 owner sleeps per lazy wait cycle"),
    ("S6c", "ns/item", "S6 task-work add+run cost (ns/item)"),
    ("S7", "M items/s", "S7 producer scaling (M items/s)"),
]


def load(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            try:
                r["value"] = float(r["value"])
            except ValueError:
                continue
            r["ratio"] = float(r["ratio_to_reference"]) if r["ratio_to_reference"] else math.nan
            rows.append(r)
    return rows


# mpscq's own contenders in blue, the llist baseline it replaces in orange,
# everyone else from a palette without those two hues.
FIXED = {
    "mpscq::queue": "#08519c",
    "mpscq::local_work": "#08519c",
    "mpscq::queue+futex": "#6baed6",
    "mpscq::llist (del_all+reverse)": "#e6550d",
    "baseline::llist_local_work": "#e6550d",
    "plain array (1 thread only)": "#969696",
    "bare exchange (ceiling)": "#252525",
}
PALETTE = ["#31a354", "#a1d99b", "#756bb1", "#bcbddc", "#d62728", "#ff9896", "#8c564b", "#c49c94",
           "#e377c2", "#f7b6d2", "#bcbd22", "#dbdb8d", "#17becf", "#9edae5", "#637939", "#8ca252",
           "#7b4173", "#a55194", "#843c39", "#ad494a", "#393b79", "#5254a3"]


def assign_colours(contenders):
    colour, i = {}, 0
    for c in contenders:
        if c in FIXED:
            colour[c] = FIXED[c]
        else:
            colour[c] = PALETTE[i % len(PALETTE)]
            i += 1
    return colour


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    rows = load(sys.argv[1])
    contenders = list(OrderedDict.fromkeys(r["contender"] for r in rows if r["scenario"] != "probe"))
    colour = assign_colours(contenders)

    panels = []
    for sc, metric, title in PANELS:
        sel = [r for r in rows if r["scenario"] == sc and r["metric"] == metric]
        if sel:
            panels.append((sc, metric, title, sel))
    if not panels:
        print("plot_bench: no data in", sys.argv[1], file=sys.stderr)
        return 1

    ncols = 3
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(8.5 * ncols, 5.6 * nrows), squeeze=False)
    probe = [r["value"] for r in rows if r["scenario"] == "probe"]
    subtitle = ""
    if probe:
        subtitle = " | core-to-core handoff probe: median %.0f ns (min %.0f, max %.0f)" % (
            statistics.median(probe), min(probe), max(probe))
    fig.suptitle("mpscq-bench: bars = median over repetitions, whiskers = min..max, "
                 "labels = median of per-repetition ratios to the reference (x1.00)" + subtitle,
                 fontsize=13)

    for ax, (sc, metric, title, sel) in zip(axes.flat, panels):
        cases = list(OrderedDict.fromkeys(r["case"] for r in sel))
        who = [c for c in contenders if any(r["contender"] == c for r in sel)]
        ref = sel[0]["reference"]
        better = sel[0]["better"]
        width = 0.84 / max(1, len(who))
        vals = defaultdict(list)
        ratios = defaultdict(list)
        for r in sel:
            vals[(r["case"], r["contender"])].append(r["value"])
            if not math.isnan(r["ratio"]):
                ratios[(r["case"], r["contender"])].append(r["ratio"])
        positive = [v for vs in vals.values() for v in vs if v > 0]
        log = bool(positive) and max(positive) / max(min(positive), 1e-12) > 30
        for j, c in enumerate(who):
            xs, ys, lo, hi, labels = [], [], [], [], []
            for i, case in enumerate(cases):
                v = vals.get((case, c))
                if not v:
                    continue
                med = statistics.median(v)
                xs.append(i - 0.42 + width * (j + 0.5))
                ys.append(med)
                lo.append(max(0.0, med - min(v)))
                hi.append(max(0.0, max(v) - med))
                rr = ratios.get((case, c))
                labels.append(("x%.2f" % statistics.median(rr)) if rr else "")
            if not xs:
                continue
            ys_plot = [max(y, 1e-3) if log else y for y in ys]
            ax.bar(xs, ys_plot, width * 0.95, color=colour[c], label=c, yerr=[lo, hi], capsize=1.5,
                   error_kw={"elinewidth": 0.6, "ecolor": "#333333"})
            for x, y, lab in zip(xs, ys_plot, labels):
                if lab:
                    ax.annotate(lab, (x, y), xytext=(0, 2), textcoords="offset points", ha="center",
                                va="bottom", rotation=90, fontsize=6.5)
        if log:
            ax.set_yscale("log")
        ax.set_xticks(range(len(cases)))
        ax.set_xticklabels(cases, fontsize=9)
        ax.set_title("%s\n(%s is better; ratios to %s)" % (title, better, ref), fontsize=10.5)
        ax.set_axisbelow(True)
        ax.grid(axis="y", alpha=0.3, which="major")
        ax.margins(y=0.25)
        if log:
            lo_lim, hi_lim = ax.get_ylim()
            ax.set_ylim(lo_lim, hi_lim * 3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")

    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[c]) for c in contenders]
    fig.legend(handles, contenders, loc="lower center", ncol=min(6, len(contenders)), fontsize=10,
               frameon=False)
    legend_rows = math.ceil(len(contenders) / 6)
    fig.tight_layout(rect=(0, 0.025 * legend_rows + 0.01, 1, 0.975))
    fig.savefig(sys.argv[2], dpi=100)
    print("plot_bench: wrote", sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
