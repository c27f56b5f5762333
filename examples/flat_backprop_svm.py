"""The seed's linear SVM, svm_loss(W, X, y, reg), as flat backprop: one named stage per line.

Forward: scores, margins, data_loss, reg_loss, loss. Backward: dmargins, dscores, dW,
checked against a numerical gradient and against flatprop's own SVM.

    python examples/flat_backprop_svm.py                # the slide's table as X = I, W = scores
    python examples/flat_backprop_svm.py --input seed   # the seed's own x, y (W now seeded)
"""

from __future__ import annotations

import argparse

from flatprop.demo import staged

SEED_INPUT_NOTE = """\
Note: both rows of the seed's x are the same image, labelled 0 and 1. While both
margins are active their data gradients cancel exactly, so dW = 2 reg W: tiny, which
is why the seed printed gradients of 1e-5 to 1e-7. Next to a loss of about 1, such a
tiny gradient is hard to estimate by differences, hence the larger relative error."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--input",
        choices=["table", "seed"],
        default="table",
        help="table: the slide's scores (default); seed: the seed's x = [[.2, .4], [.2, .4]]",
    )
    parser.add_argument("--reg", type=float, help="regularization (default 0.01; seed: 5e-6)")
    parser.add_argument("--seed", type=int, default=0, help="seed of W for --input seed")
    args = parser.parse_args(argv)

    if args.input == "table":
        X, y, W = staged.table_svm_inputs()
        reg = 0.01 if args.reg is None else args.reg
        print("X = I (each image its own one-hot feature) and W = the slide's scores,")
        print("so scores = X W is exactly the table, one row per image.")
    else:
        X, y, W = staged.seed_svm_inputs(seed=args.seed)
        reg = 5e-6 if args.reg is None else args.reg
    print(staged.staged_svm(X, y, W, reg=reg).report())
    if args.input == "seed":
        print(f"\n{SEED_INPUT_NOTE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
