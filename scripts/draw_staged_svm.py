"""Draw the README's figure: the computational graph of the linear SVM's staged pass.

``docs/svm_staged_pass.png`` is ``staged_svm(W, X, y, reg=0.1).graph()`` on the slide's
table (``table_svm_inputs()``), drawn by Graphviz. It needs the graph extra and
Graphviz's ``dot`` program::

    pip install ".[graph]"            # and: apt-get install graphviz (or brew, conda)
    python scripts/draw_staged_svm.py           # (re)write docs/svm_staged_pass.png
    python scripts/draw_staged_svm.py --dot     # print the DOT text instead

The DOT text is deterministic; the PNG depends on Graphviz's version and fonts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flatprop.demo.staged import staged_svm, table_svm_inputs

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "svm_staged_pass.png"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dot", action="store_true", help="print the DOT text, draw nothing")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"default: {OUTPUT}")
    args = parser.parse_args()
    graph = staged_svm(*table_svm_inputs(), reg=0.1).graph()
    if args.dot:
        print(graph.to_dot(), end="")
    else:
        print(f"wrote {graph.render(args.output)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
