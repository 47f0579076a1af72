#!/usr/bin/env python3
"""Plot mpscq-bench's CSV: one panel per scenario (and key metric).

Usage: scripts/plot_bench.py out/bench.csv out/bench.png

Each panel groups bars by case; one bar per contender (the same colour in
every panel) at the median over repetitions, with a min-max whisker, and the
median of per-repetition ratios to the panel's reference written on the bar.
Where rows carry an item layout (the CSV's `layout` column: S2, S3, S7), each
case has a group per layout, labelled under the axis, and the scattered
layout's bars are hatched; ratios stay within a layout. S7 (producer scaling)
is drawn as lines over the producer count instead - solid with dots for the
ring layout, dashed with triangles for scattered - in two panels: M items/s,
and the per-repetition ratio to the reference. Panels whose values span more
than 30x use a log scale. CSVs written before the `layout` column plot as
before.
"""
import csv
import math
import statistics
import sys
from collections import OrderedDict, defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# (scenario, metric, title); panels without data are skipped. S7's metric is
# drawn as lines (see LINE_PANELS), the others as bars.
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
    ("S7", "ratio", "S7 producer scaling: ratio to the reference"),
]
# Panels drawn as lines over the number in the case name (P=4 -> 4); the
# "ratio" metric plots the ratio column of the M items/s rows.
LINE_PANELS = {("S7", "M items/s"), ("S7", "ratio")}
# Item layouts: bar hatch, line style, marker.
LAYOUT_STYLE = {
    "": ("", "-", "o"),
    "ring": ("", "-", "o"),
    "scattered": ("////", "--", "^"),
}


def load(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            try:
                r["value"] = float(r["value"])
            except ValueError:
                continue
            r["ratio"] = float(r["ratio_to_reference"]) if r["ratio_to_reference"] else math.nan
            r["layout"] = r.get("layout") or ""  # absent in CSVs written before the column
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


def layout_order(layouts):
    """"" first, then ring, then scattered (the order the bench prints)."""
    return sorted(set(layouts))


def case_number(case, fallback):
    digits = "".join(ch for ch in case.split("=")[-1] if ch.isdigit())
    return int(digits) if digits else fallback


def draw_bars(ax, sel, contenders, colour):
    cases = list(OrderedDict.fromkeys(r["case"] for r in sel))
    layouts = layout_order(r["layout"] for r in sel)
    groups = [(case, lay) for case in cases for lay in layouts
              if any(r["case"] == case and r["layout"] == lay for r in sel)]
    who = [c for c in contenders if any(r["contender"] == c for r in sel)]
    width = 0.84 / max(1, len(who))
    vals = defaultdict(list)
    ratios = defaultdict(list)
    for r in sel:
        key = (r["case"], r["layout"], r["contender"])
        vals[key].append(r["value"])
        if not math.isnan(r["ratio"]):
            ratios[key].append(r["ratio"])
    positive = [v for vs in vals.values() for v in vs if v > 0]
    log = bool(positive) and max(positive) / max(min(positive), 1e-12) > 30
    for j, c in enumerate(who):
        for lay in layouts:
            xs, ys, lo, hi, labels = [], [], [], [], []
            for i, (case, glay) in enumerate(groups):
                v = vals.get((case, glay, c)) if glay == lay else None
                if not v:
                    continue
                med = statistics.median(v)
                xs.append(i - 0.42 + width * (j + 0.5))
                ys.append(med)
                lo.append(max(0.0, med - min(v)))
                hi.append(max(0.0, max(v) - med))
                rr = ratios.get((case, glay, c))
                labels.append(("x%.2f" % statistics.median(rr)) if rr else "")
            if not xs:
                continue
            ys_plot = [max(y, 1e-3) if log else y for y in ys]
            hatch = LAYOUT_STYLE.get(lay, LAYOUT_STYLE[""])[0]
            ax.bar(xs, ys_plot, width * 0.95, color=colour[c], yerr=[lo, hi], capsize=1.5, hatch=hatch,
                   edgecolor="white" if hatch else colour[c], linewidth=0,
                   error_kw={"elinewidth": 0.6, "ecolor": "#333333"})
            for x, y, lab in zip(xs, ys_plot, labels):
                if lab:
                    ax.annotate(lab, (x, y), xytext=(0, 2), textcoords="offset points", ha="center",
                                va="bottom", rotation=90, fontsize=6.5)
    if log:
        ax.set_yscale("log")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([case + ("\n" + lay if lay else "") for case, lay in groups], fontsize=9)
    ax.margins(y=0.25)
    if log:
        lo_lim, hi_lim = ax.get_ylim()
        ax.set_ylim(lo_lim, hi_lim * 3)


def draw_lines(ax, sel, contenders, colour, use_ratio):
    cases = list(OrderedDict.fromkeys(r["case"] for r in sel))
    xnum = {case: case_number(case, i + 1) for i, case in enumerate(cases)}
    layouts = layout_order(r["layout"] for r in sel)
    who = [c for c in contenders if any(r["contender"] == c for r in sel)]
    vals = defaultdict(list)
    for r in sel:
        v = r["ratio"] if use_ratio else r["value"]
        if not math.isnan(v):
            vals[(r["case"], r["layout"], r["contender"])].append(v)
    positive = [v for vs in vals.values() for v in vs if v > 0]
    log = bool(positive) and max(positive) / max(min(positive), 1e-12) > 30
    for c in who:
        for lay in layouts:
            pts = []
            for case in cases:
                v = vals.get((case, lay, c))
                if v:
                    med = statistics.median(v)
                    pts.append((xnum[case], med, max(0.0, med - min(v)), max(0.0, max(v) - med)))
            if not pts:
                continue
            pts.sort()
            _, style, marker = LAYOUT_STYLE.get(lay, LAYOUT_STYLE[""])
            xs = [p[0] for p in pts]
            ys = [max(p[1], 1e-3) if log else p[1] for p in pts]
            ax.errorbar(xs, ys, yerr=None if use_ratio else [[p[2] for p in pts], [p[3] for p in pts]],
                        color=colour[c], linestyle=style, marker=marker, markersize=4, linewidth=1.2,
                        capsize=2, elinewidth=0.6,
                        markerfacecolor=colour[c] if lay != "scattered" else "none")
    if use_ratio:
        ax.axhline(1.0, color="#252525", linewidth=0.8, linestyle=":")
    if log:
        ax.set_yscale("log")
    ticks = sorted(set(xnum.values()))
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks], fontsize=9)
    ax.set_xlabel("producers", fontsize=9)
    ax.margins(y=0.1)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    rows = load(sys.argv[1])
    contenders = list(OrderedDict.fromkeys(r["contender"] for r in rows if r["scenario"] not in ("probe", "meta")))
    colour = assign_colours(contenders)

    panels = []  # (scenario, metric, title, rows, as lines)
    for sc, metric, title in PANELS:
        if metric == "ratio":
            sel = [r for r in rows if r["scenario"] == sc and r["metric"] == "M items/s"]
        else:
            sel = [r for r in rows if r["scenario"] == sc and r["metric"] == metric]
        if not sel:
            continue
        # A line needs two producer counts; with one (a 2-core machine: P=1)
        # S7 is drawn as bars like the others, and its ratios sit on the bars.
        lines = (sc, metric) in LINE_PANELS and len({r["case"] for r in sel}) > 1
        if metric == "ratio" and not lines:
            continue
        panels.append((sc, metric, title, sel, lines))
    if not panels:
        print("plot_bench: no data in", sys.argv[1], file=sys.stderr)
        return 1

    # The legend: every contender, then the two layouts where the CSV has them.
    layouts_seen = {r["layout"] for sc, metric, title, sel, lines in panels for r in sel if r["layout"]}
    all_lines = all(p[4] for p in panels)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[c]) for c in contenders]
    labels = list(contenders)
    if "scattered" in layouts_seen and all_lines:
        handles += [plt.Line2D([], [], color="#636363", linestyle=LAYOUT_STYLE[lay][1], marker=LAYOUT_STYLE[lay][2],
                               markerfacecolor="#636363" if lay == "ring" else "none") for lay in ("ring", "scattered")]
        labels += ["ring items", "scattered items"]
    elif "scattered" in layouts_seen:
        handles += [plt.Rectangle((0, 0), 1, 1, facecolor="#bdbdbd", edgecolor="white", linewidth=0),
                    plt.Rectangle((0, 0), 1, 1, facecolor="#bdbdbd", edgecolor="white", linewidth=0,
                                  hatch=LAYOUT_STYLE["scattered"][0])]
        labels += ["ring items (bars plain; S7 lines solid, dots)",
                   "scattered items (bars hatched; S7 lines dashed, open triangles)"]

    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    per_row = 2 * ncols
    legend_rows = math.ceil(len(labels) / per_row)
    legend_in = 0.3 * legend_rows + 0.2  # inches below the panels
    height = 5.6 * nrows + legend_in
    fig, axes = plt.subplots(nrows, ncols, figsize=(8.5 * ncols, height), squeeze=False)
    probe = [r["value"] for r in rows if r["scenario"] == "probe"]
    subtitle = ""
    if probe:
        subtitle = " | core-to-core handoff probe: median %.0f ns (min %.0f, max %.0f)" % (
            statistics.median(probe), min(probe), max(probe))
    # mpscq-bench --load N writes a meta row (absent from older files).
    load_threads = [int(float(r["value"])) for r in rows if r["scenario"] == "meta" and r["case"] == "load"
            and r["metric"] == "threads"]
    if load_threads and load_threads[0] > 0:
        subtitle += " | load: %d busy thread%s (unpinned, normal priority)" % (load_threads[0], "" if load_threads[0] == 1 else "s")
    if all_lines:
        head = ("mpscq-bench: points = median over repetitions, whiskers = min..max; ratios = median of "
                "per-repetition ratios to the reference")
    else:
        head = ("mpscq-bench: bars = median over repetitions, whiskers = min..max, "
                "labels = median of per-repetition ratios to the reference (x1.00)")
    fig.suptitle(head + ("\n" + subtitle.lstrip(" |") if ncols < 3 and subtitle else subtitle),
                 fontsize=13 if ncols == 3 else 11)

    for ax, (sc, metric, title, sel, lines) in zip(axes.flat, panels):
        ref = sel[0]["reference"]
        better = sel[0]["better"]
        if lines:
            draw_lines(ax, sel, contenders, colour, use_ratio=(metric == "ratio"))
            if metric == "ratio":
                better_note = "per-repetition ratio to %s, median; %s is better" % (ref, better)
            else:
                better_note = "%s is better; median, whiskers min..max" % better
            ax.set_title("%s\n(%s)" % (title, better_note), fontsize=10.5)
        else:
            draw_bars(ax, sel, contenders, colour)
            ax.set_title("%s\n(%s is better; ratios to %s)" % (title, better, ref), fontsize=10.5)
        ax.set_axisbelow(True)
        ax.grid(axis="y", alpha=0.3, which="major")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")

    fig.legend(handles, labels, loc="lower center", ncol=min(per_row, len(labels)), fontsize=10, frameon=False)
    fig.tight_layout(rect=(0, legend_in / height, 1, 1 - 0.6 / height))
    fig.savefig(sys.argv[2], dpi=100)
    print("plot_bench: wrote", sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
