"""Offline linear evaluation of a trained backbone (frozen features, standard protocol).

    python scripts/linear_eval.py <run_dir | path/to/x.ckpt> [data=<option>] [data.key=value ...]
        [--random-init] [--c 1.0] [--max-iter 1000] [--k 20] [--temperature 0.07] [--out result.json]

Rebuilds the backbone from the run's resolved ``config.yaml`` (the run
directory holding ``checkpoints/``), loads the checkpoint's ``backbone.*``
weights (``checkpoints/last.ckpt`` for a run directory; any other checkpoint
of the run, such as ``checkpoints/trajectory/step_<step>.ckpt``, by its path), computes frozen,
un-augmented features of the chosen dataset's train and val splits (default:
the run's own ``data``; ``data=<option>`` and ``data.<key>=<value>`` pick
another config from ``configs/data``, which must have the same input shape),
and reports

- top-1 / top-5 of a multinomial logistic regression on standardised
  features (``ssl_it.callbacks.linear_eval.linear_eval_accuracy``, the
  number ``train.py`` reports at the end), and
- the weighted kNN accuracy (``ssl_it.callbacks.knn.knn_predict``).

``--random-init`` evaluates the same architecture with its random initial
weights (seeded by ``--seed``, default the run's seed): the baseline every
SSL objective must beat.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ssl_it.augmentation import NoAugmentation
from ssl_it.callbacks.knn import knn_predict
from ssl_it.callbacks.linear_eval import linear_eval_accuracy
from ssl_it.callbacks.taps import probe_pass
from ssl_it.data import SSLDataModule
from ssl_it.run.config_dir import CONFIG_DIR


def locate(path: Path) -> tuple[Path, Path]:
    """``(config.yaml, checkpoint)`` of a run directory or of a ``.ckpt`` inside one."""
    if path.is_dir():
        ckpt, run_dir = path / "checkpoints" / "last.ckpt", path
    elif path.suffix == ".ckpt":  # checkpoints/last.ckpt, or checkpoints/trajectory/step_<step>.ckpt
        ckpt = path
        run_dir = next((p for p in path.parents if (p / "config.yaml").is_file()), path.parent.parent)
    else:
        raise SystemExit(f"linear_eval: '{path}' is neither a run directory nor a .ckpt file")
    config = run_dir / "config.yaml"
    if not config.is_file():
        raise SystemExit(f"linear_eval: no config.yaml in run directory '{run_dir}'")
    return config, ckpt


def data_config(run_cfg: DictConfig, overrides: list[str]) -> DictConfig:
    """The run's ``data`` node, or the one composed from ``configs/data`` with the overrides."""
    if not overrides:
        return run_cfg.data
    bad = [o for o in overrides if not o.startswith("data")]
    if bad:
        raise SystemExit(f"linear_eval: only data=<option> / data.<key>=<value> overrides are accepted, got {bad}")
    if not any(o.startswith("data=") for o in overrides):  # keys of the run's own data config
        node = OmegaConf.create({"data": OmegaConf.to_container(run_cfg.data)})
        for o in overrides:
            key, value = o.split("=", 1)
            OmegaConf.update(node, key, _parse(value), merge=True)
        return node.data
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        return OmegaConf.create(OmegaConf.to_container(cfg.data, resolve=True))


def _parse(value: str) -> Any:
    return OmegaConf.create(f"v: {value}").v


def load_backbone(run_cfg: DictConfig, ckpt: Path, random_init: bool, seed: int) -> torch.nn.Module:
    """The run's backbone, with the checkpoint's weights unless ``random_init`` (then seeded by ``seed``)."""
    train_source = instantiate(run_cfg.data)
    torch.manual_seed(seed)
    backbone = instantiate(run_cfg.backbone)(input_shape=train_source.input_shape)
    if not random_init:
        if not ckpt.is_file():
            raise SystemExit(f"linear_eval: checkpoint '{ckpt}' not found")
        state = torch.load(ckpt, map_location="cpu", weights_only=False)["state_dict"]
        weights = {k.removeprefix("backbone."): v for k, v in state.items() if k.startswith("backbone.")}
        backbone.load_state_dict(weights)
    backbone.input_shape = tuple(train_source.input_shape)  # type: ignore[assignment]
    return backbone


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Linear-evaluation and kNN accuracy of the run's backbone on the (possibly overridden) data."""
    config, ckpt = locate(Path(args.run))
    run_cfg = OmegaConf.load(config)
    backbone = load_backbone(run_cfg, ckpt, args.random_init, run_cfg.seed if args.seed is None else args.seed)
    data_cfg = data_config(run_cfg, args.overrides)
    source = instantiate(data_cfg)
    source.check_available()
    if tuple(source.input_shape) != backbone.input_shape:
        raise SystemExit(
            f"linear_eval: data input shape {tuple(source.input_shape)} differs from the run's {backbone.input_shape}"
        )
    no_views = NoAugmentation(source.image_size, source.channels, source.mean, source.std, n_views=1)
    dm = SSLDataModule(
        source,
        no_views,
        batch_size=256,
        num_workers=0,
        seed=run_cfg.seed,
        drop_last=False,
        views_on_device=False,
        eval_size=None,
    )
    dm.setup()
    device = torch.device(args.device)
    model = torch.nn.ModuleDict({"backbone": backbone}).to(device)  # the probe pass reads module.backbone
    train, val = (
        (reps["backbone"].numpy(), labels.numpy())
        for reps, labels in (
            probe_pass(model, dm.probe_batches(s), ["backbone"], to_cpu=True) for s in ("train_eval", "val")
        )
    )
    result: dict[str, Any] = linear_eval_accuracy(train, val, c=args.c, max_iter=args.max_iter)
    scores = knn_predict(
        torch.from_numpy(train[0]),
        torch.from_numpy(train[1]),
        torch.from_numpy(val[0]),
        int(max(train[1].max(), val[1].max())) + 1,
        args.k,
        args.temperature,
    )
    result["knn_acc"] = float((scores.argmax(1).numpy() == val[1]).mean())
    result.update(
        checkpoint=None if args.random_init else str(ckpt),
        random_init=args.random_init,
        data=OmegaConf.to_container(data_cfg),
        n_train=len(train[1]),
        n_val=len(val[1]),
        feature_dim=int(train[0].shape[1]),
    )
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse the command line, evaluate, print the table row and write the JSON; returns the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", help="run directory (with config.yaml and checkpoints/) or a .ckpt inside one")
    parser.add_argument("overrides", nargs="*", help="data=<option> and data.<key>=<value>")
    parser.add_argument("--random-init", action="store_true", help="evaluate the untrained backbone")
    parser.add_argument("--seed", type=int, default=None, help="random-init seed (default: the run's)")
    parser.add_argument("--c", type=float, default=1.0, help="inverse L2 strength of the logistic regression")
    parser.add_argument("--max-iter", type=int, default=1000)
    parser.add_argument("--k", type=int, default=20, help="kNN neighbours")
    parser.add_argument("--temperature", type=float, default=0.07, help="kNN vote temperature")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON here")
    args = parser.parse_intermixed_args(argv)
    result = evaluate(args)
    label = "random init" if args.random_init else str(Path(args.run))
    print("| backbone | data | n_train | n_val | top-1 | top-5 | kNN |\n|---|---|---|---|---|---|---|")
    print(
        f"| {label} | {result['data'].get('_target_')} | {result['n_train']} | {result['n_val']} | "
        f"{result['top1']:.4f} | {result.get('top5', float('nan')):.4f} | {result['knn_acc']:.4f} |"
    )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
