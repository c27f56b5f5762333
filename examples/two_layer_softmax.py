"""The problem set's two-layer ReLU net with a softmax head, as flat backprop, bugs fixed.

Forward: z1 = X W1 + b1, h1 = max(0, z1), scores = h1 W2 + b2 (from h1, after the ReLU:
the problem set's code fed z1), the softmax shifted by each row's own max, data_loss,
reg_loss, loss. Backward: dscores, dW2, db2, dh1, dz1, dW1, db1, each checked against a
numerical gradient, and the whole against flatprop.nets.TwoLayerNet.

    python examples/two_layer_softmax.py
    python examples/two_layer_softmax.py --seed 3 --reg 0
"""

from __future__ import annotations

import argparse

from flatprop.cli import run_command
from flatprop.demo import staged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and biases")
    parser.add_argument("--reg", type=float, default=0.05, help="regularization strength")
    args = parser.parse_args(argv)

    params, X, y = staged.two_layer_inputs(seed=args.seed)
    print("A tiny input: N = 3 points in D = 2, H = 3 hidden units, C = 3 classes.")
    print(staged.staged_two_layer_softmax(params, X, y, reg=args.reg).report())
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command(main))  # quiet when piped into head
