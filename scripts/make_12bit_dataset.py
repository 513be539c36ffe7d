"""Write the 12-bit information-plane task (Shwartz-Ziv & Tishby 2017) as an .npz.

python scripts/make_12bit_dataset.py --out outputs/data/ib_12bit.npz
"""

from __future__ import annotations

import argparse

import numpy as np

from ssl_it.data.ib12 import make_12bit_task, write_12bit_npz


def main() -> None:
    """Write the 12-bit task of Shwartz-Ziv & Tishby (2017) as ``.npz`` and print its label entropy."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="outputs/data/ib_12bit.npz")
    parser.add_argument("--train-fraction", type=float, default=0.85)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = write_12bit_npz(args.out, args.train_fraction, args.seed)
    _, y = make_12bit_task()
    p = y.mean()
    h_bits = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    print(f"wrote {path}: 4096 patterns, p(y=1) = {p:.4f}, H(Y) = {h_bits:.5f} bits")


if __name__ == "__main__":
    main()
