"""The problem set flatprop grew out of, worked through, for the command line.

The problem set is a CS231n-style homework on the multiclass SVM loss and "flat"
(staged) backprop. Its parts, each computed with flatprop's library:

questions
    The slide's score table and questions (a)-(e), each answered by computing it.
staged
    The staged ("flat") forward and backward passes of the problem set's three models
    (the linear SVM, the two-layer softmax net, the matrix example), every stage named
    and each gradient checked against a numerical one.
self_check
    Every loss, layer and net against numerical gradients: ``flatprop gradcheck``.
recipes
    Training recipes per data set (digits, spiral) with settings that work.
figures
    The four losses against the margin, and training curves (needs matplotlib).
tour
    What ``flatprop demo`` prints, in order.

Nothing in the core (``losses``, ``layers``, ``nets``, ``naive``, ``gradcheck``,
``datasets``) imports this package.
"""
