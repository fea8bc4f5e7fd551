"""Attention debiasing for visual-token pruning (Zhao, Yuan, Lin, Ruan, Lu, Fan, Cheng, Zeng; arXiv:2508.17807v2) on
the project's scene VLM: what is new.

The paper finds two biases in the language-to-vision attention that attention-based pruners (FastV and others) rank
visual tokens by: a recency trend (later visual tokens, the lower image rows in raster order, get more attention) and
an attention sink on semantically empty padding tokens. Its two training-free fixes, applied to the attention before
the top-k:
- **positional debiasing**: fit an exponential trend `a * exp(b * t)` of the mean attention against the visual
  token's index `t` on calibration data and divide it out (`fit_exponential_trend`, `DebiasedAttention`);
- **sink (padding) suppression**: the attention of the empty tokens is removed before ranking (`empty_mask`).

Here: `attention_by_layer` (the last prompt token's attention to each visual token in every LM layer, from one eager
pass), the trend fit (`fit_exponential_trend`, with `fit_exponential_trend_reference` in plain float64 loops),
`log_slope` (the per-row least-squares slope of log attention against position: the recency statistic),
`empty_mask` (visual tokens whose image patch holds no content), `DebiasedAttention` (the scorer), `sink_ratio`
(attention per empty token over attention per content token) and `target_share` (the share of kept tokens inside the
cell a position question asks about).

Deviations from the paper, on purpose:
- Model and data: SmolLM2-135M behind a frozen DINOv2-S with 64 visual tokens (8 x 8 raster), composed 2 x 2 scenes
  with templated questions and exact one-word answers, instead of LLaVA-1.5 / Video-LLaVA (576+ tokens) and ten
  benchmarks.
- Where pruning happens: the shared LM-input hook (`shared.vision.vlm_hooks.prune_visual`) with the attention from
  one unpruned pass (the FastV signal: the last prompt token, mean over heads, at FastV's aggregation layer K = 2,
  i.e. the attention of the second layer), instead of dropping tokens inside the LM after layer 2.
- Padding: square scenes have no padding. The analogue of a padding token is an *empty* token: an image patch with no
  content (every pixel black, the scenes' background), found from the pixels as the official code finds padding from
  the image geometry. The official code multiplies the attention of padding tokens by zero and shrinks the budget
  when too few tokens remain; here empty tokens are ranked after every content token (by their debiased attention
  among themselves), so every arm keeps the same number of tokens and the comparison stays paired.
- Calibration: the trend is fitted once per run on training-split scenes (the official code ships one per-position
  weight per benchmark); only its slope `b` matters for the ranking (the top-k of `attention * exp(-b t)`).
"""

import math
from dataclasses import dataclass

import torch

from shared.vision.select import Scorer
from shared.vision.vlm_hooks import VLMContext, _with_eager


@torch.no_grad()
def attention_by_layer(vlm, vis: torch.Tensor, questions: list[str]) -> torch.Tensor:
    """The last prompt token's attention to each visual token, per LM layer, mean over heads, from one eager pass.

    Args:
        vis (torch.Tensor): all visual tokens `[B, N, D]` (unpruned, raster order).
        questions (list[str]): one per row.
    Returns:
        torch.Tensor: `[B, L, N]`; `out[:, l]` equals `text_to_image_attention(vlm, vis, questions, layers=[l])`.
    """
    b = vlm.embed(vis, questions)
    out = _with_eager(vlm.lm, lambda: vlm.hidden(b, output_attentions=True))
    att = torch.stack(out.attentions, dim=1).mean(dim=2)  # [B, L, T, T]
    P, K = b.visual
    last = torch.tensor([p[0] for p in b.predict_at])
    return att[torch.arange(vis.shape[0]), :, last][:, :, P : P + K]  # [B, L, N]


def log_slope_reference(y) -> float:
    """Least-squares slope of `log y_t` against `t = 0..N-1`, the textbook formula in float64 loops."""
    ys = [math.log(float(v)) for v in y]
    n = len(ys)
    tm = (n - 1) / 2
    ym = sum(ys) / n
    num = sum((t - tm) * (v - ym) for t, v in enumerate(ys))
    den = sum((t - tm) ** 2 for t in range(n))
    return num / den


def log_slope(y: torch.Tensor) -> torch.Tensor:
    """The same slope for every row of a positive `[B, N]` tensor, `[B]` float64."""
    ly = y.double().log()
    t = torch.arange(y.shape[-1], dtype=torch.float64)
    tc = t - t.mean()
    return ((ly - ly.mean(dim=-1, keepdim=True)) * tc).sum(dim=-1) / tc.pow(2).sum()


def fit_exponential_trend_reference(mean_attn) -> tuple[float, float]:
    """`(a, b)` of the trend `a * exp(b * t)` fitted to a positive profile by least squares on `log`, float64 loops."""
    b = log_slope_reference(mean_attn)
    n = len(mean_attn)
    a = math.exp(sum(math.log(float(v)) for v in mean_attn) / n - b * (n - 1) / 2)
    return a, b


def fit_exponential_trend(attn: torch.Tensor) -> tuple[float, float]:
    """The paper's positional trend, `a * exp(b * t)`, fitted to the mean over rows of `attn` `[Q, N]` (each row the
    attention of one question, normalised to sum to one over the image) by least squares on the log scale."""
    m = (attn.double() / attn.double().sum(dim=-1, keepdim=True)).mean(dim=0)
    b = float(log_slope(m[None])[0])
    a = float(torch.exp(m.log().mean() - b * (m.shape[0] - 1) / 2))
    return a, b


def trend_values(a: float, b: float, n: int) -> torch.Tensor:
    return a * torch.exp(b * torch.arange(n, dtype=torch.float64))


def empty_mask(images: torch.Tensor, patch: int = 14) -> torch.Tensor:
    """Visual tokens whose `patch x patch` image patch holds no content (every pixel 0), raster order.

    Args:
        images (torch.Tensor): scenes `[B, S, S]` uint8.
    Returns:
        torch.Tensor: `[B, (S / patch) ** 2]` bool.
    """
    B, S, _ = images.shape
    g = S // patch
    blocks = images[:, : g * patch, : g * patch].reshape(B, g, patch, g, patch)
    return blocks.amax(dim=(2, 4)).reshape(B, g * g) == 0


@dataclass
class DebiasContext(VLMContext):
    """A `VLMContext` plus which visual tokens are empty `[B, N]` (bool; `None`: none are)."""

    empty: torch.Tensor | None = None


@dataclass
class DebiasedAttention(Scorer):
    """Attention importance with the paper's two fixes: the text-to-image attention (normalised per row) divided by
    the positional trend `exp(b * t)` (`positional`), and empty tokens ranked after every content token (`sink`).

    Args:
        slope (float): the fitted trend's `b` (per visual token, raster order).
        positional (bool): remove the trend.
        sink (bool): suppress the empty tokens.
    """

    slope: float = 0.0
    positional: bool = True
    sink: bool = True

    def score(self, ctx):
        if getattr(ctx, "text_attn", None) is None:
            raise ValueError("DebiasedAttention needs a context with text_attn")
        a = ctx.text_attn.double()
        s = a / a.sum(dim=-1, keepdim=True)
        if self.positional:
            s = s * torch.exp(-self.slope * torch.arange(s.shape[-1], dtype=torch.float64))
            s = s / s.sum(dim=-1, keepdim=True)
        if self.sink and getattr(ctx, "empty", None) is not None:
            # scores are in [0, 1]: minus 2 puts every empty token below every content token, order kept among them
            s = torch.where(ctx.empty, s - 2.0, s)
        return s


def debiased_reference(attn, empty, slope: float, k: int, positional: bool = True, sink: bool = True) -> list[int]:
    """The kept indices (sorted) of one row, written out: divide by the trend, then take the `k` best content tokens
    and, if fewer than `k` exist, the best empty ones; ties go to the lower index."""
    n = len(attn)
    total = sum(float(v) for v in attn)
    s = [float(v) / total for v in attn]
    if positional:
        s = [v / math.exp(slope * t) for t, v in enumerate(s)]
    content = [t for t in range(n) if not (sink and bool(empty[t]))]
    rest = [t for t in range(n) if t not in content]
    order = sorted(content, key=lambda t: (-s[t], t)) + sorted(rest, key=lambda t: (-s[t], t))
    return sorted(order[:k])


def sink_ratio(attn: torch.Tensor, empty: torch.Tensor) -> torch.Tensor:
    """Per row: mean attention of an empty token / mean attention of a content token (`nan` where a row has no
    empty or no content token). `attn` `[B, N]`, `empty` `[B, N]` bool -> `[B]` float64."""
    a = attn.double()
    e, c = empty.double(), (~empty).double()
    per_empty = (a * e).sum(-1) / e.sum(-1)
    per_content = (a * c).sum(-1) / c.sum(-1)
    return per_empty / per_content


def cell_of_tokens(grid: tuple[int, int] = (8, 8), cells: tuple[int, int] = (2, 2)) -> torch.Tensor:
    """The scene cell (raster order) each visual token lies in, `[R * C]` long."""
    R, C = grid
    return torch.tensor([(r * cells[0] // R) * cells[1] + c * cells[1] // C for r in range(R) for c in range(C)])


def target_share(keep: torch.Tensor, target_cell: torch.Tensor, cell_of: torch.Tensor) -> torch.Tensor:
    """Share of the kept tokens `[B, K]` that lie in each row's target cell `[B]`, `[B]` float64."""
    return (cell_of[keep] == target_cell[:, None]).double().mean(dim=-1)


def position_target(text: str, cells: tuple[int, int] = (2, 2)) -> int:
    """The cell (raster order) a position question ("What is in the top left?") asks about."""
    from shared.vision.scenes import POSITION_NAMES

    hits = [i for i, name in enumerate(POSITION_NAMES[cells]) if f"the {name}?" in text]
    if len(hits) != 1:
        raise ValueError(f"not a position question: {text!r}")
    return hits[0]
