"""flatprop: loss layers with staged ("flat") forward and backward passes, in NumPy.

Modules
-------
losses
    The multiclass SVM, squared hinge, softmax cross-entropy and L2 losses, each as a
    one-shot function and a staged forward/backward pair.
naive
    Loop implementations of the same losses: the readable reference and test oracle.
datasets
    The handwritten digits shipped with flatprop, the synthetic spiral, a seeded split.
gradcheck
    Numerical gradients by central differences, and the relative error.
layers
    Affine and ReLU layers, each a staged forward/backward pair.
nets
    A linear classifier and a two-layer ReLU net with a softmax, SVM or L2 head, trainable.
graph
    A staged pass as a computational graph: DOT text, and pictures with Graphviz.

Imported on demand: ``testing`` (Hypothesis strategies and in-process checkers;
needs Hypothesis, ``pip install "flatprop[test]"``), and ``demo`` (the problem set
worked through: what the ``flatprop`` command and the examples print).
"""

from flatprop import datasets, gradcheck, graph, layers, losses, naive, nets

__version__ = "0.2.0"

__all__ = [
    "__version__",
    "datasets",
    "gradcheck",
    "graph",
    "layers",
    "losses",
    "naive",
    "nets",
]
