"""Visual-token selection at the LM input of the scene VLM (`shared.vision.vlm`), the text-to-image attention signal,
and the prefill-latency benchmark.

Any unit of `shared.vision.select` applies: it sees a `VLMContext` whose `hidden` are the projected visual tokens
(what enters the LM), whose `attn` / `keys` are the encoder's last block (CLS attention, PageRank, ToMe-style
matching read them) and whose `text_attn` is the LM's text-to-image attention (`TextAttention` reads it). The kept
or merged tokens go to `VLM.embed` with their raster indices; positions are `VLM.embed`'s switch (default
`"reindex"`). Keep ratio 1 (or no unit) passes every token in raster order: the unpruned path exactly.

This module is not part of the stage's key (`vlm_stage.CODE_FILES`): changing it never stales the shipped weights.

    python -m shared.vision.vlm_hooks bench     # prefill latency ratios to the unpruned VLM (a benchmark)
    python -m shared.vision.vlm_hooks table     # held-out accuracy per unit and keep ratio (a first look)
"""

import argparse
import os
import statistics
import time
from dataclasses import dataclass

import torch

from shared.vision.select import Scorer, TokenContext, TokenSelector, apply_selection, build_selector, n_keep_for


@dataclass
class VLMContext(TokenContext):
    """A `TokenContext` at the LM input, plus the LM's text-to-image attention `[B, N]` (`None` if not computed)."""

    text_attn: torch.Tensor | None = None


@dataclass
class TextAttention(Scorer):
    """Importance = attention the question pays to each visual token in the LM (`text_to_image_attention`), the
    signal of FastV-style methods; here computed by a full unpruned pass, then used to prune the LM input."""

    def score(self, ctx):
        if getattr(ctx, "text_attn", None) is None:
            raise ValueError("TextAttention needs a VLMContext with text_attn (text_to_image_attention)")
        return ctx.text_attn


def make_unit(name: str, seed: int = 0) -> TokenSelector:
    """`text_attention`, or any registered selector (`random` is seeded, `downsample` prunes without merging)."""
    if name == "text_attention":
        return TextAttention()
    if name == "random":
        return build_selector("random", seed=seed)
    if name == "downsample":
        return build_selector("downsample", merge=False)
    return build_selector(name)


def prune_visual(vis: torch.Tensor, unit: TokenSelector | None, keep_ratio: float, ctx: TokenContext | None = None):
    """The LM-input hook: visual tokens `[B, N, D]` -> kept (or merged) tokens `[B, K, D]` and their raster indices
    `[B, K]` (sorted). `unit=None` or `keep_ratio=1` keeps everything in order (the unpruned path)."""
    B, N, _ = vis.shape
    if unit is None or keep_ratio >= 1.0:
        return vis, torch.arange(N).expand(B, N)
    sel = unit.select(ctx if ctx is not None else TokenContext(hidden=vis), n_keep_for(keep_ratio, N))
    kept, _ = apply_selection(vis, sel)
    return kept, sel.keep


def _with_eager(lm, fn):
    impl = lm.config._attn_implementation
    if impl != "eager":
        lm.set_attn_implementation("eager")
    try:
        return fn()
    finally:
        if impl != "eager":
            lm.set_attn_implementation(impl)


@torch.no_grad()
def text_to_image_attention(vlm, vis: torch.Tensor, questions: list[str], layers=None, query: str = "last"):
    """Attention from the question to each visual token in the LM's eager attention, `[B, N]`.

    Args:
        vis (torch.Tensor): all visual tokens `[B, N, D]` (unpruned, raster order).
        layers (Sequence[int], Optional): LM layers averaged (default: all).
        query (str): `"last"`: the last prompt token (the one that predicts the answer; FastV's choice); `"text"`:
            the mean over every text token after the image.
    Returns:
        torch.Tensor: `[B, N]`, averaged over heads and `layers`; rows sum to the share of attention on the image.
    """
    b = vlm.embed(vis, questions)
    out = _with_eager(vlm.lm, lambda: vlm.hidden(b, output_attentions=True))
    layers = range(len(out.attentions)) if layers is None else layers
    att = torch.stack([out.attentions[i] for i in layers]).mean(dim=(0, 2))  # [B, T, T]
    P, K = b.visual
    rows = []
    for i in range(vis.shape[0]):
        last = b.predict_at[i][0]
        q = slice(last, last + 1) if query == "last" else slice(P + K, last + 1)
        rows.append(att[i, q, P : P + K].mean(dim=0))
    return torch.stack(rows)


def context_for(vis, attn=None, keys=None, grid=None, text_attn=None) -> VLMContext:
    return VLMContext(hidden=vis, attn=attn, keys=keys, grid=grid, text_attn=text_attn)


# ---------------------------------------------------------------- first look and benchmark


def _held_out(n_scenes: int, seed: int):
    from shared.vision import scenes as S
    from shared.vision import vlm_stage as st

    test = S.make_scenes("heldout", n_scenes, seed, st.scene_config())
    items = st.eval_questions(test, seed)
    return test, items


def accuracy_table(vlm, vit, n_scenes: int = 200, seed: int = 0, ratios=(0.5, 0.25, 0.1),
                   units=("random", "downsample", "cls_attention", "text_attention"), positions: str = "reindex",
                   log=print):  # fmt: skip
    """Held-out exact-answer accuracy (all question types) of the VLM with every visual token, and per unit and keep
    ratio; text-to-image attention comes from one unpruned eager pass per question (last prompt token, all layers)."""
    from shared.vision import scenes as S
    from shared.vision import vlm_stage as st

    test, items = _held_out(n_scenes, seed)
    feats, attn, keys = st.encode(vit, torch.stack([s.image for s in test]), attention=True)
    grid = (int(feats.shape[1] ** 0.5),) * 2
    t_attn = {}
    if "text_attention" in units:
        for i in range(0, len(items), 32):
            chunk = items[i : i + 32]
            rows = torch.tensor([r for r, _ in chunk])
            ta = text_to_image_attention(vlm, vlm.project(feats[rows]), [q.text for _, q in chunk])
            for j in range(len(chunk)):
                t_attn[i + j] = ta[j]
    results = {}
    full = st.evaluate(vlm, feats, items, positions=positions)
    results[("all tokens", 1.0)] = st.accuracy_by_type(items, full)
    log(f"all tokens: {results[('all tokens', 1.0)]}")
    for name in units:
        unit = make_unit(name, seed)
        for r in ratios:
            pos = {"i": 0}

            def select(rows, vis, unit=unit, r=r, pos=pos):
                n = len(rows)
                ta = torch.stack([t_attn[pos["i"] + j] for j in range(n)]) if t_attn else None
                pos["i"] += n
                ctx = context_for(vis, attn[rows], keys[rows], grid, ta)
                return prune_visual(vis, unit, r, ctx)

            ok = st.evaluate(vlm, feats, items, select=select, positions=positions)
            results[(name, r)] = st.accuracy_by_type(items, ok)
            log(f"{name} {r}: {results[(name, r)]}")
    return results, S.QUESTION_TYPES


@torch.no_grad()
def prefill_benchmark(vlm, vit, n_scenes: int = 16, repeats: int = 5, ratios=(0.5, 0.25, 0.1),
                      units=("random", "downsample", "cls_attention"), seed: int = 0):  # fmt: skip
    """Prefill latency per request (batch 1: prompt through the LM and the answer-token logits), median over
    interleaved repeats, as a ratio to the unpruned prefill measured in the same run; the selection's own time is
    timed separately and included in the `with selection` ratio. The encoder and projector run before both and are
    left out. A benchmark: machine-dependent, never a claim by itself."""
    from shared.vision import vlm_stage as st

    test, items = _held_out(n_scenes, seed)
    items = [it for it in items if it[1].kind == "position"][:n_scenes]
    feats, attn, keys = st.encode(vit, torch.stack([s.image for s in test]), attention=True)
    grid = (int(feats.shape[1] ** 0.5),) * 2
    configs = [("all tokens", 1.0)] + [(u, r) for u in units for r in ratios]
    prefill = {c: [] for c in configs}
    selection = {c: [] for c in configs}
    for rep in range(repeats):
        order = configs if rep % 2 == 0 else configs[::-1]
        for c in order:
            unit = None if c[0] == "all tokens" else make_unit(c[0], seed)
            t_sel = t_pre = 0.0
            for row, q in items:
                vis = vlm.project(feats[row : row + 1])
                t0 = time.perf_counter()
                kept, index = prune_visual(vis, unit, c[1], context_for(vis, attn[row : row + 1],
                                                                         keys[row : row + 1], grid))  # fmt: skip
                t1 = time.perf_counter()
                b = vlm.embed(kept, [q.text], index=index, n_total=feats.shape[1])
                t2 = time.perf_counter()
                vlm.answer_logits(b)
                t3 = time.perf_counter()
                t_sel += t1 - t0
                t_pre += t3 - t2
            prefill[c].append(t_pre / len(items))
            selection[c].append(t_sel / len(items))
    base = statistics.median(prefill[configs[0]])
    rows = []
    for c in configs:
        p, s = statistics.median(prefill[c]), statistics.median(selection[c])
        n = n_keep_for(c[1], feats.shape[1])
        rows.append({"unit": c[0], "keep": c[1], "visual_tokens": n, "prefill_ms": 1e3 * p, "selection_ms": 1e3 * s,
                     "prefill_ratio": p / base, "with_selection_ratio": (p + s) / base})  # fmt: skip
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m shared.vision.vlm_hooks")
    ap.add_argument("action", choices=("bench", "table"))
    ap.add_argument("--scenes", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--positions", default="reindex")
    args = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("TOKEN_PAPERS_THREADS", "1")))
    from shared.vision import vlm_stage as st
    from shared.vision.flops import vlm_prefill_macs

    vit, lm, tok = st.load_models()
    vlm = st.load_trained(lm, tok)
    if args.action == "bench":
        rows = prefill_benchmark(vlm, vit, args.scenes or 16, args.repeats)
        text = len(vlm.pre) + len(vlm.question_ids("What is in the top left?"))
        full_macs = vlm_prefill_macs(64, 64, text)
        print(f"{'unit':<14}{'keep':>6}{'vis':>5}{'prefill ms':>12}{'select ms':>11}{'ratio':>8}{'w/ sel':>8}"
              f"{'MACs ratio':>12}")  # fmt: skip
        for r in rows:
            macs = vlm_prefill_macs(64, r["visual_tokens"], text) / full_macs
            print(f"{r['unit']:<14}{r['keep']:>6.2f}{r['visual_tokens']:>5}{r['prefill_ms']:>12.1f}"
                  f"{r['selection_ms']:>11.2f}{r['prefill_ratio']:>8.3f}{r['with_selection_ratio']:>8.3f}"
                  f"{macs:>12.3f}")  # fmt: skip
    else:
        res, kinds = accuracy_table(vlm, vit, args.scenes or 200, positions=args.positions)
        cols = (*kinds, "all")
        print(f"{'unit':<16}{'keep':>6}" + "".join(f"{k:>14}" for k in cols))
        for (name, r), acc in res.items():
            print(f"{name:<16}{r:>6.2f}" + "".join(f"{acc[k]:>14.3f}" for k in cols))


if __name__ == "__main__":
    main()
