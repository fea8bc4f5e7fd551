"""Claims as code: what a paper says, the rule that will judge it (fixed before the run), and the verdict from our numbers.

A notebook declares its `Claim`s before the experiment runs, prints them (the pre-registration), then hands its
measurements to `evaluate_claims`. Rules are small frozen dataclasses, so the rule text in `results/<profile>.json` is
generated from the same object that computed the verdict.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

VERDICTS = ("reproduced", "partially reproduced", "not reproduced", "inconclusive")
FIDELITIES = ("faithful", "scaled-down", "analogue")

REPRODUCED, PARTIAL, NOT_REPRODUCED, INCONCLUSIVE = VERDICTS


@dataclass(frozen=True)
class Measurement:
    """Our value for a claim, with an optional interval (e.g. a 95% confidence interval over seeds).

    Args:
        value (float): the point estimate.
        low, high (float, Optional): interval bounds; both or neither.
        n (int, Optional): how many independent runs (seeds) the value summarises. Default: 1.
        unit (str, Optional): unit of `value`, for tables.
    """

    value: float
    low: float | None = None
    high: float | None = None
    n: int = 1
    unit: str = ""

    def __post_init__(self):
        if (self.low is None) != (self.high is None):
            raise ValueError("give both interval bounds or neither")
        if self.low is not None and not self.low <= self.value <= self.high:
            raise ValueError(f"value {self.value} lies outside its interval [{self.low}, {self.high}]")
        if not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"n must be a positive integer, got {self.n!r}")

    @classmethod
    def from_samples(cls, samples: Sequence[float], level: float = 0.95, unit: str = "") -> "Measurement":
        """Mean and a Student-t interval over independent samples (seeds); a single sample has no interval."""
        xs = [float(x) for x in samples]
        if not xs:
            raise ValueError("no samples")
        if any(math.isnan(x) for x in xs):
            raise ValueError("NaN among the samples")
        mean = sum(xs) / len(xs)
        if len(xs) == 1:
            return cls(mean, n=1, unit=unit)
        from scipy import stats

        sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
        half = stats.t.ppf(0.5 + level / 2, len(xs) - 1) * sd / math.sqrt(len(xs))
        return cls(mean, mean - half, mean + half, n=len(xs), unit=unit)

    @property
    def has_interval(self) -> bool:
        return self.low is not None

    def rounded(self, digits: int = 4) -> "Measurement":
        """The measurement as it is recorded (significant digits), so that a verdict can be recomputed from the file."""
        r = (lambda x: None if x is None else _round(x, digits))  # noqa: E731
        return Measurement(r(self.value), r(self.low), r(self.high), self.n, self.unit)

    def to_dict(self, digits: int = 4) -> dict:
        out = {"value": _round(self.value, digits), "n": self.n}
        if self.has_interval:
            out.update(low=_round(self.low, digits), high=_round(self.high, digits))
        if self.unit:
            out["unit"] = self.unit
        return out

    def __str__(self) -> str:
        s = _fmt(self.value)
        if self.has_interval:
            s += f" [{_fmt(self.low)}, {_fmt(self.high)}]"
        return s + (f" {self.unit}" if self.unit else "")


def _round(x: float, digits: int) -> float:
    # significant digits, so that 1e-5 and 12345.6 both stay readable and deterministic in JSON
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def _fmt(x: float) -> str:
    return f"{x:.4g}"


class Rule:
    """Decides a verdict from a `Measurement`. Subclasses implement `judge` and `describe`."""

    def judge(self, m: Measurement) -> tuple[str, str]:
        """`(verdict, reason)`; the reason quotes the numbers that decided it."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class AtLeast(Rule):
    """Reproduced when ours ≥ `threshold`; partially when ≥ `partial`. With an interval, the whole interval must clear
    the bar for a positive verdict and lie entirely below `partial` (or `threshold`) for a negative one; else
    inconclusive."""

    threshold: float
    partial: float | None = None

    def __post_init__(self):
        if self.partial is not None and self.partial > self.threshold:
            raise ValueError(f"partial bar {self.partial} is above the full bar {self.threshold}")

    def judge(self, m):
        lo, hi = (m.low, m.high) if m.has_interval else (m.value, m.value)
        floor = self.threshold if self.partial is None else self.partial
        if lo >= self.threshold:
            return REPRODUCED, f"{m} >= {_fmt(self.threshold)}"
        if hi < floor:
            return NOT_REPRODUCED, f"{m} < {_fmt(floor)}"
        if self.partial is not None and lo >= self.partial and hi < self.threshold:
            return PARTIAL, f"{_fmt(self.partial)} <= {m} < {_fmt(self.threshold)}"
        return INCONCLUSIVE, f"interval {m} straddles a bar ({_fmt(floor)} / {_fmt(self.threshold)})"

    def describe(self):
        s = f"reproduced if ours >= {_fmt(self.threshold)}"
        return s + (f"; partially if >= {_fmt(self.partial)}" if self.partial is not None else "")


@dataclass(frozen=True)
class AtMost(Rule):
    """The mirror of `AtLeast`: reproduced when ours ≤ `threshold`, partially when ≤ `partial`."""

    threshold: float
    partial: float | None = None

    def __post_init__(self):
        if self.partial is not None and self.partial < self.threshold:
            raise ValueError(f"partial bar {self.partial} is below the full bar {self.threshold}")

    def judge(self, m):
        flipped = Measurement(-m.value, None if m.high is None else -m.high, None if m.low is None else -m.low, m.n)
        verdict, _ = AtLeast(-self.threshold, None if self.partial is None else -self.partial).judge(flipped)
        ceiling = self.threshold if self.partial is None else self.partial
        reason = {
            REPRODUCED: f"{m} <= {_fmt(self.threshold)}",
            NOT_REPRODUCED: f"{m} > {_fmt(ceiling)}",
            PARTIAL: f"{_fmt(self.threshold)} < {m} <= {_fmt(ceiling)}",
            INCONCLUSIVE: f"interval {m} straddles a bar ({_fmt(self.threshold)} / {_fmt(ceiling)})",
        }[verdict]
        return verdict, reason

    def describe(self):
        s = f"reproduced if ours <= {_fmt(self.threshold)}"
        return s + (f"; partially if <= {_fmt(self.partial)}" if self.partial is not None else "")


@dataclass(frozen=True)
class RelativeTo(Rule):
    """Ours agrees with a target value within a relative tolerance: reproduced within `tol`, partially within
    `partial_tol`, else not reproduced. Judged on the point estimate; an interval wider than `partial_tol` on either
    side makes the verdict inconclusive (the measurement cannot tell)."""

    target: float
    tol: float
    partial_tol: float | None = None

    def __post_init__(self):
        if self.target == 0:
            raise ValueError("relative tolerance around 0 is undefined: use AtMost on the absolute error")
        if self.tol <= 0 or (self.partial_tol is not None and self.partial_tol < self.tol):
            raise ValueError("need 0 < tol <= partial_tol")

    def judge(self, m):
        err = abs(m.value - self.target) / abs(self.target)
        widest = self.partial_tol if self.partial_tol is not None else self.tol
        if m.has_interval and (m.high - m.low) / 2 / abs(self.target) > widest:
            return INCONCLUSIVE, f"interval {m} is wider than ±{widest:.0%} of {_fmt(self.target)}"
        reason = f"{m} is {err:.1%} from {_fmt(self.target)}"
        if err <= self.tol:
            return REPRODUCED, reason
        if self.partial_tol is not None and err <= self.partial_tol:
            return PARTIAL, reason
        return NOT_REPRODUCED, reason

    def describe(self):
        s = f"reproduced if within {self.tol:.0%} of {_fmt(self.target)}"
        return s + (f"; partially if within {self.partial_tol:.0%}" if self.partial_tol is not None else "")


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, fixed before the experiment runs.

    Args:
        id (str): short stable id, unique within the paper (e.g. `"global-min"`); citations use it.
        text (str): the claim in one sentence, as the paper makes it.
        paper_value (float | str | None): the paper's number (or a short qualitative statement when it gives none).
        paper_ref (str): where the paper says it: `"Thm. 4.1"`, `"Fig. 3"`, `"Tab. 2"`.
        rule (Rule): the verdict rule, applied to our `Measurement`.
        fidelity (str): `faithful`, `scaled-down` or `analogue`: how close our setting is to the paper's.
        unit (str, Optional): unit of the measured quantity.
        measures (str, Optional): what exactly our number is, in words.
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

    def __post_init__(self):
        if self.fidelity not in FIDELITIES:
            raise ValueError(f"claim {self.id!r}: fidelity must be one of {FIDELITIES}, got {self.fidelity!r}")
        if not isinstance(self.rule, Rule):
            raise TypeError(f"claim {self.id!r}: rule must be a shared.claims.Rule, got {type(self.rule).__name__}")
        if not self.id or not self.id.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"claim id must be alphanumeric with - or _, got {self.id!r}")

    def evaluate(self, ours: Measurement | float) -> dict:
        m = ours if isinstance(ours, Measurement) else Measurement(float(ours), unit=self.unit)
        # judge the number as recorded, so that anyone can recompute the verdict from results/<profile>.json
        m = m.rounded()
        if math.isnan(m.value):
            verdict, reason = INCONCLUSIVE, "our measurement is NaN"
        else:
            verdict, reason = self.rule.judge(m)
        return {
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
        }


def preregister(claims: Sequence[Claim]):
    """The claims and their rules as a table, shown before any number is measured."""
    import pandas as pd

    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate claim ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    rows = [{"claim": c.id, "paper": f"{c.paper_value} {c.unit}".strip(), "where": c.paper_ref,
             "verdict rule": c.rule.describe(), "fidelity": c.fidelity} for c in claims]  # fmt: skip
    return pd.DataFrame(rows).set_index("claim")


def evaluate_claims(claims: Sequence[Claim], measurements: dict) -> list[dict]:
    """Judge every claim; `measurements` maps claim id to a `Measurement` (or a float). Missing ids are an error."""
    ids = [c.id for c in claims]
    missing = [i for i in ids if i not in measurements]
    extra = [k for k in measurements if k not in ids]
    if missing or extra:
        raise KeyError(f"measurements do not match the claims: missing {missing}, unknown {extra}")
    return [c.evaluate(measurements[c.id]) for c in claims]


def verdict_table(results: list[dict]):
    """Paper vs ours, one row per claim, rounded for a deterministic notebook output."""
    import pandas as pd

    rows = []
    for r in results:
        ours = r["ours"]
        val = _fmt(ours["value"]) + (f" [{_fmt(ours['low'])}, {_fmt(ours['high'])}]" if "low" in ours else "")
        pv = r["paper_value"]
        rows.append({"claim": r["id"], "paper": _fmt(pv) if isinstance(pv, int | float) else pv, "ours": val,
                     "verdict": r["verdict"], "why": r["reason"]})  # fmt: skip
    return pd.DataFrame(rows).set_index("claim")
