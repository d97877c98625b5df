#!/usr/bin/python3
"""Charts from the benchmark harness's JSON (Google Benchmark --benchmark_out).

  build/bench/vggsimd-bench --benchmark_out=bench.json --benchmark_out_format=json
  /usr/bin/python3 scripts/plot_bench.py bench.json -o charts/

Writes, for what the JSON holds:
  blocks.png         per-block time for each level and algorithm (threads as bars side by side)
  peers.png          ours (direct, auto, fast) against oneDNN (direct, Winograd), per block and conv base
  kernel_speedup.png speedup of each level's kernels over the scalar reference, per VGG16 conv layer
With repetitions, the `_min` aggregate is used; otherwise the single run.
Needs Debian's python3-matplotlib."""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402  (its atomic writer)

UNIT = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def load(path):
    with open(path) as f:
        doc = json.load(f)
    bench = doc.get("benchmarks") if isinstance(doc, dict) else None
    if not isinstance(bench, list) or not all(
            isinstance(b, dict) and isinstance(b.get("name"), str) and isinstance(b.get("run_name", ""), str)
            and isinstance(b.get("real_time"), (int, float)) and b.get("time_unit", "ns") in UNIT for b in bench):
        raise ValueError("no list of benchmarks, each with a name, a real_time and a time_unit")
    if not isinstance(doc.get("context", {}), dict):
        raise ValueError("'context' is not an object")
    rows = {}
    has_min = any(b.get("aggregate_name") == "min" for b in bench)
    for b in bench:
        if has_min and b.get("aggregate_name") != "min":
            continue
        if not has_min and b.get("run_type") == "aggregate":
            continue
        name = b.get("run_name", b["name"]).split("/min_time")[0].split("/manual_time")[0]
        b["ms"] = b["real_time"] * UNIT[b.get("time_unit", "ns")]
        rows[name] = b
    return doc.get("context", {}), rows


def grouped_bars(ax, groups, series, values, ylabel):
    width = 0.8 / max(1, len(series))
    for i, s in enumerate(series):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ys = [values.get((s, g), 0) for g in groups]
        ax.bar(xs, ys, width, label=s)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)


def chart(rows, out, fname, title, ylabel, pick, size=(11, 5)):
    """One grouped bar chart: pick(name, row) gives (series, group, value) or None."""
    vals, series, groups = {}, [], []
    for name, r in rows.items():
        got = pick(name.split("/"), r)
        if not got:
            continue
        s, g, v = got
        if s not in series:
            series.append(s)
        if g not in groups:
            groups.append(g)
        vals[(s, g)] = v
    if not vals:
        return None
    fig, ax = plt.subplots(figsize=size)
    grouped_bars(ax, groups, series, vals, ylabel)
    ax.set_title(title)
    path = os.path.join(out, fname)
    fig.tight_layout()
    safetensors_io.write_atomic(path, lambda f: fig.savefig(f, dpi=110, format="png"))
    plt.close(fig)
    return path


def block_row(p, r):  # block/<level>/<algo>/blockN/threads:T
    if p[0] == "block" and len(p) >= 5:
        return "%s %s %s" % (p[1], p[2], p[4].replace("threads:", "t")), p[3], r["ms"]


def peer_row(p, r):  # ours/<algo>/<what>/threads:T and onednn/<algo>/<what>/threads:T
    if p[0] in ("ours", "onednn") and len(p) >= 4 and (p[2].startswith("block") and "_" not in p[2] or p[2] == "conv_base"):
        who = "vggsimd" if p[0] == "ours" else "oneDNN"
        return "%s %s %s" % (who, p[1], p[3].replace("threads:", "t")), p[2], r["ms"]


def speedup_row(p, r):  # conv/<level>/<algo>/<layer>
    if p[0] == "conv" and len(p) >= 4 and "x_scalar" in r:
        return "%s %s" % (p[1], p[2]), p[3], r["x_scalar"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json", help="Google Benchmark JSON from build/bench/vggsimd-bench --benchmark_out=...")
    ap.add_argument("-o", "--out", default="charts")
    a = ap.parse_args()
    try:
        ctx, rows = load(a.json)
    except (OSError, ValueError, KeyError) as e:
        sys.exit("plot_bench: %s: not a benchmark JSON file (%s)" % (a.json, e))
    try:
        if os.path.exists(a.out) and not os.path.isdir(a.out):
            raise NotADirectoryError(20, "not a directory")
        os.makedirs(a.out, exist_ok=True)
    except OSError as e:
        sys.exit("plot_bench: -o %s: %s" % (a.out, e.strerror or e))
    title = "%s, %s" % (str(ctx.get("vggsimd_cpu", "?")).strip(), str(ctx.get("date", ""))[:10])
    made = [p for p in (
        chart(rows, a.out, "blocks.png", "VGG16 blocks, 224x224, batch 1 - " + title, "ms (lower is better)",
              block_row),
        chart(rows, a.out, "peers.png", "vggsimd vs oneDNN, measured in one run - " + title,
              "ms (lower is better)", peer_row, (12, 5)),
        chart(rows, a.out, "kernel_speedup.png", "Kernel speedup over scalar, one thread - " + title,
              "speedup over the scalar reference (x)", speedup_row, (12, 5))) if p]
    if not made:
        sys.exit("plot_bench: %s holds no block, peer or kernel rows" % a.json)
    for p in made:
        print("wrote", p)


if __name__ == "__main__":
    main()
