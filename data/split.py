"""Stratified, seeded train/validation split (scikit-learn's ``train_test_split``), and
class-balanced resampling of a training set."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def stratified_split(items: Sequence[T], label: Callable[[T], str], validation_fraction: float = 0.1,
                     seed: int = 42) -> tuple[list[T], list[T]]:
    """Split keeping each label's share on both sides; the same seed gives the same split.

    Labels seen once cannot be stratified: they stay in train (DDXPlus subsets have such
    pathologies). If the validation side is too small to hold every label, it falls back to a
    seeded random split.
    """
    from sklearn.model_selection import train_test_split

    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    labels = [label(item) for item in items]
    counts = Counter(labels)
    rare = [i for i, lab in enumerate(labels) if counts[lab] < 2]
    rest = [i for i, lab in enumerate(labels) if counts[lab] >= 2]
    if len(rest) < 2:
        return list(items), []
    n_val = max(1, round(len(rest) * validation_fraction))
    stratify = [labels[i] for i in rest] if n_val >= len({labels[i] for i in rest}) else None
    train_idx, val_idx = train_test_split(rest, test_size=n_val, random_state=seed, stratify=stratify)
    train_idx = sorted([*train_idx, *rare])
    return [items[i] for i in train_idx], [items[i] for i in sorted(val_idx)]


def class_balanced(items: Sequence[T], label: Callable[[T], str], total: int, rng: random.Random) -> list[T]:
    """``total // labels`` items of every label (at least one each), grouped by label in sorted order.

    A label with more items gives a random subset, one with fewer repeats all of them as often as
    fits and fills the rest with a random subset, so every item of a rare label is seen about
    equally often. Deterministic for a seeded ``rng``. Resampling, not loss weighting: the
    trainer, its collator and its loss stay TRL's own.
    """
    groups: dict[str, list[T]] = defaultdict(list)
    for item in items:
        groups[label(item)].append(item)
    if not groups:
        return []
    per_label = max(1, total // len(groups))
    out: list[T] = []
    for name in sorted(groups):
        group = groups[name]
        if len(group) >= per_label:
            out += rng.sample(group, per_label)
        else:
            out += group * (per_label // len(group)) + rng.sample(group, per_label % len(group))
    return out
