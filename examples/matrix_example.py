"""The discussion section's matrix example: dL/dW1 and dL/dW2, staged and checked.

    z1 = X W1,  h1 = ReLU(z1),  y_hat = h1 W2,  L = ||y_hat||^2
    dL/dW2 = h1^T (2 y_hat)
    dL/dW1 = X^T ((2 y_hat W2^T) * 1[z1 > 0])

By default on the problem set's x = [[0.2, 0.4]] with fixed weights small enough to check by
hand (one hidden unit switched off by the ReLU); --seed draws random weights instead.

    python examples/matrix_example.py
    python examples/matrix_example.py --seed 1 --hidden 4
"""

from __future__ import annotations

import argparse

import numpy as np

from flatprop.cli import run_command
from flatprop.demo import staged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, help="draw W1 and W2 standard normal from this seed")
    parser.add_argument("--hidden", type=int, default=2, help="H, with --seed (default 2)")
    args = parser.parse_args(argv)

    params, X = staged.matrix_example_inputs()
    if args.seed is None:
        print("X = [[0.2, 0.4]], W1 = [[0.1, -0.3], [0.5, -0.8]], W2 = [[0.5], [-1.0]]:")
        print("z1 = (0.22, -0.38), so the ReLU switches the second hidden unit off.")
    else:
        rng = np.random.default_rng(args.seed)
        params = {
            "W1": rng.standard_normal((X.shape[1], args.hidden)),
            "W2": rng.standard_normal((args.hidden, 1)),
        }
        print(f"X = [[0.2, 0.4]]; W1, W2 standard normal from seed {args.seed}.")
    print(staged.staged_matrix_example(params, X).report())
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command(main))  # quiet when piped into head
