"""The plots every selection experiment shows: held-out target loss per arm (one bar per target domain, the standard
error over groups as the error bar), and a selection metric against that loss with both centred within each group
(what `metrics.within_group_r` correlates). They draw on a given matplotlib axis and return it."""

import numpy as np


def loss_per_arm(ax, res, targets, title: str = "Loss per selection arm"):
    """Bars of the mean held-out loss of each arm (sorted, best first) per target, error bars one standard error over
    the groups; `res` has columns `target`, `arm`, `loss`. The y axis starts 0.3 below the lowest loss."""
    missing = {"target", "arm", "loss"} - set(res.columns)
    if missing:
        raise KeyError(f"res lacks the columns {sorted(missing)}")
    order = res.groupby("arm").loss.mean().sort_values().index
    w = 0.8 / len(targets)
    for j, target in enumerate(targets):
        m = res[res.target == target].groupby("arm").loss.agg(["mean", "sem"]).reindex(order)
        ax.bar(np.arange(len(order)) + (j - (len(targets) - 1) / 2) * w, m["mean"], w, yerr=m["sem"], label=target)
    ax.set(xticks=np.arange(len(order)), ylabel="held-out target loss (nats/token)", title=title)
    ax.set_xticklabels(order, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(res.loss.min() - 0.3, res.loss.max() + 0.1)
    ax.legend(fontsize=8)
    return ax


def centred_scatter(ax, df, x: str, xlabel: str, title: str, y: str = "loss", group: str = "group", hue: str = "arm"):
    """`df[x]` against `df[y]`, each minus its group's mean, one colour per `hue` value: the within-group relation
    that `metrics.within_group_r` measures, free of the differences between groups."""
    xc = df[x] - df.groupby(group)[x].transform("mean")
    yc = df[y] - df.groupby(group)[y].transform("mean")
    for value in df[hue].unique():
        m = df[hue] == value
        ax.scatter(xc[m], yc[m], label=value, s=18)
    ax.set(xlabel=xlabel, ylabel=f"held-out target {y}, centred within group", title=title)
    ax.legend(fontsize=8)
    return ax


def claim_intervals(ax, measurements: dict, bar: float, ylabel: str, title: str = "Claims", neutral: float | None = 1.0,
                    rotation: int = 30):  # fmt: skip
    """Each claim's value with its interval (`shared.claims.Measurement`: `value`, `low`, `high`), one point per claim
    in the given order, the verdict bar dashed and the no-effect line (`neutral`, None for none) dotted."""
    names = list(measurements)
    vals = [measurements[c] for c in names]
    if any(v.low is None or v.high is None for v in vals):
        raise ValueError(f"every measurement needs an interval: {[c for c, v in zip(names, vals) if v.low is None]}")
    ax.errorbar(np.arange(len(names)), [v.value for v in vals],
                yerr=[[v.value - v.low for v in vals], [v.high - v.value for v in vals]], fmt="o")  # fmt: skip
    ax.axhline(bar, ls="--", c="gray", lw=1, label=f"bar {bar:g}")
    if neutral is not None:
        ax.axhline(neutral, ls=":", c="gray", lw=1)
    ax.set(xticks=np.arange(len(names)), ylabel=ylabel, title=title)
    ax.set_xticklabels(names, rotation=rotation, ha="right", fontsize=8)
    ax.legend(fontsize=8)
    return ax
