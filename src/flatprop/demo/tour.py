"""What ``flatprop demo`` prints: the problem set worked through, then training on the digits.

:func:`run` prints each part in the problem set's order, computing every answer with
flatprop: the slide's score table, questions (a)-(e), flat backprop for the linear SVM
and a tiny two-layer softmax net, the matrix example, and a two-layer net trained on
the handwritten digits that ship inside flatprop.
"""

from __future__ import annotations

import time

from flatprop import __version__
from flatprop.demo import _text, questions, recipes, staged

__all__ = ["STEPS", "run"]

STEPS = (
    "the problem set's score table and its SVM losses",
    "the problem set's questions (a)-(e), each answered by computing it",
    "flat backprop, stage by stage: the linear SVM and the two-layer softmax net",
    "the matrix example: dL/dW1 and dL/dW2 next to their numerical gradients",
    "a two-layer net trained on real handwritten digits shipped with flatprop",
)


def _section(number: int, title: str) -> str:
    return _text.heading(f"{number}. {title}")


def run(*, seed: int = 0, iters: int | None = None) -> None:
    """Print the demo: the problem set, computed, then training on the digits.

    Parameters
    ----------
    seed : int, default 0
        The random seed of every random draw (weights, data split, minibatches).
    iters : int, optional
        Training steps on the digits; None takes the tuned default of
        :func:`flatprop.demo.recipes.default_settings`.

    Raises
    ------
    TypeError, ValueError
        For a bad ``seed`` or ``iters`` (naming the setting), before anything is printed.
    """
    start = time.perf_counter()
    settings = recipes.default_settings("digits", seed=seed)  # checked first
    if iters is not None:
        settings = recipes.default_settings("digits", seed=seed, num_iters=iters)
    print(f"flatprop {__version__} demo: the multiclass SVM loss and flat backprop, computed.")
    print("It walks through")
    for number, step in enumerate(STEPS, 1):
        print(f"  {number}. {step}")

    print(_section(1, "The problem set's score table (CS231n, lecture 3)"))
    print(questions.score_table().body())

    print(_section(2, "The problem set's questions, answered by computing them"))
    answers: list[questions.Answer] = [
        questions.question_a(),
        questions.question_b(seed=seed),
        questions.question_c(),
        questions.question_d(seed=seed),
        questions.question_e(seed=seed),
    ]
    for answer in answers:
        print(answer.report())

    print(_section(3, "Flat backprop: every stage of the forward and backward passes"))
    print("The slide's table as a linear model: X = I (one image per row), W = the scores.")
    W, X, y = staged.table_svm_inputs()
    print(staged.staged_svm(W, X, y, reg=0.01).report())
    print("\nA tiny two-layer net: N = 3 points in D = 2, H = 3 hidden units, C = 3 classes.")
    params, X, y = staged.two_layer_inputs(seed=seed)
    print(staged.staged_two_layer_softmax(params, X, y, reg=0.05).report())

    print(
        _section(4, "The matrix example: z1 = X W1, h1 = ReLU(z1), y_hat = h1 W2, L = ||y_hat||^2")
    )
    print(staged.staged_matrix_example(*staged.matrix_example_inputs()).report())

    print(_section(5, "Training a two-layer net on real handwritten digits"))
    prepared = recipes.prepare_data("digits", test_size=settings.test_size, seed=settings.seed)
    print(recipes.describe(settings, prepared))
    print("Progress (loss on the minibatch; accuracies on the last minibatch and held out):")
    result = recipes.train(settings, prepared=prepared, verbose=True)
    print(result.summary())

    print(f"\nDone in {time.perf_counter() - start:.1f} s. Next:")
    print("  flatprop gradcheck        every loss, layer and net against numerical gradients")
    print("  flatprop train --help     train on digits or the spiral, with your own settings")
    print("  examples/*.py             each part of the problem set as a script (see the README)")
