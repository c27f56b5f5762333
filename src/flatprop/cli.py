"""The ``flatprop`` command line: ``demo``, ``gradcheck``, ``train`` and ``grade``.

A thin dispatcher: each command parses its options and calls :mod:`flatprop.demo`
(or, for ``grade``, :mod:`flatprop.grading.command`).

Run ``flatprop --help`` (or ``python -m flatprop --help``), and ``flatprop COMMAND
--help`` for each command's options. matplotlib is imported only by ``train --plot``,
Hypothesis only by ``grade``.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from flatprop import __version__
from flatprop.demo import figures, recipes, self_check, tour

__all__ = ["main", "run_command"]


def demo(args: argparse.Namespace) -> int:
    """The problem set, computed, then training on the digits (settings checked first)."""
    tour.run(seed=args.seed, iters=args.iters)
    return 0


def _tolerance(text: str) -> float:
    """``--tolerance`` as a positive, finite number, as ``check_gradient`` takes it.

    argparse says what is wrong, before anything runs.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive, finite number, got {text!r}")
    return value


def gradcheck(args: argparse.Namespace) -> int:
    """Check every gradient of the library; exit 1 if any fails."""
    print("Every loss, layer and net of flatprop: backward pass vs central differences")
    print(f"(float64, seeded random inputs, seed {args.seed}; tolerance {args.tolerance:g}).\n")
    results = self_check.run_checks(
        self_check.library_cases(seed=args.seed), tolerance=args.tolerance
    )
    print(self_check.report(results))
    return 0 if all(result.passed for result in results) else 1


def train(args: argparse.Namespace) -> int:
    """Train a model on digits or the spiral, report accuracies, maybe plot the curves.

    Every setting is checked, and the figure's format, before anything is printed.
    """
    if args.plot is not None and not figures.matplotlib_available():
        print(
            f"flatprop train: --plot needs matplotlib, which is not installed: "
            f"{figures.MATPLOTLIB_HINT}",
            file=sys.stderr,
        )
        return 2
    given = {"head": args.head} | {
        field: getattr(args, flag.removeprefix("--").replace("-", "_"))  # argparse's dest
        for field, flag in _FLAGS.items()
    }
    overrides = {field: value for field, value in given.items() if value is not None}
    settings = recipes.default_settings(args.data, args.model, **overrides)
    if args.plot is not None:
        _check_figure_format(args.plot)
    prepared = recipes.prepare_data(settings.data, test_size=settings.test_size, seed=settings.seed)
    print(recipes.describe(settings, prepared))
    result = recipes.train(settings, prepared=prepared, verbose=True)
    print(result.summary())
    if args.plot is not None:
        model = "two-layer net" if settings.model == "two-layer" else "linear classifier"
        title = (
            f"A {model} ({settings.head} head) on {settings.data}: held-out accuracy "
            f"{result.test_accuracy:.3f}"
        )
        figures.plot_training(
            result.history,
            args.plot,
            title=title,
            iterations_per_epoch=result.iterations_per_epoch,
        )
        print(f"wrote {args.plot}")
    return 0


def _check_figure_format(path: str) -> None:
    """A ValueError if matplotlib cannot write ``path``'s format (its extension)."""
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    extension = Path(path).suffix.lower().lstrip(".")
    if extension and extension not in formats:
        raise ValueError(
            f"--plot {path}: matplotlib cannot write .{extension} files; use one of "
            f"{', '.join('.' + name for name in sorted(formats))}"
        )


_FLAGS = {
    "learning_rate_decay": "--lr-decay",
    "learning_rate": "--lr",
    "hidden_size": "--hidden",
    "num_iters": "--iters",
    "batch_size": "--batch-size",
    "label_smoothing": "--label-smoothing",
    "reg": "--reg",
    "std": "--std",
    "seed": "--seed",
}
"""The settings of :class:`flatprop.demo.recipes.Settings` by their command-line options
(of ``train``; ``--head`` is the setting ``head``)."""


def _in_flags(message: str) -> str:
    """``message`` with the names of the settings replaced by their options (``--lr``)."""
    for name, flag in _FLAGS.items():
        message = re.sub(rf"\b{name}\b", flag, message)
    return message


def grade(args: argparse.Namespace) -> int:
    """Grade submission folders into a gradebook and Gradescope results."""
    try:
        from flatprop.grading import command
    except ImportError as error:  # the grade extra: Hypothesis (and tomli on Python 3.10)
        missing = {"hypothesis": "Hypothesis"}.get(error.name or "", error.name)
        print(
            f"flatprop grade needs {missing or 'a package of its extra'}, which is not "
            "installed: "
            'pip install "flatprop[grade]"  (from a clone of the repository: '
            'pip install ".[grade]")',
            file=sys.stderr,
        )
        return 2
    return command.run(
        args.assignment,
        args.submissions,
        out=args.out,
        results_json=args.results_json,
        jobs=args.jobs,
        dask=args.dask,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flatprop",
        description="Loss layers with staged (flat) forward and backward passes, in NumPy.",
        epilog="Start with: flatprop demo",
    )
    parser.add_argument("--version", action="version", version=f"flatprop {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")

    demo_parser = _command(
        commands,
        demo,
        "walk through the problem set, computed, then train on real digits",
        "Walk through " + "; ".join(tour.STEPS) + ". A few seconds.",
    )
    demo_parser.add_argument(
        "--iters", type=int, help="training steps on the digits (default: the tuned 3000)"
    )
    demo_parser.add_argument("--seed", type=int, default=0, help="seed of every random draw")

    check_parser = _command(
        commands,
        gradcheck,
        "check every loss, layer and net against numerical gradients",
        "Compare every backward pass of flatprop with central differences on small random "
        "inputs, print a table of relative errors, exit 1 if any exceeds the tolerance.",
    )
    check_parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    check_parser.add_argument(
        "--tolerance",
        type=_tolerance,
        default=self_check.TOLERANCE,
        help=f"largest relative error that passes, > 0 (default {self_check.TOLERANCE:g}); "
        "entries on a kink, and entries of about 0 whose numerical gradient is rounding "
        "noise, are listed apart; below about "
        f"{self_check.RESOLUTION:g}, right gradients fail too (central differences cannot "
        "confirm them so finely)",
    )

    train_parser = _command(
        commands,
        train,
        "train a two-layer net or a linear classifier on digits or the spiral",
        "Train with minibatch SGD, printing progress, then the training and held-out "
        "accuracies. Options left out take the tuned defaults of the data set and model "
        "(see flatprop.demo.recipes.default_settings).",
    )
    train_parser.add_argument("--data", choices=recipes.DATA_NAMES, default="digits")
    train_parser.add_argument("--model", choices=recipes.MODEL_NAMES, default="two-layer")
    train_parser.add_argument(
        "--head",
        choices=recipes.HEAD_NAMES,
        help="the loss on the scores (default: softmax, for both models; the classes "
        "LinearClassifier and TwoLayerNet default to 'svm' and 'softmax')",
    )
    train_parser.add_argument(
        "--hidden", type=int, metavar="H", help="hidden units (two-layer only)"
    )
    train_parser.add_argument("--iters", type=int, metavar="N", help="SGD steps")
    train_parser.add_argument("--lr", type=float, help="learning rate")
    train_parser.add_argument("--lr-decay", type=float, help="learning rate factor per epoch")
    train_parser.add_argument("--reg", type=float, help="regularization strength: reg sum W^2")
    train_parser.add_argument("--batch-size", type=int, help="examples per SGD step")
    train_parser.add_argument(
        "--std",
        type=float,
        help="scale of the initial weights (> 0 for the two-layer net: from all-zero weights "
        "it cannot learn)",
    )
    train_parser.add_argument(
        "--label-smoothing", type=float, help="label smoothing (softmax head only)"
    )
    train_parser.add_argument("--seed", type=int, help="seed of the split, weights and batches")
    train_parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="save a figure of the loss and accuracy curves in a format matplotlib "
        "writes (.png, .pdf, .svg, ...; needs matplotlib); missing folders of the path "
        "are created",
    )

    grade_parser = _command(
        commands,
        grade,
        "grade submission folders into a gradebook and Gradescope results",
        "Run every check of ASSIGNMENT.toml on each SUBMISSION_DIR (one per student; its "
        "name is the submission's id), each submitted function in a worker process with a "
        "time and a memory limit. Writes OUT_DIR/gradebook.csv (updating the rows of these "
        "submissions in a gradebook already there) and OUT_DIR/<submission>/results.json "
        "(Gradescope's format). Exit status 0 when grading ran, whatever the grades; 2 for "
        "a bad assignment file or a missing folder, before anything is graded.",
    )
    grade_parser.add_argument("assignment", metavar="ASSIGNMENT.toml", help="the checks")
    grade_parser.add_argument(
        "submissions", nargs="+", metavar="SUBMISSION_DIR", help="one folder per submission"
    )
    grade_parser.add_argument(
        "--out",
        metavar="OUT_DIR",
        help="where to write the results (a gradebook.csv there is updated, not replaced)",
    )
    grade_parser.add_argument(
        "--results-json",
        metavar="PATH",
        help="with one SUBMISSION_DIR: write its Gradescope results.json here "
        "(/autograder/results/results.json on Gradescope)",
    )
    where = grade_parser.add_mutually_exclusive_group()
    where.add_argument(
        "--jobs", type=int, metavar="N", help="grade N submissions at a time (default: cores)"
    )
    where.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="grade on the Dask cluster whose scheduler is at ADDRESS (the dask extra)",
    )
    return parser


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    handler: Callable[[argparse.Namespace], int],
    summary: str,
    description: str,
) -> argparse.ArgumentParser:
    """The command named after ``handler``, which runs it; ``summary`` for ``--help``."""
    parser = commands.add_parser(handler.__name__, help=summary, description=description)
    parser.set_defaults(handler=handler)
    return parser


def run_command(command: Callable[[], int]) -> int:
    """Run ``command()`` and return its exit status; stop quietly if stdout is closed.

    A command piped into one that stops reading (``flatprop demo | head -3``) finds its
    standard output closed: instead of a ``BrokenPipeError`` traceback, it stops there
    and returns 1, its output redirected to ``os.devnull`` so that nothing more fails as
    Python exits (the Python documentation's recipe: "Note on SIGPIPE" in :mod:`signal`).
    The ``flatprop`` command and the examples' scripts run through it.

    Examples
    --------
    >>> run_command(lambda: 0)
    0
    """
    try:
        status = command()
        sys.stdout.flush()  # inside the try: a closed pipe shows at the last flush too
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``flatprop`` command with ``argv`` (default: the process's arguments).

    Returns the exit status: 0 on success, 1 when ``gradcheck`` finds a wrong gradient or
    training diverges (a one-line message says which option to change), or when the
    reader of its output stops reading (``| head``: quietly), 2 for a usage error (a bad
    option value among them, refused before anything is printed).
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return run_command(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    """Run the command of ``args``; say a bad option value or a divergence in one line."""
    # Errors of demo and train name the settings of Settings: say them as the options.
    said = _in_flags if args.command in ("demo", "train") else str
    try:
        status: int = args.handler(args)
    except (ValueError, TypeError) as error:  # a bad option value, before any work
        print(f"flatprop {args.command}: error: {said(str(error))}", file=sys.stderr)
        return 2
    except FloatingPointError as error:  # training diverged: say which option to change
        print(f"flatprop {args.command}: {said(str(error))}", file=sys.stderr)
        return 1
    return status
