"""The problem set's linear SVM, svm_loss(W, X, y, reg), as flat backprop: one stage per line.

Forward: scores, margins, data_loss, reg_loss, loss. Backward: dmargins, dscores, dW,
checked against a numerical gradient and against flatprop's own SVM.

    python examples/flat_backprop_svm.py                       # the slide's table as X = I
    python examples/flat_backprop_svm.py --input problem-set   # the problem set's own x, y
"""

from __future__ import annotations

import argparse

from flatprop.cli import run_command
from flatprop.demo import staged

PROBLEM_SET_INPUT_NOTE = """\
Note: both rows of the problem set's x are the same image, labelled 0 and 1. While both
margins are active their data gradients cancel exactly, so dW = 2 reg W: tiny, which
is why the problem set printed gradients of 1e-5 to 1e-7. Next to a loss of about 1, such
a tiny gradient is hard to estimate by differences, hence the larger relative error."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--input",
        choices=["table", "problem-set"],
        default="table",
        help="table: the slide's scores (default); problem-set: the problem set's "
        "x = [[.2, .4], [.2, .4]], y = [0, 1], with W drawn from --seed",
    )
    parser.add_argument(
        "--reg", type=float, help="regularization (default 0.01; problem-set: 5e-6)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of W for --input problem-set")
    args = parser.parse_args(argv)

    if args.input == "table":
        W, X, y = staged.table_svm_inputs()
        reg = 0.01 if args.reg is None else args.reg
        print("X = I (each image its own one-hot feature) and W = the slide's scores,")
        print("so scores = X W is exactly the table, one row per image.")
    else:
        W, X, y = staged.problem_set_svm_inputs(seed=args.seed)
        reg = 5e-6 if args.reg is None else args.reg
    print(staged.staged_svm(W, X, y, reg=reg).report())
    if args.input == "problem-set":
        print(f"\n{PROBLEM_SET_INPUT_NOTE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command(main))  # quiet when piped into head
