"""The four losses of flatprop, and their slopes, against the margin m = s_y - s_j.

Two classes, scores (s_y, s_j) = (m, 0): the hinge max(0, 1 - m), the squared hinge
max(0, 1 - m)^2, the softmax cross-entropy log(1 + exp(-m)) and the L2 loss to the
one-hot target, (m - 1)^2, all computed by flatprop's losses and backward passes.
Prints a table; with matplotlib installed, also draws the figure.

    python examples/loss_shapes.py                       # table + loss_shapes.png
    python examples/loss_shapes.py --output docs/loss_shapes.png
    python examples/loss_shapes.py --no-plot             # the table only
"""

from __future__ import annotations

import argparse

import numpy as np

from flatprop.cli import run_command
from flatprop.demo import figures

TABLE_MARGINS = (-2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", default="loss_shapes.png", help="the figure's file")
    parser.add_argument("--no-plot", action="store_true", help="print the table only")
    args = parser.parse_args(argv)

    shapes = figures.loss_shapes(np.array(TABLE_MARGINS))
    width = max(len(name) for name in shapes)
    print("Loss L and slope dL/dm at a few margins m = s_y - s_j (two classes, s_j = 0):\n")
    print(" " * width + "".join(f"{f'm = {m:g}':>12}" for m in TABLE_MARGINS))
    for name, (losses, slopes) in shapes.items():
        print(f"{name:<{width}}" + "".join(f"{value:12.4f}" for value in losses))
        print(f"{'  slope':<{width}}" + "".join(f"{value:12.4f}" for value in slopes))
    print(
        "\nPast the margin (m >= 1) the hinges are 0 and flat, the softmax loss keeps a small"
        "\nslope, and the L2 loss rises again: it punishes scores that are too confident."
    )
    if args.no_plot:
        return 0
    if not figures.matplotlib_available():
        print(f"\nNo figure: matplotlib is not installed. To get it: {figures.MATPLOTLIB_HINT}")
        return 0
    figures.plot_loss_shapes(args.output)
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command(main))  # quiet when piped into head
