"""Outside parties: a decision to commit, then support that arrives after a delay."""

import numpy as np


def commits(uniform, commit_probability):
    """The decision, from a uniform draw in [0, 1)."""
    return uniform < commit_probability


def support(capacity, amount):
    """Support of one kind that one ally delivers once it has arrived: capacity x amount."""
    return capacity * amount


def side_total(arrived, capacity, amount, on_side):
    """Support of one kind delivered to one side: sum over allies of arrived x :func:`support`.

    The last axis runs over allies; works for one replication (1-d) and many (2-d).
    """
    return np.where(np.asarray(arrived, bool) & np.asarray(on_side, bool), support(capacity, amount), 0.0).sum(axis=-1)


def split(total, parts):
    """An even split of ``total`` over ``parts`` recipients (nothing when there are none)."""
    return np.where(parts > 0, total / np.maximum(parts, 1), 0.0)
