"""Markdown tables for NOTES.md from benchmark ``results.json`` files (one or more, e.g. one
run per split):

    .venv/bin/python bench/scenes/make_tables.py runs/scenes-bench-*/results.json

Prints, per split: ADD-S AUC / % < 1 cm / % < 2 cm / median ADD-S (mm) per method, 3DP3's
contact edges (precision / recall / F1, all, table and object-on-object), and the median and
maximum wall and process CPU seconds per scene (the compiling first scene's run apart).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _fmt(x, nd=1):
    return "–" if x is None or x != x else f"{x:.{nd}f}"


def _seconds_table(splits, methods, kind, title):
    """Median / max seconds per scene per split and method; kind "wall" or "cpu"."""
    print(f"\n{title}, median / max (first, compiling run excluded):\n")
    print("| split | " + " | ".join(methods) + " |")
    print("|---" * (len(methods) + 1) + "|")
    for s, row in splits.items():
        cells = [
            f"{_fmt(row[m][f'median_{kind}_s'])} / {_fmt(max(row[m][f'{kind}_s_per_scene']))}"
            for m in methods
        ]
        print(f"| {s} | " + " | ".join(cells) + " |")


def main(paths):
    splits = {}
    first = {}
    for p in paths:
        r = json.loads(Path(p).read_text())
        splits.update(r["splits"])
        first[p] = r.get("first_scene_wall_s_incl_compile")
    methods = [m for m in next(iter(splits.values())) if m not in ("init", "scenes", "per_scene")]
    print("ADD-S AUC (%) / % < 1 cm / % < 2 cm / median ADD-S (mm):\n")
    print("| split (scenes, objects) | init | " + " | ".join(methods) + " |")
    print("|---" * (len(methods) + 2) + "|")
    for s, row in splits.items():
        cells = []
        for m in ["init", *methods]:
            v = row[m]
            cells.append(
                f"{_fmt(v['add_s_auc'])} / {_fmt(v['pct_below_1cm'], 0)} / "
                f"{_fmt(v['pct_below_2cm'], 0)} / {_fmt(v['median_add_s_mm'])}"
            )
        n_obj = row[methods[0]]["n_objects"]
        print(f"| {s} ({row['scenes']}, {n_obj}) | " + " | ".join(cells) + " |")
    if "3dp3" in methods:
        print(
            "\n3DP3 contact edges, precision / recall / F1 (true positives / predicted / true):\n"
        )
        print("| split | all | table | object-on-object |")
        print("|---|---|---|---|")
        for s, row in splits.items():
            e = row["3dp3"]["edges"]
            cells = [
                f"{_fmt(e[k]['precision'], 2)} / {_fmt(e[k]['recall'], 2)} / "
                f"{_fmt(e[k]['f1'], 2)} ({e[k]['tp']}/{e[k]['n_pred']}/{e[k]['n_true']})"
                for k in ("all", "table", "object")
            ]
            print(f"| {s} | " + " | ".join(cells) + " |")
    _seconds_table(splits, methods, "wall", "Wall seconds per scene")
    if all("cpu_s_per_scene" in row[m] for row in splits.values() for m in methods):
        _seconds_table(splits, methods, "cpu", "Process CPU seconds per scene (all threads)")
    for p, f in first.items():
        if f:
            print(
                f"\nFirst scene incl. compilation ({p}): "
                + ", ".join(f"{k} {v:.1f} s" for k, v in f.items())
            )


if __name__ == "__main__":
    main(sys.argv[1:])
