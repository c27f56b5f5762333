"""Write ``src/flatprop/data/digits.npz`` from the copy of the digits set that scikit-learn ships.

The file holds the 1,797 8x8 images of the test part ("optdigits.tes") of the UCI
"Optical Recognition of Handwritten Digits" data set (E. Alpaydin and C. Kaynak,
1998; CC BY 4.0; https://archive.ics.uci.edu/dataset/80), as two compressed arrays:

- ``pixels``: uint8, shape (1797, 64), each entry a count of "on" pixels in a 4x4
  block of the original 32x32 bitmap, in 0..16; row-major 8x8 images;
- ``labels``: uint8, shape (1797,), the digit 0..9.

scikit-learn is needed only to run this script, once; flatprop never imports it.
Run it from the repository root, in a throwaway environment::

    python3 -m venv /tmp/venv-sklearn && /tmp/venv-sklearn/bin/pip install scikit-learn
    /tmp/venv-sklearn/bin/python scripts/make_digits.py           # (re)write the file
    /tmp/venv-sklearn/bin/python scripts/make_digits.py --check   # compare, write nothing

The arrays are written in a fixed order (scikit-learn's), so a rerun gives the same
arrays; ``--check`` exits non-zero if the committed file differs from them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

OUTPUT = Path(__file__).resolve().parent.parent / "src" / "flatprop" / "data" / "digits.npz"
NUM_EXAMPLES, NUM_FEATURES, NUM_CLASSES, MAX_COUNT = 1797, 64, 10, 16


def digits_from_scikit_learn() -> dict[str, np.ndarray]:
    """The digits as uint8 arrays, checked against the data set's documented facts."""
    from sklearn.datasets import load_digits  # the one place scikit-learn is used

    bunch = load_digits()
    data, target = np.asarray(bunch.data), np.asarray(bunch.target)
    if data.shape != (NUM_EXAMPLES, NUM_FEATURES) or target.shape != (NUM_EXAMPLES,):
        raise SystemExit(f"unexpected shapes from scikit-learn: {data.shape}, {target.shape}")
    if not np.array_equal(data, np.round(data)) or data.min() < 0 or data.max() > MAX_COUNT:
        raise SystemExit("unexpected pixel values: expected whole counts in 0..16")
    if set(np.unique(target)) != set(range(NUM_CLASSES)):
        raise SystemExit("unexpected labels: expected the digits 0..9")
    return {"pixels": data.astype(np.uint8), "labels": target.astype(np.uint8)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed file instead of writing"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"default: {OUTPUT}")
    args = parser.parse_args(argv)

    arrays = digits_from_scikit_learn()
    if args.check:
        with np.load(args.output) as stored:
            same = set(stored.files) == set(arrays) and all(
                stored[name].dtype == array.dtype and np.array_equal(stored[name], array)
                for name, array in arrays.items()
            )
        print(f"{args.output}: {'matches' if same else 'DIFFERS FROM'} scikit-learn's copy")
        return 0 if same else 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.output, **arrays)
    print(f"wrote {args.output} ({args.output.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
