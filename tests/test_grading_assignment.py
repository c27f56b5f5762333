"""The assignment file: what it says is read as written, and every mistake in it is an
AssignmentError that names the file, the check and what is wrong, before any grading."""

from __future__ import annotations

import re

import pytest

from flatprop.grading import AssignmentError, Check, load_assignment, read_assignment

GOOD = """
timeout = 5
memory = 1024

[[checks]]
name = "svm_loss_vectorized"
target = "linear_svm.py:svm_loss_vectorized"
checker = "check_linear_loss"
reference = "multiclass_svm"
points = { loss = 2, dW = 8 }
options = { max_examples = 50 }

[[checks]]
name = "two_layer"
target = "nets/two_layer.py:loss"
checker = "check_two_layer_loss"
reference = "softmax"
points = 7.5
timeout = 20
options = { reg_scale = 0.5 }
"""


def test_an_assignment_is_read_as_written():
    assignment = read_assignment(GOOD, source="hw2.toml")
    assert assignment.source == "hw2.toml"
    assert assignment.points == 17.5
    assert assignment.checks == (
        Check(
            name="svm_loss_vectorized",
            target="linear_svm.py:svm_loss_vectorized",
            checker="check_linear_loss",
            reference="multiclass_svm",
            points=10.0,
            parts={"loss": 2.0, "dW": 8.0},
            options={"max_examples": 50},
            timeout=5.0,
            memory=1024,
        ),
        Check(
            name="two_layer",
            target="nets/two_layer.py:loss",
            checker="check_two_layer_loss",
            reference="softmax",
            points=7.5,
            parts=None,
            options={"reg_scale": 0.5},
            timeout=20.0,
            memory=1024,
        ),
    )


def test_the_limits_default_to_10_seconds_and_2048_mib():
    check = read_assignment(
        '[[checks]]\nname = "a"\ntarget = "a.py:f"\nchecker = "check_loss_layer"\n'
        'reference = "svm"\npoints = 1\n'
    ).checks[0]
    assert (check.timeout, check.memory, check.options) == (10.0, 2048, {})


def test_an_assignment_file_is_loaded_from_its_path(tmp_path):
    path = tmp_path / "assignment.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_assignment(path).source == str(path)


CHECK = {
    "name": '"svm"',
    "target": '"linear_svm.py:svm_loss"',
    "checker": '"check_linear_loss"',
    "reference": '"multiclass_svm"',
    "points": "10",
}


def assignment_with(top="", **changes):
    """A one-check assignment; a change of None leaves the key out."""
    keys = {**CHECK, **changes}
    lines = [f"{key} = {value}" for key, value in keys.items() if value is not None]
    return top + "\n[[checks]]\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("[[checks]\nname = 1", "is not valid TOML"),
        ("timeout = 10\n", "has no [[checks]]"),
        (assignment_with("jobs = 2\n"), "unknown key 'jobs'; the keys are timeout, memory, checks"),
        (assignment_with("timeout = 0\n"), "timeout must be > 0 seconds"),
        (assignment_with("timeout = 'long'\n"), "timeout must be a number"),
        (assignment_with("memory = 100\n"), "memory must be a whole number of MiB, at least 256"),
        (assignment_with(points=None), "check 1 ('svm'): points is missing"),
        (assignment_with(target=None), "target is missing"),
        (assignment_with(weight="2"), "unknown key 'weight'"),
        (assignment_with(name='""'), "name must be a non-empty string"),
        (assignment_with(name='"total"'), "the name 'total' is not a usable column name"),
        (assignment_with(target='"linear_svm.py"'), "a target must be 'path/to/file.py:function'"),
        (assignment_with(target='"/srv/linear_svm.py:f"'), "inside the submission's folder"),
        (assignment_with(target='"../ana/linear_svm.py:f"'), "inside the submission's folder"),
        (assignment_with(checker='"check_svm"'), "checker must be one of check_layer_pair, "),
        (
            assignment_with(checker='"check_layer_pair"', reference='"relu"'),
            "the target of check_layer_pair must be two targets",
        ),
        (
            assignment_with(
                checker='"check_layer_pair"',
                reference='"relu"',
                target='["a.py:relu_forward", "b.py:relu_backward"]',
            ),
            "the two targets of a layer pair must name one file",
        ),
        (
            assignment_with(
                checker='"check_layer_pair"',
                reference='"relu"',
                target='["layers.py:relu_forward", "../layers.py:relu_backward"]',
            ),
            "inside the submission's folder",
        ),
        (
            assignment_with(
                checker='"check_layer_pair"',
                reference='"conv"',
                target='["layers.py:relu_forward", "layers.py:relu_backward"]',
                points="{ out = 1, dx = 1 }",
            ),
            "layer must be one of 'affine', 'relu'",
        ),
        (assignment_with(target='["linear_svm.py:f", "linear_svm.py:g"]'), "target must be a"),
        (assignment_with(reference='"hinge"'), "reference must name one of"),
        (assignment_with(points="0"), "points must be > 0"),
        (assignment_with(points="true"), "points must be a number"),
        (assignment_with(points="{}"), "points must name at least one output"),
        (assignment_with(points="{ loss = 0 }"), "points must be >= 0, and not all 0"),
        (assignment_with(points="{ loss = 2, dB = 8 }"), "points has a key 'dB'"),
        (assignment_with(options="[1]"), "options must be a table"),
        (assignment_with(options="{ reg_scale = 0 }"), "reg_scale must be"),
        (assignment_with(options="{ margn = 1 }"), "unknown option 'margn'"),
        (assignment_with(options="{ quantities = ['loss'] }"), "options cannot set 'quantities'"),
        (assignment_with(options="{ timeout = 1 }"), "options cannot set 'timeout'"),
    ],
)
def test_a_mistake_in_the_file_is_an_error_naming_where_it_is(text, phrase):
    with pytest.raises(AssignmentError, match=re.escape(phrase)) as caught:
        read_assignment(text, source="hw.toml")
    assert str(caught.value).startswith("hw.toml")
    assert isinstance(caught.value, ValueError)


def test_two_checks_may_not_share_a_name():
    text = assignment_with() + assignment_with().replace("[[checks]]", "\n[[checks]]", 1)
    with pytest.raises(AssignmentError, match="check 2 \\('svm'\\): the name 'svm' is taken"):
        read_assignment(text)


def test_a_missing_assignment_file_is_an_assignment_error(tmp_path):
    with pytest.raises(AssignmentError, match="cannot read the assignment file"):
        load_assignment(tmp_path / "nowhere.toml")


def test_a_layer_pair_is_two_targets_of_one_file_graded_by_its_outputs():
    text = assignment_with(
        checker='"check_layer_pair"',
        reference='"relu"',
        target='["layers.py:relu_forward", "layers.py:relu_backward"]',
        points="{ out = 1, dx = 3 }",
    )
    (check,) = read_assignment(text, source="hw.toml").checks
    assert check.target == ("layers.py:relu_forward", "layers.py:relu_backward")
    assert check.parts == {"out": 1.0, "dx": 3.0}


def test_a_typo_in_a_key_of_points_is_named_as_a_key_of_points():
    text = GOOD.replace("points = { loss = 2, dW = 8 }", "points = { loss = 2, dw = 8 }")
    with pytest.raises(AssignmentError) as error:
        read_assignment(text, source="hw2.toml")
    assert str(error.value) == (
        "hw2.toml, check 'svm_loss_vectorized': points has a key 'dw', which is not an output "
        "check_linear_loss compares (did you mean 'dW'?); the keys of points name some of "
        "'loss', 'dW'"
    )
