"""Grading code that nobody vouches for: submissions run isolated and limited.

A submission is named, never imported by the grader: a target
``"path/to/file.py:function"``, which every checker of :mod:`flatprop.testing` takes in
place of a function. The function then runs in a worker process of its own, and only
plain data (numbers, numeric arrays, lists, tuples and dicts of them) comes back.
"""

from flatprop.grading._runner import IsolatedFunction

__all__ = ["IsolatedFunction"]
