"""Claims as code: what a paper says, the rule that will judge it (fixed before the run), and the verdict from our numbers.

A notebook declares its `Claim`s before the experiment runs, prints them (the pre-registration), then hands its
measurements to `evaluate_claims`. Rules are small frozen dataclasses, so the rule text in `results/<profile>.json` is
generated from the same object that computed the verdict.

Verdict engine v2 (the evidence standard, `../shared/handbook/evidence-standard.md`):

- **Intervals that fit the quantity** (`Measurement` constructors): `proportion` (Wilson or Clopper-Pearson),
  `correlation` (Fisher z over units), `ratio` (paired per-unit ratios on the log scale), `paired_difference`,
  `mean` and `bootstrap` (a bootstrap over the natural unit: document, prompt, step, seed), `exact` (a deterministic
  value). Bounds stay inside the quantity's range, and identical units never give a zero-width interval.
- **Rules**: one-sided (`AtLeast`, `AtMost`) judge the whole interval: past the full bar is *reproduced*, wholly past
  the partial bar is *partially reproduced*, wholly short of the partial bar is *not reproduced*; only an interval that
  straddles the partial bar is *inconclusive*. Two-sided (`RelativeTo`, `Within`: "matches", "on par") need the whole
  interval inside the declared band.
- **Noisy claims** need an interval over at least `MIN_UNITS` units; the record says what the unit is and how many.
- **Preconditions** (positive controls): when the setup cannot show the effect, the verdict is *inconclusive* with
  that reason, never *not reproduced*.
- **Trivial controls**: a comparative claim names, in `claims.py`, the cheapest explanation of its effect; the run
  measures the method's margin over it as a paired difference, and the method must beat it (interval above zero).
- Every *inconclusive* records what would decide it (`decide`).
- **Reproduction tolerance** (`Tolerance`): how far a re-execution on another machine may move the value; the rerun
  contract (`shared.rerun`) holds every re-executed notebook to it.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

VERDICTS = ("reproduced", "partially reproduced", "not reproduced", "inconclusive")
FIDELITIES = ("faithful", "scaled-down", "analogue")
# noisy: an estimate over independent units (needs an interval and MIN_UNITS units); exact: a deterministic value
# (enumeration, a closed form); timing: machine-dependent, judged here but only reported by a rerun elsewhere
KINDS = ("noisy", "exact", "timing")
MIN_UNITS = 5
LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 9999

REPRODUCED, PARTIAL, NOT_REPRODUCED, INCONCLUSIVE = VERDICTS


# measurements and their intervals


@dataclass(frozen=True)
class Measurement:
    """Our value for a claim, with an optional interval (95% unless a constructor says otherwise).

    Build one with the constructor that fits the quantity (`mean`, `proportion`, `correlation`, `ratio`,
    `paired_difference`, `bootstrap`, `exact`) rather than by hand.

    Args:
        value (float): the point estimate.
        low, high (float, Optional): interval bounds; both or neither.
        n (int, Optional): how many independent units the value summarises. Default: 1.
        unit (str, Optional): unit of `value`, for tables.
        n_unit (str, Optional): what one unit is (`"documents"`, `"seeds"`, `"prompts"`).
        interval (str, Optional): how the interval was computed (`"wilson"`, `"bootstrap"`, ...).
    """

    value: float
    low: float | None = None
    high: float | None = None
    n: int = 1
    unit: str = ""
    n_unit: str = ""
    interval: str = ""

    def __post_init__(self):
        if (self.low is None) != (self.high is None):
            raise ValueError("give both interval bounds or neither")
        if self.low is not None and not self.low <= self.value <= self.high:
            raise ValueError(f"value {self.value} lies outside its interval [{self.low}, {self.high}]")
        if not isinstance(self.n, int) or isinstance(self.n, bool) or self.n < 1:
            raise ValueError(f"n must be a positive integer, got {self.n!r}")

    # constructors, one per kind of quantity

    @classmethod
    def exact(cls, value: float, unit: str = "", n: int = 1, n_unit: str = "") -> "Measurement":
        """A deterministic value (an enumeration, a closed form, a count over a fixed set): no interval."""
        return cls(float(value), n=n, unit=unit, n_unit=n_unit, interval="exact")

    @classmethod
    def mean(
        cls,
        samples: Sequence[float],
        n_unit: str = "units",
        unit: str = "",
        level: float = LEVEL,
        bounds: tuple[float, float] | None = None,
        resolution: float | None = None,
    ) -> "Measurement":
        """The mean over independent units with a BCa bootstrap interval over the units.

        `bounds` is the quantity's valid range (a share in [0, 1]): the interval never leaves it. When every unit gives
        the same value the interval is that value ± `resolution` (default: one step of the recorded fourth significant
        digit), never zero width: five identical outcomes are not certainty.
        """
        xs = _floats(samples)
        return cls.bootstrap(xs, _mean, n_unit=n_unit, unit=unit, level=level, bounds=bounds, resolution=resolution)

    @classmethod
    def t_mean(
        cls,
        samples: Sequence[float],
        n_unit: str = "units",
        unit: str = "",
        level: float = LEVEL,
        bounds: tuple[float, float] | None = None,
        resolution: float | None = None,
    ) -> "Measurement":
        """The mean over a few independent units (5-10 seeds, each its own model or split) with a Student-t interval,
        `n - 1` degrees of freedom: with so few units a bootstrap's percentile interval runs narrow, the t interval
        does not. One unit: no interval (a claim on it is then inconclusive). Identical units: ± `resolution` (default
        one step of the fourth significant digit), as in `mean`; `bounds` clips the interval to the quantity's range.
        """
        import numpy as np
        from scipy import stats

        xs = np.asarray(_floats(samples))
        n, m = len(xs), float(xs.mean())
        if n == 1:
            return cls(m, n=1, unit=unit, n_unit=n_unit, interval="none (one unit)")
        half = float(stats.t.ppf(0.5 + level / 2, n - 1) * xs.std(ddof=1) / np.sqrt(n))
        if half == 0:
            half = resolution if resolution is not None else _resolution(m)
        lo, hi = _clip(m - half, m + half, bounds)
        return cls(m, lo, hi, n=n, unit=unit, n_unit=n_unit, interval=f"Student t over {n_unit}, df={n - 1}")

    @classmethod
    def from_samples(
        cls, samples: Sequence[float], level: float = LEVEL, unit: str = "", n_unit: str = "units"
    ) -> "Measurement":
        """The v1 name of `mean` (kept so that older notebooks run): the mean with a bootstrap interval over units."""
        return cls.mean(samples, n_unit=n_unit, unit=unit, level=level)  # fmt: skip

    @classmethod
    def bootstrap(
        cls,
        units: Sequence,
        statistic: Callable[[Sequence], float],
        n_unit: str = "units",
        unit: str = "",
        level: float = LEVEL,
        bounds: tuple[float, float] | None = None,
        resolution: float | None = None,
        seed: int = 0,
    ) -> "Measurement":
        """`statistic(units)` with a bootstrap interval that resamples whole units (documents, prompts, seeds).

        `units` is a sequence of whatever one unit is (a number, a tuple, a row); `statistic` maps a list of units to a
        float. The resampling is seeded, so the interval is the same on every machine. BCa where it is defined, the
        percentile interval where BCa degenerates.
        """
        import numpy as np

        units = list(units)
        if not units:
            raise ValueError("no units")
        value = float(statistic(units))
        if math.isnan(value):
            raise ValueError("the statistic is NaN on the data")
        n = len(units)
        if n == 1:
            return cls(value, n=1, unit=unit, n_unit=n_unit, interval="none (one unit)")
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, n, size=(BOOTSTRAP_RESAMPLES, n))
        if statistic is _mean:  # the common case, vectorised: the same numbers as the loop below
            stats = np.asarray(units, dtype=float)[idx].mean(axis=1)
        else:
            stats = np.array([statistic([units[i] for i in row]) for row in idx], dtype=float)
        stats = stats[np.isfinite(stats)]
        alpha = (1 - level) / 2
        lo, hi, method = _bca(units, statistic, value, stats, alpha)
        if hi - lo <= 0:
            r = resolution if resolution is not None else _resolution(value)
            lo, hi, method = value - r, value + r, f"{method}; identical resamples, widened by ±{_fmt(r)}"
        lo, hi = min(lo, value), max(hi, value)
        lo, hi = _clip(lo, hi, bounds)
        return cls(value, lo, hi, n=n, unit=unit, n_unit=n_unit, interval=method)

    @classmethod
    def proportion(
        cls, successes: int, trials: int, n_unit: str = "trials", method: str = "wilson", level: float = LEVEL
    ) -> "Measurement":
        """A share of successes with a Wilson score (default) or Clopper-Pearson exact interval, inside [0, 1].

        0/5 or 5/5 still gives a non-zero-width interval.
        """
        from scipy import stats

        if not (isinstance(successes, int) and isinstance(trials, int)) or trials < 1 or not 0 <= successes <= trials:
            raise ValueError(f"need integers 0 <= successes <= trials, trials >= 1; got {successes}/{trials}")
        p = successes / trials
        if method == "wilson":
            z = stats.norm.ppf(0.5 + level / 2)
            denom = 1 + z**2 / trials
            centre = (p + z**2 / (2 * trials)) / denom
            half = z * math.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / denom
            lo, hi = max(0.0, centre - half), min(1.0, centre + half)
        elif method == "clopper-pearson":
            a = (1 - level) / 2
            lo = 0.0 if successes == 0 else float(stats.beta.ppf(a, successes, trials - successes + 1))
            hi = 1.0 if successes == trials else float(stats.beta.ppf(1 - a, successes + 1, trials - successes))
        else:
            raise ValueError(f"unknown proportion interval {method!r}; use 'wilson' or 'clopper-pearson'")
        return cls(p, min(lo, p), max(hi, p), n=trials, n_unit=n_unit, interval=method)

    @classmethod
    def correlation(
        cls,
        x: Sequence[float],
        y: Sequence[float],
        method: str = "spearman",
        n_unit: str = "units",
        level: float = LEVEL,
    ) -> "Measurement":
        """Pearson or Spearman correlation over paired units with a Fisher z interval, inside [-1, 1].

        One pair per independent unit (a document, a prompt), never per bin mean. Spearman uses the Bonett-Wright
        standard error, sqrt((1 + r^2 / 2) / (n - 3)).
        """
        from scipy import stats

        xs, ys = _floats(x), _floats(y)
        if len(xs) != len(ys):
            raise ValueError(f"x and y differ in length ({len(xs)} vs {len(ys)})")
        n = len(xs)
        if n < 4:
            raise ValueError(f"a correlation interval needs at least 4 units, got {n}")
        if len(set(xs)) == 1 or len(set(ys)) == 1:
            raise ValueError("the correlation is undefined: one of the variables is constant")
        if method == "pearson":
            r = float(stats.pearsonr(xs, ys).statistic)
            se = 1 / math.sqrt(n - 3)
        elif method == "spearman":
            r = float(stats.spearmanr(xs, ys).statistic)
            se = math.sqrt((1 + r * r / 2) / (n - 3))
        else:
            raise ValueError(f"unknown correlation {method!r}; use 'pearson' or 'spearman'")
        if math.isnan(r):
            raise ValueError("the correlation is undefined: one of the variables is constant")
        z = math.atanh(max(-0.999999, min(0.999999, r)))
        q = stats.norm.ppf(0.5 + level / 2)
        lo, hi = math.tanh(z - q * se), math.tanh(z + q * se)
        return cls(r, min(lo, r), max(hi, r), n=n, n_unit=n_unit, interval=f"Fisher z ({method})")

    @classmethod
    def ratio(
        cls,
        numerator: Sequence[float],
        denominator: Sequence[float],
        n_unit: str = "units",
        unit: str = "",
        level: float = LEVEL,
    ) -> "Measurement":
        """The geometric mean of paired per-unit ratios, with a bootstrap interval on the log scale.

        Both sequences hold one positive value per unit, in the same order (the method's and the baseline's perplexity
        on each document, say).
        """
        num, den = _floats(numerator), _floats(denominator)
        if len(num) != len(den):
            raise ValueError(f"numerator and denominator differ in length ({len(num)} vs {len(den)})")
        if any(v <= 0 for v in num + den):
            raise ValueError("a ratio on the log scale needs positive values")
        logs = [math.log(a / b) for a, b in zip(num, den)]
        m = cls.bootstrap(logs, _mean, n_unit=n_unit, level=level)
        if not m.has_interval:
            return cls(math.exp(m.value), n=m.n, unit=unit, n_unit=n_unit, interval=m.interval)
        return cls(math.exp(m.value), math.exp(m.low), math.exp(m.high), n=m.n, unit=unit, n_unit=n_unit,
                   interval=f"log-scale {m.interval}")  # fmt: skip

    @classmethod
    def paired_difference(
        cls,
        a: Sequence[float],
        b: Sequence[float],
        n_unit: str = "units",
        unit: str = "",
        level: float = LEVEL,
        resolution: float | None = None,
    ) -> "Measurement":
        """The mean per-unit difference `a - b` with a bootstrap interval over units (a method against its control on
        the same documents, say)."""
        xs, ys = _floats(a), _floats(b)
        if len(xs) != len(ys):
            raise ValueError(f"the two arms differ in length ({len(xs)} vs {len(ys)})")
        d = [x - y for x, y in zip(xs, ys)]
        m = cls.bootstrap(d, _mean, n_unit=n_unit, unit=unit, level=level, resolution=resolution)
        return cls(m.value, m.low, m.high, m.n, unit, n_unit, f"paired {m.interval}")

    # reading and writing

    @classmethod
    def from_dict(cls, d: dict) -> "Measurement":
        """A measurement as recorded in `results/<profile>.json` (`ours`)."""
        return cls(d["value"], d.get("low"), d.get("high"), n=d.get("n", 1), unit=d.get("unit", ""),
                   n_unit=d.get("n_unit", ""), interval=d.get("interval", ""))  # fmt: skip

    @property
    def has_interval(self) -> bool:
        return self.low is not None

    @property
    def bounds(self) -> tuple[float, float]:
        """`(low, high)`, or the point twice when there is no interval."""
        return (self.low, self.high) if self.has_interval else (self.value, self.value)

    def rounded(self, digits: int = 4) -> "Measurement":
        """The measurement as it is recorded (significant digits), so that a verdict can be recomputed from the file."""
        r = lambda x: None if x is None else _round(x, digits)  # noqa: E731
        return Measurement(r(self.value), r(self.low), r(self.high), self.n, self.unit, self.n_unit, self.interval)

    def to_dict(self, digits: int = 4) -> dict:
        out = {"value": _round(self.value, digits), "n": self.n}
        if self.has_interval:
            out.update(low=_round(self.low, digits), high=_round(self.high, digits))
        for key in ("unit", "n_unit", "interval"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out

    def __str__(self) -> str:
        s = _fmt(self.value)
        if self.has_interval:
            s += f" [{_fmt(self.low)}, {_fmt(self.high)}]"
        return s + (f" {self.unit}" if self.unit else "")


def _floats(xs) -> list[float]:
    out = [float(x) for x in xs]
    if not out:
        raise ValueError("no samples")
    if any(math.isnan(x) for x in out):
        raise ValueError("NaN among the samples")
    return out


def _mean(xs) -> float:
    return sum(xs) / len(xs)


def _bca(units, statistic, value, stats, alpha) -> tuple[float, float, str]:
    """BCa bounds from bootstrap replicates; the percentile interval where BCa is undefined."""
    import numpy as np
    from scipy.stats import norm

    if len(stats) == 0:
        return value, value, "bootstrap"
    pct = (float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha)), "bootstrap (percentile)")
    below = (stats < value).mean() + 0.5 * (stats == value).mean()
    if not 0 < below < 1:
        return pct
    z0 = norm.ppf(below)
    jack = np.array([statistic(units[:i] + units[i + 1 :]) for i in range(len(units))], dtype=float)
    d = jack.mean() - jack
    den = 6 * (d**2).sum() ** 1.5
    if den == 0 or not np.isfinite(den):
        return pct
    a = (d**3).sum() / den
    qs = []
    for z in (norm.ppf(alpha), norm.ppf(1 - alpha)):
        adj = z0 + (z0 + z) / (1 - a * (z0 + z))
        qs.append(float(norm.cdf(adj)))
    if not all(0 < q < 1 for q in qs):
        return pct
    return float(np.quantile(stats, qs[0])), float(np.quantile(stats, qs[1])), "bootstrap (BCa)"


def _resolution(x: float) -> float:
    """One step of the fourth significant digit of `x` (what a record at 4 significant digits can tell apart)."""
    if x == 0 or not math.isfinite(x):
        return 1e-4
    return 10 ** (math.floor(math.log10(abs(x))) - 3)


def _clip(lo: float, hi: float, bounds: tuple[float, float] | None) -> tuple[float, float]:
    if bounds is None:
        return lo, hi
    return max(lo, bounds[0]), min(hi, bounds[1])


def _round(x: float, digits: int) -> float:
    # significant digits, so that 1e-5 and 12345.6 both stay readable and deterministic in JSON
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def _fmt(x: float) -> str:
    return f"{x:.4g}"


# rules


class Rule:
    """Decides a verdict from a `Measurement`. Subclasses implement `judge`, `describe` and `decide`."""

    def judge(self, m: Measurement) -> tuple[str, str]:
        """`(verdict, reason)`; the reason quotes the numbers that decided it."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def bars(self) -> list[float]:
        """The values at which the verdict changes (the edges an interval must clear)."""
        raise NotImplementedError

    def decide(self, m: Measurement) -> str:
        """For an inconclusive `m`: how many units (at today's spread) or what effect would decide it."""
        lo, hi = m.bounds
        straddled = [b for b in self.bars() if lo < b < hi or b in (lo, hi)]
        if not straddled or not m.has_interval:
            return "a measurement with an interval over units"
        bar = min(straddled, key=lambda b: abs(m.value - b))
        gap, half = abs(m.value - bar), (hi - lo) / 2
        units = m.n_unit or "units"
        if gap < 1e-12 or gap < half / 10:
            return (f"the estimate {_fmt(m.value)} sits on the bar {_fmt(bar)}: no affordable number of {units} "
                    f"decides it; a larger effect or another scale would")  # fmt: skip
        need = math.ceil(m.n * (half / gap) ** 2 * 1.1)
        return (f"about {need} {units} (now {m.n}) if the estimate stays at {_fmt(m.value)}, to clear the bar "
                f"{_fmt(bar)}; or an effect that far from the bar")  # fmt: skip


def _one_sided(lo: float, hi: float, full: float, partial: float | None) -> str:
    """The v2 logic on an interval oriented so that larger is better."""
    floor = full if partial is None else partial
    if lo >= full:
        return REPRODUCED
    if hi < floor:
        return NOT_REPRODUCED
    if partial is not None and lo >= partial:
        return PARTIAL
    return INCONCLUSIVE


@dataclass(frozen=True)
class AtLeast(Rule):
    """Reproduced when the whole interval is ≥ `threshold`; partially when it is wholly ≥ `partial` but reaches below
    `threshold`; not reproduced when it lies wholly below `partial` (or `threshold`); inconclusive only when it
    straddles the lowest bar."""

    threshold: float
    partial: float | None = None

    def __post_init__(self):
        if self.partial is not None and self.partial > self.threshold:
            raise ValueError(f"partial bar {self.partial} is above the full bar {self.threshold}")

    def judge(self, m):
        lo, hi = m.bounds
        floor = self.threshold if self.partial is None else self.partial
        verdict = _one_sided(lo, hi, self.threshold, self.partial)
        return verdict, {
            REPRODUCED: f"{m} >= {_fmt(self.threshold)}",
            NOT_REPRODUCED: f"{m} < {_fmt(floor)}",
            PARTIAL: f"{m} >= {_fmt(floor)} but not wholly >= {_fmt(self.threshold)}",
            INCONCLUSIVE: f"interval {m} straddles the bar {_fmt(floor)}",
        }[verdict]

    def describe(self):
        s = f"reproduced if ours >= {_fmt(self.threshold)}"
        return s + (f"; partially if >= {_fmt(self.partial)}" if self.partial is not None else "")

    def bars(self):
        return [self.threshold if self.partial is None else self.partial]


@dataclass(frozen=True)
class AtMost(Rule):
    """The mirror of `AtLeast`: reproduced when the whole interval is ≤ `threshold`, partially when wholly ≤
    `partial`."""

    threshold: float
    partial: float | None = None

    def __post_init__(self):
        if self.partial is not None and self.partial < self.threshold:
            raise ValueError(f"partial bar {self.partial} is below the full bar {self.threshold}")

    def judge(self, m):
        lo, hi = m.bounds
        ceiling = self.threshold if self.partial is None else self.partial
        verdict = _one_sided(-hi, -lo, -self.threshold, None if self.partial is None else -self.partial)
        return verdict, {
            REPRODUCED: f"{m} <= {_fmt(self.threshold)}",
            NOT_REPRODUCED: f"{m} > {_fmt(ceiling)}",
            PARTIAL: f"{m} <= {_fmt(ceiling)} but not wholly <= {_fmt(self.threshold)}",
            INCONCLUSIVE: f"interval {m} straddles the bar {_fmt(ceiling)}",
        }[verdict]

    def describe(self):
        s = f"reproduced if ours <= {_fmt(self.threshold)}"
        return s + (f"; partially if <= {_fmt(self.partial)}" if self.partial is not None else "")

    def bars(self):
        return [self.threshold if self.partial is None else self.partial]


def _two_sided(lo: float, hi: float, band: tuple[float, float], outer: tuple[float, float] | None) -> str:
    def inside(b):
        return b[0] <= lo and hi <= b[1]

    def outside(b):
        return hi < b[0] or lo > b[1]

    if inside(band):
        return REPRODUCED
    widest = outer or band
    if outside(widest):
        return NOT_REPRODUCED
    if outer is not None and inside(outer):
        return PARTIAL
    return INCONCLUSIVE


@dataclass(frozen=True)
class Within(Rule):
    """A two-sided claim ("matches", "on par"): reproduced when the whole interval lies inside `[low, high]`; partially
    when it lies inside the wider `partial` band; not reproduced when it lies wholly outside the widest band; else
    inconclusive."""

    low: float
    high: float
    partial: tuple[float, float] | None = None

    def __post_init__(self):
        if not self.low < self.high:
            raise ValueError(f"need low < high, got [{self.low}, {self.high}]")
        if self.partial is not None and not (self.partial[0] <= self.low and self.high <= self.partial[1]):
            raise ValueError(f"partial band {self.partial} must contain [{self.low}, {self.high}]")

    def judge(self, m):
        lo, hi = m.bounds
        verdict = _two_sided(lo, hi, (self.low, self.high), self.partial)
        band = f"[{_fmt(self.low)}, {_fmt(self.high)}]"
        outer = f"[{_fmt(self.partial[0])}, {_fmt(self.partial[1])}]" if self.partial else band
        return verdict, {
            REPRODUCED: f"{m} lies inside {band}",
            PARTIAL: f"{m} lies inside {outer}, not wholly inside {band}",
            NOT_REPRODUCED: f"{m} lies outside {outer}",
            INCONCLUSIVE: f"interval {m} crosses an edge of {band if self.partial is None else outer}",
        }[verdict]

    def describe(self):
        s = f"reproduced if ours lies within [{_fmt(self.low)}, {_fmt(self.high)}]"
        return s + (f"; partially if within [{_fmt(self.partial[0])}, {_fmt(self.partial[1])}]" if self.partial else "")

    def bars(self):
        return list(self.partial or (self.low, self.high))


@dataclass(frozen=True)
class RelativeTo(Rule):
    """Ours agrees with a target value within a relative tolerance, judged on the whole interval (a two-sided claim):
    reproduced when the interval lies within ±`tol` of `target`, partially within ±`partial_tol`, not reproduced when
    it lies wholly outside the widest band, else inconclusive."""

    target: float
    tol: float
    partial_tol: float | None = None

    def __post_init__(self):
        if self.target == 0:
            raise ValueError("relative tolerance around 0 is undefined: use Within or AtMost on the absolute error")
        if self.tol <= 0 or (self.partial_tol is not None and self.partial_tol < self.tol):
            raise ValueError("need 0 < tol <= partial_tol")

    def _band(self, tol):
        a, b = self.target * (1 - tol), self.target * (1 + tol)
        return (min(a, b), max(a, b))

    def judge(self, m):
        lo, hi = m.bounds
        outer = self._band(self.partial_tol) if self.partial_tol is not None else None
        verdict = _two_sided(lo, hi, self._band(self.tol), outer)
        err = abs(m.value - self.target) / abs(self.target)
        widest = self.partial_tol if self.partial_tol is not None else self.tol
        return verdict, {
            REPRODUCED: f"{m} lies within ±{self.tol:.0%} of {_fmt(self.target)}",
            PARTIAL: f"{m} lies within ±{widest:.0%} of {_fmt(self.target)}, not wholly within ±{self.tol:.0%}",
            NOT_REPRODUCED: f"{m} lies outside ±{widest:.0%} of {_fmt(self.target)} ({err:.1%} away)",
            INCONCLUSIVE: f"interval {m} crosses the edge of ±{widest if outer else self.tol:.0%} of "
            f"{_fmt(self.target)}",
        }[verdict]

    def describe(self):
        s = f"reproduced if within {self.tol:.0%} of {_fmt(self.target)}"
        return s + (f"; partially if within {self.partial_tol:.0%}" if self.partial_tol is not None else "")

    def bars(self):
        return list(self._band(self.partial_tol if self.partial_tol is not None else self.tol))


# what a claim carries besides its rule


@dataclass(frozen=True)
class Tolerance:
    """How far a re-execution may move the recorded value (the rerun contract): `|fresh - committed| <= abs + rel *
    |committed| + interval * (high - low)`, where `high - low` is the width of the committed value's interval. `why`
    says in one line where the numbers come from (the spread measured by re-running with another thread count, say);
    it is no wider than that spread.

    `interval` is for chaotic values: a mean over seeds of models trained for hundreds of steps, where a last-bit
    difference in one matrix product (another CPU's BLAS kernel) sends a seed's run elsewhere. No re-run on one
    machine bounds that spread; on another CPU each seed is in effect another draw of the training noise, so the
    mean may move by about its own sampling error, and `interval=1` allows one width of the committed 95% interval
    (were the seeds redrawn independently, a move beyond that would have odds of roughly 1 in 100: 1 in 180 for a
    normal-theory interval, more for bootstrap intervals over 5 seeds, which run narrow). The verdict must still be
    the same: the contract checks that separately."""

    rel: float
    abs: float = 0.0
    why: str = ""
    interval: float = 0.0

    def __post_init__(self):
        if self.rel < 0 or self.abs < 0 or self.interval < 0:
            raise ValueError("tolerances are non-negative")
        if not self.why.strip():
            raise ValueError("a tolerance needs a one-line justification (`why`)")

    def allows(self, committed: float, fresh: float, width: float | None = None) -> bool:
        """Whether `fresh` is within the tolerance of `committed`; `width` is the committed interval's width, which
        an `interval` tolerance needs (without it, only `abs` and `rel` count)."""
        return abs(fresh - committed) <= self.bound(committed, width) + 1e-12

    def bound(self, committed: float, width: float | None = None) -> float:
        """The largest move allowed from `committed`."""
        extra = self.interval * width if self.interval and width is not None and math.isfinite(width) else 0.0
        return self.abs + self.rel * abs(committed) + extra

    def describe(self) -> str:
        parts = [f"±{self.rel:.2g} relative"] if self.rel else []
        parts += [f"±{self.abs:.2g} absolute"] if self.abs else []
        parts += [f"±{self.interval:.2g} x the committed interval's width"] if self.interval else []
        return " + ".join(parts) or "exact"

    def to_dict(self) -> dict:
        out = {"rel": self.rel, "abs": self.abs, "why": self.why}
        if self.interval:
            out["interval"] = self.interval
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Tolerance":
        return cls(d["rel"], d["abs"], d["why"], d.get("interval", 0.0))


@dataclass(frozen=True)
class Precondition:
    """A positive control: what the setup must show for the claim's test to mean anything (the model learned the task
    above the floor, the attack recovers a planted mixture). The run measures it under `id`; when `rule` does not
    say *reproduced*, the claim is *inconclusive*, never *not reproduced*."""

    id: str
    text: str
    rule: Rule

    def check(self, ours) -> dict:
        m = _as_measurement(ours).rounded()
        verdict, reason = self.rule.judge(m)
        return {"id": self.id, "text": self.text, "rule": self.rule.describe(), "ours": m.to_dict(),
                "passed": verdict == REPRODUCED, "reason": reason}  # fmt: skip


@dataclass(frozen=True)
class Control:
    """The trivial control beside a comparative claim: the cheapest thing that could explain the effect away (random
    selection, a no-op, downsampling, sink-protected random eviction, a placebo). The run measures the method's margin
    over it as a paired per-unit difference oriented so that positive means the method is better; the method must
    beat it (the whole interval above zero)."""

    name: str
    text: str

    def check(self, margin) -> dict:
        m = _as_measurement(margin).rounded()
        lo, hi = m.bounds
        if not m.has_interval:
            beaten, reason = None, f"margin over {self.name} {m} has no interval over units"
        elif lo > 0:
            beaten, reason = True, f"margin over {self.name} {m} > 0"
        elif hi <= 0:
            beaten, reason = False, f"margin over {self.name} {m} <= 0: the control does as well"
        else:
            beaten, reason = None, f"margin over {self.name} {m} straddles 0"
        return {"name": self.name, "text": self.text, "ours": m.to_dict(), "beaten": beaten, "reason": reason}


def _as_measurement(x) -> Measurement:
    if isinstance(x, Measurement):
        return x
    if isinstance(x, dict):
        return Measurement.from_dict(x)
    if isinstance(x, bool):
        return Measurement.exact(1.0 if x else 0.0)
    return Measurement(float(x))


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, fixed before the experiment runs.

    Args:
        id (str): short stable id, unique within the paper (e.g. `"global-min"`); citations use it.
        text (str): the claim in one sentence, as the paper makes it.
        paper_value (float | str | None): the paper's number wherever it gives one (else a short statement).
        paper_ref (str): where the paper says it: `"Thm. 4.1"`, `"Fig. 3"`, `"Tab. 2"`.
        rule (Rule): the verdict rule, applied to our `Measurement`.
        fidelity (str): `faithful`, `scaled-down` or `analogue`: how close our setting is to the paper's.
        unit (str, Optional): unit of the measured quantity.
        measures (str, Optional): what exactly our number is, in words.
        kind (str, Optional): `noisy` (default: an estimate over units, needs an interval and `MIN_UNITS` units),
            `exact` (deterministic), or `timing` (machine-dependent: a rerun elsewhere reports it, never fails on it).
        tolerance (Tolerance, Optional): the reproduction tolerance of the rerun contract.
        preconditions (tuple[Precondition], Optional): positive controls the run must pass.
        control (Control, Optional): the trivial control of a comparative claim.
        paper_version (str, Optional): the arXiv version the value is read from (`"2309.17453v4"`).
        paper_quote (str, Optional): the verbatim sentence or table cell.
    """

    id: str
    text: str
    paper_value: float | str | None
    paper_ref: str
    rule: Rule
    fidelity: str
    unit: str = ""
    measures: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    kind: str = "noisy"
    tolerance: Tolerance | None = None
    preconditions: tuple[Precondition, ...] = ()
    control: Control | None = None
    paper_version: str = ""
    paper_quote: str = ""

    def __post_init__(self):
        if self.fidelity not in FIDELITIES:
            raise ValueError(f"claim {self.id!r}: fidelity must be one of {FIDELITIES}, got {self.fidelity!r}")
        if not isinstance(self.rule, Rule):
            raise TypeError(f"claim {self.id!r}: rule must be a shared.claims.Rule, got {type(self.rule).__name__}")
        if not self.id or not self.id.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"claim id must be alphanumeric with - or _, got {self.id!r}")
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.tolerance is not None and not isinstance(self.tolerance, Tolerance):
            raise TypeError(f"claim {self.id!r}: tolerance must be a shared.claims.Tolerance")
        if not isinstance(self.preconditions, tuple) or not all(
            isinstance(p, Precondition) for p in self.preconditions
        ):
            raise TypeError(f"claim {self.id!r}: preconditions must be a tuple of shared.claims.Precondition")
        if self.control is not None and not isinstance(self.control, Control):
            raise TypeError(f"claim {self.id!r}: control must be a shared.claims.Control")

    def evaluate(self, ours, control=None, checks: dict | None = None) -> dict:
        """Judge our measurement; `control` is the method's margin over the declared control, `checks` maps
        precondition ids to their measurements (a `Measurement`, a number or a bool)."""
        m = _as_measurement(ours)
        if not m.unit and self.unit:
            m = Measurement(m.value, m.low, m.high, m.n, self.unit, m.n_unit, m.interval)
        # judge the numbers as recorded, so that anyone can recompute the verdict from results/<profile>.json
        m = m.rounded()
        checks = checks or {}
        missing = [p.id for p in self.preconditions if p.id not in checks]
        if missing:
            raise KeyError(f"claim {self.id!r}: no measurement for precondition(s) {missing}")
        if self.control is not None and control is None:
            raise KeyError(f"claim {self.id!r}: no measurement of its control ({self.control.name})")
        if self.control is None and control is not None:
            raise KeyError(f"claim {self.id!r} declares no control, but a control margin was given")
        pre = [p.check(checks[p.id]) for p in self.preconditions]
        ctrl = self.control.check(control) if self.control is not None else None
        verdict, reason, decide = self._judge(m, pre, ctrl)
        out = {
            "id": self.id,
            "text": self.text,
            "paper_value": self.paper_value,
            "paper_unit": self.unit,
            "paper_ref": self.paper_ref,
            "measures": self.measures,
            "ours": m.to_dict(),
            "rule": self.rule.describe(),
            "verdict": verdict,
            "reason": reason,
            "fidelity": self.fidelity,
            "kind": self.kind,
        }
        if self.tolerance is not None:
            out["tolerance"] = self.tolerance.to_dict()
        if pre:
            out["preconditions"] = pre
        if ctrl is not None:
            out["control"] = ctrl
        if decide:
            out["decide"] = decide
        if self.paper_version:
            out["paper_version"] = self.paper_version
        if self.paper_quote:
            out["paper_quote"] = self.paper_quote
        return out

    def _judge(self, m: Measurement, pre: list[dict], ctrl: dict | None) -> tuple[str, str, str]:
        if math.isnan(m.value):
            return INCONCLUSIVE, "our measurement is NaN", "a measurement that is a number"
        failed = [p for p in pre if not p["passed"]]
        if failed:
            p = failed[0]
            return (INCONCLUSIVE, f"precondition {p['id']} failed ({p['reason']}): the setup cannot show the effect",
                    f"a setup where {p['text']}")  # fmt: skip
        units = m.n_unit or "units"
        if self.kind != "exact":
            if not m.has_interval:
                return (INCONCLUSIVE, f"{m} is a point estimate of a {self.kind} quantity: it needs an interval over "
                        f"units", f"at least {MIN_UNITS} independent {units} and an interval over them")  # fmt: skip
            if m.n < MIN_UNITS:
                verdict, why = self.rule.judge(m)
                return (INCONCLUSIVE, f"only {m.n} {units} (at least {MIN_UNITS} needed); the rule alone would say "
                        f"{verdict}: {why}", f"at least {MIN_UNITS} {units} (now {m.n})")  # fmt: skip
        verdict, reason = self.rule.judge(m)
        if ctrl is not None and verdict in (REPRODUCED, PARTIAL):
            if ctrl["beaten"] is False:
                return NOT_REPRODUCED, f"{reason}, but {ctrl['reason']}", ""
            if ctrl["beaten"] is None:
                return (INCONCLUSIVE, f"{reason}, but {ctrl['reason']}",
                        f"more {units} to separate the method from {self.control.name}")  # fmt: skip
            reason = f"{reason}; {ctrl['reason']}"
        decide = self.rule.decide(m) if verdict == INCONCLUSIVE else ""
        return verdict, reason, decide

    def reevaluate(self, recorded: dict) -> dict:
        """Judge a claim as recorded in a results file again, from its recorded numbers (the contract test)."""
        checks = {p["id"]: p["ours"] for p in recorded.get("preconditions", [])}
        control = recorded["control"]["ours"] if recorded.get("control") else None
        return self.evaluate(Measurement.from_dict(recorded["ours"]), control=control, checks=checks)


def preregister(claims: Sequence[Claim]):
    """The claims and their rules as a table, shown before any number is measured."""
    import pandas as pd

    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate claim ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    rows = []
    for c in claims:
        pv = _fmt(c.paper_value) if isinstance(c.paper_value, int | float) else c.paper_value
        guards = [f"control: {c.control.name}"] if c.control else []
        guards += [f"needs: {p.id} ({p.rule.describe().removeprefix('reproduced if ')})" for p in c.preconditions]
        rows.append({"claim": c.id, "paper": f"{pv} {c.unit}".strip(), "where": c.paper_ref, "kind": c.kind,
                     "verdict rule": c.rule.describe(), "controls": "; ".join(guards) or "-",
                     "rerun tolerance": c.tolerance.describe() if c.tolerance else "none declared",
                     "fidelity": c.fidelity})  # fmt: skip
    return pd.DataFrame(rows).set_index("claim")


def evaluate_claims(
    claims: Sequence[Claim], measurements: dict, controls: dict | None = None, checks: dict | None = None
) -> list[dict]:
    """Judge every claim.

    `measurements` maps claim id to a `Measurement` (or a number); `controls` maps the id of each claim that declares a
    control to the method's margin over it; `checks` maps precondition ids to their measurements. Missing or unknown
    ids are an error.
    """
    ids = [c.id for c in claims]
    missing = [i for i in ids if i not in measurements]
    extra = [k for k in measurements if k not in ids]
    if missing or extra:
        raise KeyError(f"measurements do not match the claims: missing {missing}, unknown {extra}")
    controls, checks = controls or {}, checks or {}
    unknown = [k for k in controls if k not in ids]
    if unknown:
        raise KeyError(f"controls given for unknown claims {unknown}")
    declared = {p.id for c in claims for p in c.preconditions}
    stray = [k for k in checks if k not in declared]
    if stray:
        raise KeyError(
            f"precondition measurements {stray} match no declared precondition; declared: {sorted(declared)}"
        )
    return [c.evaluate(measurements[c.id], controls.get(c.id), checks) for c in claims]


def verdict_table(results: list[dict]):
    """Paper vs ours, one row per claim (numbers: show it in a cell that CI does not compare)."""
    import pandas as pd

    rows = []
    for r in results:
        ours = r["ours"]
        val = _fmt(ours["value"]) + (f" [{_fmt(ours['low'])}, {_fmt(ours['high'])}]" if "low" in ours else "")
        pv = r["paper_value"]
        n = f"{ours['n']} {ours.get('n_unit', '')}".strip()
        rows.append({"claim": r["id"], "paper": _fmt(pv) if isinstance(pv, int | float) else pv, "ours": val,
                     "n": n, "verdict": r["verdict"], "why": r["reason"]})  # fmt: skip
    return pd.DataFrame(rows).set_index("claim")


def verdict_lines(results: list[dict]) -> str:
    """Claim ids and verdicts only: what must be identical on every machine, for cells that CI compares.

    A timing claim's verdict depends on the machine and its load, so its line names the claim and says where its
    verdict is (the results record and tables) instead of printing it.
    """
    width = max((len(r["id"]) for r in results), default=0)
    return "\n".join(
        f"{r['id']:<{width}}  (timing claim: verdict in the results record, not compared)"
        if r.get("kind") == "timing"
        else f"{r['id']:<{width}}  {r['verdict']}"
        for r in results
    )


def verdict_summary(results: list[dict]) -> str:
    """The verdict counts of the claims that must judge the same on every machine (timing claims counted apart)."""
    compared = [r for r in results if r.get("kind") != "timing"]
    n = {v: sum(r["verdict"] == v for r in compared) for v in VERDICTS}
    timing = len(results) - len(compared)
    extra = f"; {timing} timing claim{'s' * (timing != 1)} reported in the record" if timing else ""
    return (
        f"{n[REPRODUCED]}/{len(compared)} claims reproduced, {n[PARTIAL]} partially, {n[NOT_REPRODUCED]} not, "
        f"{n[INCONCLUSIVE]} inconclusive{extra}"
    )


def rule_can_fail(rule: Rule) -> bool:
    """Whether some measurement makes `rule` say *not reproduced* (a rule that cannot fail is no test): probes point
    values far beyond and between its bars."""
    bars = sorted(rule.bars())
    scale = max(1.0, *(abs(b) for b in bars))
    probes = [bars[0] - 10 * scale, bars[-1] + 10 * scale] + [(a + b) / 2 for a, b in zip(bars, bars[1:])]
    return any(rule.judge(Measurement(p))[0] == NOT_REPRODUCED for p in probes)
