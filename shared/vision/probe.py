"""Judging a pruned ViT by a frozen linear probe on small grey images: the image pipeline (28 px grey -> normalised RGB
at the ViT's input size), disjoint train/test draws, and the probe itself (multinomial logistic regression, float64,
L-BFGS: deterministic for a given feature matrix). Zero-TPrune and EntropyPrune both judge DINOv2-S this way."""

import numpy as np
import torch

from shared.models.vit import IMAGENET_MEAN, IMAGENET_STD


def to_pixels(images: torch.Tensor, size: int) -> torch.Tensor:
    """Grey uint8 images `[N, 28, 28]` -> ImageNet-normalised RGB `[N, 3, size, size]` (bilinear upsampling)."""
    if images.dim() != 3:
        raise ValueError(f"expected grey images [N, H, W], got shape {tuple(images.shape)}")
    x = images.float().unsqueeze(1) / 255.0
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = x.expand(-1, 3, -1, -1)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def split_indices(seed: int, n_train_pool: int, n_test_pool: int, n_train: int, n_test: int):
    """Disjoint random draws: `n_train` indices of the training split and `n_test` of the test split."""
    if n_train > n_train_pool or n_test > n_test_pool:
        raise ValueError(f"cannot draw {n_train}/{n_test} from pools of {n_train_pool}/{n_test_pool}")
    rng = np.random.default_rng(seed)
    return (np.sort(rng.choice(n_train_pool, n_train, replace=False)),
            np.sort(rng.choice(n_test_pool, n_test, replace=False)))  # fmt: skip


class LinearProbe:
    """Multinomial logistic regression on standardised features, fitted in float64 by L-BFGS (deterministic)."""

    def __init__(self, l2: float = 1e-3, max_iter: int = 500):
        self.l2, self.max_iter = l2, max_iter

    def fit(self, X: torch.Tensor, y: torch.Tensor) -> "LinearProbe":
        X = X.double()
        self.mu, self.sd = X.mean(dim=0), X.std(dim=0) + 1e-6
        Z = (X - self.mu) / self.sd
        n_class = int(y.max()) + 1
        W = torch.zeros(Z.shape[1], n_class, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(n_class, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([W, b], max_iter=self.max_iter, line_search_fn="strong_wolfe", tolerance_grad=1e-9)

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(Z @ W + b, y) + self.l2 * W.pow(2).sum()
            loss.backward()
            return loss

        with torch.enable_grad():
            opt.step(closure)
        self.W, self.b = W.detach(), b.detach()
        return self

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        return (((X.double() - self.mu) / self.sd) @ self.W + self.b).argmax(dim=-1)
