"""The problem set's questions (a)-(e) on the multiclass SVM loss, each answered by computing it.

The slide's table: three images (cat, car, frog), three classes, SVM losses 2.9, 0, 12.9.
(a) the car scores change a bit; (b) W small, so s ~ 0; (c) the sum over all classes;
(d) the mean instead of the sum; (e) the squared hinge. The answers are computed by
flatprop.demo.questions, which ``flatprop demo`` prints too.

    python examples/svm_questions.py              # the table and all five answers
    python examples/svm_questions.py --only c d   # some of them
"""

from __future__ import annotations

import argparse

from flatprop.cli import run_command
from flatprop.demo import questions

QUESTIONS = "abcde"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", nargs="+", choices=list(QUESTIONS), default=list(QUESTIONS), metavar="Q",
        help="answer only these questions (a b c d e)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw")
    parser.add_argument(
        "--iters", type=int, default=2000, help="(e): SGD steps for each linear classifier"
    )
    args = parser.parse_args(argv)

    answers = {
        "a": questions.question_a,
        "b": lambda: questions.question_b(seed=args.seed),
        "c": questions.question_c,
        "d": lambda: questions.question_d(seed=args.seed),
        "e": lambda: questions.question_e(seed=args.seed, num_iters=args.iters),
    }
    print(questions.score_table().report())
    for question in sorted(set(args.only)):
        print(answers[question]().report())
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command(main))  # quiet when piped into head
