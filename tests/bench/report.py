#!/usr/bin/env python3
"""report.py - the figures of one `make bench` run as one JSON file, and
each figure printed as a ratio to its peer of the same run.

    report.py FIGURES.tsv META.json OUT.json     write OUT.json, print ratios
    report.py --compare OLD.json NEW.json        print NEW against OLD

Ratios are oriented so that > 1 means tmcwatch is better than its peer (or
NEW better than OLD): peer/ours for times and memory, ours/peer for rates.
"""
import json
import sys

LOWER_IS_BETTER = {"s", "ms", "MB", "kB", "B"}


def better_ratio(ours, other, unit):
    if not ours or not other:
        return None
    return other / ours if unit in LOWER_IS_BETTER else ours / other


def read_figures(path):
    figures = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            key, value, unit = parts[0], parts[1], parts[2]
            peers = parts[3].split(",") if len(parts) > 3 and parts[3] else []
            try:
                value = float(value)
            except ValueError:
                continue
            figures[key] = {"value": value, "unit": unit, "peers": peers}
    return figures


def write_report(tsv, meta_path, out):
    with open(meta_path, encoding="utf-8") as f:
        run = json.load(f)
    figures = read_figures(tsv)
    print("--- figures against their peers (ratio > 1: tmcwatch better)")
    for key, fig in figures.items():
        fig["ratio_to_peer"] = {}
        for name in fig["peers"]:
            peer = figures.get(name)
            r = better_ratio(fig["value"], peer["value"], fig["unit"]) if peer else None
            if r is None:
                print(f"{key}: no figure for its peer {name}")
                continue
            fig["ratio_to_peer"][name] = round(r, 3)
            print(f"{key}: {fig['value']:g} {fig['unit']} vs {name}: "
                  f"{peer['value']:g} {peer['unit']} = {r:.2f}x")
    run["figures"] = figures
    with open(out, "w", encoding="utf-8") as f:
        json.dump(run, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"--- written {out} ({len(figures)} figures)")


def compare(old_path, new_path):
    with open(old_path, encoding="utf-8") as f:
        old = json.load(f)
    with open(new_path, encoding="utf-8") as f:
        new = json.load(f)
    print(f"old {old_path}: load {old.get('load_before')} -> {old.get('load_after')}")
    print(f"new {new_path}: load {new.get('load_before')} -> {new.get('load_after')}")
    for key, fig in new.get("figures", {}).items():
        was = old.get("figures", {}).get(key)
        if not was:
            print(f"{key}: {fig['value']:g} {fig['unit']} (new)")
            continue
        r = better_ratio(fig["value"], was["value"], fig["unit"])
        shown = f"{r:.2f}x" if r else "-"
        print(f"{key}: {was['value']:g} -> {fig['value']:g} {fig['unit']} ({shown})")


def main(argv):
    if len(argv) == 4 and argv[1] == "--compare":
        compare(argv[2], argv[3])
    elif len(argv) == 4:
        write_report(argv[1], argv[2], argv[3])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
