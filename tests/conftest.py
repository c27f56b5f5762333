"""Hypothesis profiles, chosen by the environment variable HYPOTHESIS_PROFILE.

- ``dev`` (the default): 50 examples per property, for quick local runs;
- ``ci``: derandomized (the same examples on every run, no example database), enough
  examples to matter while the whole suite stays within a few minutes on 2 cores;
- ``thorough``: many examples, for a long run before a release.

No profile has a deadline: the tests never assert wall-clock times, and a deadline
would make a loaded machine fail them. Every profile prints the reproduction blob of
a failing example (``@reproduce_failure``).
"""

import atexit
import os
import shutil
import tempfile

from hypothesis import HealthCheck, settings

# A TMPDIR of this run's own. The grading tests find the processes a worker left behind
# by the mark in their environment, which also holds TMPDIR (the runner passes it on):
# it tells this run's workers from those of another test run on the same machine.
RUN_TMPDIR = tempfile.mkdtemp(prefix="flatprop-tests-")
os.environ["TMPDIR"] = RUN_TMPDIR
tempfile.tempdir = None  # gettempdir() reads TMPDIR again
atexit.register(shutil.rmtree, RUN_TMPDIR, ignore_errors=True)

settings.register_profile("dev", max_examples=50, deadline=None, print_blob=True)
settings.register_profile(
    "ci",
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=2_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
settings.load_profile(PROFILE)


def pytest_report_header() -> str:
    # PROFILE, not settings.get_current_profile_name(): Hypothesis 6.80 (our floor) has none
    return f"hypothesis profile: {PROFILE}"
