"""Write a CIFAR-sized folder of JPEGs in class sub-folders, for trying
``data=imagefolder`` at scale without a download.

    python scripts/make_image_folder.py OUT [--train 50000] [--val 10000] [--size 32] [--seed 0]

Writes ``OUT/train/<class>/<i>.jpg`` and ``OUT/val/<class>/<i>.jpg``: each
image is one of scikit-learn's 8x8 digits (its class), upscaled to ``size``,
randomly shifted, tinted and drawn over coloured noise, saved as a JPEG
(quality 90). Class folders are written in order, as a real dataset is.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits


def make_image(digit: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """One ``(size, size, 3)`` uint8 image of an 8x8 digit in [0, 16]."""
    scale = max(1, (size * 3) // 32)
    glyph = np.kron(digit / 16.0, np.ones((scale, scale)))  # (8*scale, 8*scale)
    canvas = np.zeros((size, size))
    top, left = rng.integers(0, size - glyph.shape[0] + 1, size=2)
    canvas[top : top + glyph.shape[0], left : left + glyph.shape[1]] = glyph
    tint = rng.uniform(0.4, 1.0, size=3)
    background = rng.uniform(0.0, 0.35, size=3) + rng.normal(0.0, 0.08, size=(size, size, 3))
    image = background * (1 - canvas[..., None]) + canvas[..., None] * tint
    return (np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)


def write_split(out: Path, n: int, size: int, rng: np.random.Generator) -> None:
    """Write ``n`` JPEGs, ``n // 10`` per digit class, each in its ``class_<c>`` folder."""
    digits = load_digits()
    per_class = {c: np.flatnonzero(digits.target == c) for c in range(10)}
    for c in range(10):
        folder = out / f"class_{c}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n // 10):
            digit = digits.images[rng.choice(per_class[c])]
            Image.fromarray(make_image(digit, size, rng)).save(folder / f"{i:05d}.jpg", quality=90)


def main() -> None:
    """Write a ``train``/``val`` image folder of digit pictures under ``out``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=50_000)
    parser.add_argument("--val", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    write_split(args.out / "train", args.train, args.size, rng)
    write_split(args.out / "val", args.val, args.size, rng)
    print(f"wrote {args.train} + {args.val} images of {args.size} px under {args.out}")


if __name__ == "__main__":
    main()
