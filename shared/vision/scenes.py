"""Composed scenes: a grid of offline images with known classes, positions and counts, and templated questions with
exact answers, for the small VLM (`shared.vision.vlm`) and the visual-token papers on it.

A scene is an `R x C` grid of cells (default 2 x 2 on a 112 px canvas: 56 px cells, each 4 x 4 DINOv2 patches); a
cell is empty or holds one item, a Fashion-MNIST garment (`data/images/fashion_mnist`) or a scikit-learn digit (the
8 x 8 `load_digits` images bundled with scikit-learn, upsampled), drawn at a jittered position inside its cell. Items
come from disjoint pools per split: Fashion-MNIST's own train/test files, and a fixed seeded split of the 1,797
digits (first 1,200 of a permutation for `train`, the rest for `heldout`), so held-out scenes show only unseen images.

Questions (`QUESTION_TYPES`), every answer one word that the LM's tokenizer writes in one or two tokens:
- `position`: "What is in the top left?" -> the item's word (`top`, `bag`, `seven`, ...) or `nothing`;
- `count`: "How many shoes are there?" (sandal, sneaker, boot) / "... digits ..." / "... clothes ..." -> `zero`..`four`;
- `exists_digit`: "Is there a seven?" -> `yes` / `no` (half of the questions ask about a digit in the scene, when
  there is one);
- `exists_item`: "Is there a bag?" -> `yes` / `no` (the same for garments).

Everything is a function of `(split, seed, index)`: `make_scenes(split, n, seed)` gives the same scenes and questions
on every machine.
"""

from dataclasses import dataclass, field

import numpy as np
import torch

FASHION_WORDS = ("top", "trousers", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot")
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ITEM_WORDS = FASHION_WORDS + DIGIT_WORDS  # class c < 10: Fashion-MNIST label c; c >= 10: digit c - 10
EMPTY = -1
SHOES = (5, 7, 9)
CLOTHES = (0, 1, 2, 3, 4, 6)
POSITION_NAMES = {(2, 2): ("top left", "top right", "bottom left", "bottom right")}
QUESTION_TYPES = ("position", "count", "exists_digit", "exists_item")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass
class Question:
    """One templated question about a scene and its exact one-word answer."""

    kind: str
    text: str
    answer: str


@dataclass
class Scene:
    """A composed image `[S, S]` uint8 (white items on black), the class of each cell in raster order (`EMPTY` or
    0..19, see `ITEM_WORDS`), and its questions."""

    image: torch.Tensor
    cells: tuple[int, ...]
    grid: tuple[int, int]
    questions: list[Question] = field(default_factory=list)

    def count(self, classes) -> int:
        return sum(c in classes for c in self.cells)


@dataclass
class SceneConfig:
    """How scenes are drawn.

    Args:
        grid (tuple[int, int]): rows and columns of cells.
        size (int): canvas side in pixels (a multiple of the grid and, for aligned cells, of 14 * grid).
        item (int): item side in pixels inside its cell (the rest is jitter).
        p_empty, p_digit (float): chance that a cell is empty, or holds a digit (otherwise a garment).
    """

    grid: tuple[int, int] = (2, 2)
    size: int = 112
    item: int = 48
    p_empty: float = 0.2
    p_digit: float = 0.3


DEFAULT_SCENE = SceneConfig()
_POOLS: dict = {}


def _digits(split: str):
    from sklearn.datasets import load_digits

    d = load_digits()
    order = np.random.default_rng(12345).permutation(len(d.target))
    idx = order[:1200] if split == "train" else order[1200:]
    imgs = torch.from_numpy(d.images[idx]).float() / 16.0  # [M, 8, 8] in [0, 1]
    return imgs, torch.from_numpy(d.target[idx].astype(np.int64))


def pools(split: str):
    """Item pools of a split: `(fashion images [N, 28, 28] float in [0, 1], fashion labels, digit images [M, 8, 8],
    digit labels)`; `train` uses Fashion-MNIST train, `heldout` its test file."""
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
    if split not in _POOLS:
        from shared.data.loaders import load_images

        fx, fy = load_images("fashion_mnist", "train" if split == "train" else "test")
        dx, dy = _digits(split)
        _POOLS[split] = (fx.float() / 255.0, fy, dx, dy)
    return _POOLS[split]


def _resize(img: torch.Tensor, side: int) -> torch.Tensor:
    return torch.nn.functional.interpolate(img[None, None], size=(side, side), mode="bilinear",
                                           align_corners=False)[0, 0].clamp(0, 1)  # fmt: skip


def questions_for(cells: tuple[int, ...], grid: tuple[int, int], rng: np.random.Generator) -> list[Question]:
    """Every templated question of a scene with these cells: one per position, three counts, one digit and one
    garment existence question (each asks about a present class with probability 1/2 when one is present)."""
    names = POSITION_NAMES.get(grid) or tuple(f"row {r + 1} column {c + 1}" for r in range(grid[0])
                                              for c in range(grid[1]))  # fmt: skip
    qs = [Question("position", f"What is in the {n}?", "nothing" if c == EMPTY else ITEM_WORDS[c])
          for n, c in zip(names, cells)]  # fmt: skip
    for noun, classes in (("shoes", SHOES), ("digits", range(10, 20)), ("clothes", CLOTHES)):
        qs.append(Question("count", f"How many {noun} are there?", DIGIT_WORDS[sum(c in classes for c in cells)]))
    for kind, lo in (("exists_digit", 10), ("exists_item", 0)):
        present = sorted({c for c in cells if lo <= c < lo + 10})
        if present and rng.random() < 0.5:
            c = present[int(rng.integers(len(present)))]
        else:
            c = lo + int(rng.integers(10))
        noun = f"a {ITEM_WORDS[c]}" if lo == 0 else f"a digit {ITEM_WORDS[c]}"
        qs.append(Question(kind, f"Is there {noun}?", "yes" if c in cells else "no"))
    return qs


def make_scene(split: str, seed: int, index: int, cfg: SceneConfig | None = None) -> Scene:
    """Scene `index` of `(split, seed)`: its own generator, so any scene is made without the ones before it."""
    cfg = DEFAULT_SCENE if cfg is None else cfg
    fx, fy, dx, dy = pools(split)
    rng = np.random.default_rng([seed, index, 0 if split == "train" else 1])
    R, C = cfg.grid
    cell = cfg.size // R, cfg.size // C
    canvas = torch.zeros(cfg.size, cfg.size)
    cells = []
    for r in range(R):
        for c in range(C):
            u = rng.random()
            if u < cfg.p_empty:
                cells.append(EMPTY)
                continue
            if u < cfg.p_empty + cfg.p_digit:
                i = int(rng.integers(len(dy)))
                img, cls = dx[i], 10 + int(dy[i])
            else:
                i = int(rng.integers(len(fy)))
                img, cls = fx[i], int(fy[i])
            y0 = r * cell[0] + int(rng.integers(cell[0] - cfg.item + 1))
            x0 = c * cell[1] + int(rng.integers(cell[1] - cfg.item + 1))
            canvas[y0 : y0 + cfg.item, x0 : x0 + cfg.item] = _resize(img, cfg.item)
            cells.append(cls)
    cells = tuple(cells)
    image = (canvas * 255).round().to(torch.uint8)
    return Scene(image, cells, cfg.grid, questions_for(cells, cfg.grid, rng))


def make_scenes(split: str, n: int, seed: int = 0, cfg: SceneConfig | None = None) -> list[Scene]:
    """Scenes `0..n-1` of `(split, seed)`."""
    return [make_scene(split, seed, i, cfg) for i in range(n)]


def to_pixels(images: torch.Tensor) -> torch.Tensor:
    """Grey uint8 scenes `[N, S, S]` -> ImageNet-normalised RGB `[N, 3, S, S]` (DINOv2's input)."""
    x = images.float().unsqueeze(1).expand(-1, 3, -1, -1) / 255.0
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def majority_baseline(train: list[Scene], test: list[Scene]) -> dict[str, float]:
    """Per question type, the accuracy on `test` of a blind answerer: for each question text, the most frequent
    answer to that text in `train` (a type's overall most frequent answer for a text never seen in `train`)."""
    by_text: dict[str, dict[str, int]] = {}
    by_kind: dict[str, dict[str, int]] = {}
    for s in train:
        for q in s.questions:
            for table, key in ((by_text, q.text), (by_kind, q.kind)):
                table.setdefault(key, {}).setdefault(q.answer, 0)
                table[key][q.answer] += 1

    def top(counts):
        return max(sorted(counts), key=counts.get)

    out = {}
    for kind in QUESTION_TYPES:
        qs = [q for s in test for q in s.questions if q.kind == kind]
        out[kind] = sum(q.answer == top(by_text.get(q.text) or by_kind[kind]) for q in qs) / len(qs)
    return out
