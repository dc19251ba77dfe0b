"""Write N-way one-shot runs in the layout of Lake et al.'s Omniglot benchmark from any
class-folder tree (or zips of one), for python -m tools.evaluate --runs.

    python -m tools.make_oneshot_runs --dataset held_out_alphabets --output runs --ways 20 \\
        --runs 20 --seed 0

Where the classes have alphabets (Greek/character01), each run takes its characters from one
alphabet, the alphabets in turn; where the file names say their drawer (Omniglot's
0108_07.png), a run's training drawings are one drawer's and its test drawings another's.
"""
import argparse

from pyimagesearch.cli import run


def main():
    ap = argparse.ArgumentParser(description="Write N-way one-shot runs (Lake's layout: "
                                             "runNN/training, runNN/test, class_labels.txt) "
                                             "from a class-folder tree.")
    ap.add_argument("--dataset", nargs="+", required=True, metavar="TREE",
                    help="class folders, nested ones (ALPHABET/CHARACTER), or zips of them; "
                         "several are read as one tree")
    ap.add_argument("--output", required=True, help="a new (or empty) folder for the runs")
    ap.add_argument("--ways", type=int, default=20,
                    help="characters (classes) per run (default: 20)")
    ap.add_argument("--runs", type=int, default=20, help="runs to write (default: 20)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the draw (default: 0)")
    args = ap.parse_args()
    if args.ways < 2 or args.runs < 1:
        raise ValueError("--ways must be at least 2 and --runs at least 1")

    from pyimagesearch.data.image_folders import resolve_dataset, scan_classes
    from pyimagesearch.search.oneshot_runs import draw_runs, write_runs

    roots = resolve_dataset(args.dataset)
    (paths, labels, classNames) = scan_classes(roots)
    drawn = draw_runs(paths, labels, classNames, args.ways, args.runs, args.seed)
    write_runs(drawn, args.output, args.seed)
    alphabets = sorted({name.split("/")[0] for run in drawn for (name, _, _) in run
                        if "/" in name})
    print(f"[INFO] wrote {args.runs} {args.ways}-way one-shot run(s) to {args.output}"
          + (f", from {len(alphabets)} alphabet(s): {', '.join(alphabets)}" if alphabets
             else ""))


if __name__ == "__main__":
    run(main)
