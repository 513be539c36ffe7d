"""Training machinery shared by every neural MI estimator.

One loop for all of them (this is why the file is longer than most): a
seeded train/held-out split, Adam on the training split, the bound read on
the held-out split every ``eval_every`` steps, early stopping on it (the
weights of the best held-out value are kept), warm starts through
``state_dict`` / ``load_state_dict``, and NaN with a reason instead of an
exception when training fails. A failed call discards the critic (and
MINE's moving average), so the next call starts afresh instead of
inheriting NaN weights; that is noted in ``diagnostics["notes"]``.
"""

from __future__ import annotations

import abc
import copy
import math
from typing import Any, Literal

import torch
from torch import nn
from typing_extensions import override

from ssl_it import checks
from ssl_it.estimators.base import MIEstimator, Pair, YKind
from ssl_it.estimators.pairwise import gauss_rank
from ssl_it.threads import threads

CriticKind = Literal["separable", "concat"]
Preprocess = Literal["gauss_rank", "zscore"]


class NeuralMIEstimator(MIEstimator):
    """Base of the critic-trained estimators (MINE, NWJ, InfoNCE, JS, SMILE, CLUB).

    The critic is trained on a ``1 - test_fraction`` split and the estimate
    is computed on the held-out split. Continuous inputs are Gaussianised per
    coordinate (``preprocess="gauss_rank"``: normal scores of the ranks, an
    MI-preserving bijection on the sample) or z-scored with the training
    split's statistics (``"zscore"``); integer labels are one-hot encoded. Computation runs
    in float32 on the input's device.

    Selecting the best of several held-out evaluations (early stopping) adds
    a small optimistic bias (at most ``steps / eval_every`` looks).

    Args:
        critic: ``"separable"`` (``g(x)^T h(y)``, fast) or ``"concat"``
            (MLP on ``[x; y]`` for every pair, more expressive, slower).
        hidden: width of the critic's hidden layers.
        layers: number of hidden layers.
        embed_dim: output width of g and h for the separable critic.
        steps: maximum number of Adam steps per call.
        batch_size: training (and held-out evaluation) batch size.
        lr: Adam learning rate.
        test_fraction: share of the samples held out for the reported value.
        preprocess: ``"gauss_rank"`` (default; heavy-tailed inputs such as
            x^3 otherwise drive DV/NWJ/JS read-outs to -1e6 in our benchmark)
            or ``"zscore"``.
        eval_every: steps between held-out evaluations.
        patience: evaluations without improvement before stopping.
        warm_start: keep the critic and optimiser between calls (for a
            representation that changes slowly during training); ``False``
            re-initialises them (from ``seed``) at every call.
        cpu_threads: torch intra-op threads while training on CPU (the
            process-wide setting is restored afterwards); ``None`` leaves it
            alone. Small critics gain nothing from more threads, and lose
            much beside a busy loader (docs/results/framework-overhead.md).
        seed: seed of the split, the critic initialisation and the batches.
        y_kind: see :class:`~ssl_it.estimators.base.MIEstimator`.
    """

    thread_safe = False  # the critic's initialisation seeds the global RNG (within fork_rng)

    def __init__(
        self,
        critic: CriticKind = "separable",
        hidden: int = 128,
        layers: int = 2,
        embed_dim: int = 32,
        steps: int = 300,
        batch_size: int = 128,
        lr: float = 1e-3,
        test_fraction: float = 0.3,
        eval_every: int = 25,
        patience: int = 4,
        preprocess: Preprocess = "gauss_rank",
        warm_start: bool = True,
        cpu_threads: int | None = 1,
        seed: int = 0,
        y_kind: YKind = "auto",
    ) -> None:
        super().__init__(seed=seed, y_kind=y_kind)
        if cpu_threads is not None:
            checks.integer("cpu_threads", cpu_threads)
        checks.choice("critic", critic, ("separable", "concat"))
        for name, value in [
            ("hidden", hidden),
            ("layers", layers),
            ("embed_dim", embed_dim),
            ("steps", steps),
            ("batch_size", batch_size),
            ("eval_every", eval_every),
            ("patience", patience),
        ]:
            checks.integer(name, value)
        checks.positive("lr", lr)
        checks.number("test_fraction", test_fraction, 0.0, 1.0, open_low=True, open_high=True)
        checks.choice("preprocess", preprocess, ("gauss_rank", "zscore"))
        checks.flag("warm_start", warm_start)
        if batch_size < 2:
            checks.fail("batch_size", "an integer >= 2", batch_size)
        self.critic, self.hidden, self.layers, self.embed_dim = critic, hidden, layers, embed_dim
        self.steps, self.batch_size, self.lr = steps, batch_size, float(lr)
        self.test_fraction, self.eval_every, self.patience = float(test_fraction), eval_every, patience
        self.preprocess: Preprocess = preprocess
        self.warm_start = warm_start
        self.cpu_threads = cpu_threads
        self._module: nn.Module | None = None
        self._optimizer: torch.optim.Optimizer | None = None
        self._shape: tuple[int, int, int] | None = None
        self._calls = 0

    # ----- what subclasses provide -------------------------------------------------
    @abc.abstractmethod
    def _build(self, dx: int, dy: int, n_classes: int) -> nn.Module:
        """The trainable module for inputs of these widths (``n_classes`` 0 if continuous)."""

    @abc.abstractmethod
    def _train_loss(self, module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, float]:
        """``(loss to minimise, bound value on this batch)``."""

    @abc.abstractmethod
    def _evaluate(self, module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        """``(reported value, selection score: higher is better)`` on the held-out split."""

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_extra_state` saved."""

    # ----- interface -----------------------------------------------------------------
    @property
    @override
    def min_samples(self) -> int:
        return 20

    def n_test(self, n_samples: int) -> int:
        """Size of the held-out split for N samples."""
        return min(max(2, round(self.test_fraction * n_samples)), n_samples - 2)

    def eval_batch(self, n_samples: int) -> int:
        """Held-out batch size (the InfoNCE ceiling is its log)."""
        return min(self.batch_size, self.n_test(n_samples))

    @override
    def settings(self) -> dict[str, Any]:
        return {
            "critic": self.critic,
            "hidden": self.hidden,
            "layers": self.layers,
            "embed_dim": self.embed_dim,
            "steps": self.steps,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "test_fraction": self.test_fraction,
            "eval_every": self.eval_every,
            "patience": self.patience,
            "preprocess": self.preprocess,
            "warm_start": self.warm_start,
            "cpu_threads": self.cpu_threads,
            "seed": self.seed,
            "y_kind": self.y_kind,
        }

    def state_dict(self) -> dict[str, Any]:
        """Critic, optimiser and bookkeeping state (empty before the first call)."""
        if self._module is None or self._optimizer is None:
            return {}
        return {
            "module": copy.deepcopy(self._module.state_dict()),
            "optimizer": copy.deepcopy(self._optimizer.state_dict()),
            "shape": self._shape,
            "calls": self._calls,
            "extra": self._extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (the next call continues from it)."""
        if not state:
            self._module = self._optimizer = self._shape = None
            return
        for key in ("module", "optimizer", "shape"):
            if key not in state:
                raise ValueError(f"state dict is missing {key!r}")
        dx, dy, n_classes = state["shape"]
        self._make(dx, dy, n_classes, device=torch.device("cpu"))
        assert self._module is not None and self._optimizer is not None
        self._module.load_state_dict(state["module"])
        self._optimizer.load_state_dict(state["optimizer"])
        self._calls = int(state.get("calls", 0))
        self._load_extra_state(state.get("extra", {}))

    # ----- training ------------------------------------------------------------------
    def _make(self, dx: int, dy: int, n_classes: int, device: torch.device) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            module = self._build(dx, dy, n_classes)
        self._module = module.to(device)
        self._optimizer = torch.optim.Adam(self._module.parameters(), lr=self.lr)
        self._shape = (dx, dy, n_classes)
        self._load_extra_state({})

    def _prepare(self, pair: Pair, train: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
        def zscore(t: torch.Tensor) -> torch.Tensor:
            if self.preprocess == "gauss_rank":
                return gauss_rank(t).float()
            t = t.float()
            mean, std = t[train].mean(0), t[train].std(0)
            return (t - mean) / torch.where(std > 0, std, torch.ones_like(std))

        x = zscore(pair.x)
        if not pair.labels:
            return x, zscore(pair.y), 0
        n_classes = max(int(pair.y.max()) + 1, self._shape[2] if self._shape else 0)
        return x, torch.nn.functional.one_hot(pair.y, n_classes).float(), n_classes

    def _estimate(self, pair: Pair) -> tuple[float, dict[str, Any]]:
        n = pair.n
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed)).to(pair.x.device)
        n_test = self.n_test(n)
        test, train = perm[:n_test], perm[n_test:]
        x, y, n_classes = self._prepare(pair, train)
        shape, notes = (x.shape[1], y.shape[1], n_classes), []
        if not self.warm_start or self._module is None or self._shape != shape:
            if self._module is not None and self._shape != shape:
                notes.append(f"critic re-initialised: input widths changed from {self._shape} to {shape}")
            self._make(*shape, device=x.device)
        elif not _finite_parameters(self._module):
            notes.append("critic re-initialised: its warm-started parameters were not finite")
            self._make(*shape, device=x.device)
        assert self._module is not None
        self._module.to(x.device)
        _move_optimizer(self._optimizer, x.device)
        diag: dict[str, Any] = {"n_train": len(train), "n_test": n_test, "notes": notes}
        try:
            with threads(self.cpu_threads if x.device.type == "cpu" else None):
                value = self._fit(x, y, train, test, diag)
        except (RuntimeError, FloatingPointError) as err:
            value, diag["failure"] = math.nan, f"training failed: {err}"
        self._calls += 1
        if not math.isfinite(value):
            # A failed critic (or a non-finite moving average in MINE) would poison every warm start after it.
            self._module = self._optimizer = self._shape = None
            self._load_extra_state({})
            notes.append("this call failed: the critic is discarded and the next call starts from a fresh one")
        return value, diag

    def _fit(
        self, x: torch.Tensor, y: torch.Tensor, train: torch.Tensor, test: torch.Tensor, diag: dict[str, Any]
    ) -> float:
        module, opt = self._module, self._optimizer
        assert module is not None and opt is not None
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + (self._calls if self.warm_start else 0))
        b = min(self.batch_size, len(train))
        best_score, best_value, best_state, bad = -math.inf, math.nan, None, 0
        curve, history = [], []
        for step in range(1, self.steps + 1):
            module.train()
            idx = train[torch.randperm(len(train), generator=gen)[:b].to(train.device)]
            loss, batch_value = self._train_loss(module, x[idx], y[idx])
            if not math.isfinite(float(loss.detach())):
                diag["failure"] = f"non-finite training loss at step {step}"
                return math.nan
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            curve.append(batch_value)
            if step % self.eval_every and step != self.steps:
                continue
            module.eval()
            with torch.no_grad():
                value, score = self._evaluate(module, x[test], y[test])
            history.append((step, value))
            if math.isfinite(score) and score > best_score:
                best_score, best_value, bad = score, value, 0
                best_state = copy.deepcopy(module.state_dict())
            else:
                bad += 1
                if bad >= self.patience:
                    break
        diag.update({"steps_run": step, "train_curve": curve, "heldout_curve": history})
        if best_state is None:
            diag["failure"] = "no finite held-out value during training"
            return math.nan
        module.load_state_dict(best_state)
        return best_value


def _finite_parameters(module: nn.Module) -> bool:
    """Whether every parameter of ``module`` is finite."""
    return all(bool(torch.isfinite(p).all()) for p in module.parameters())


def _move_optimizer(opt: torch.optim.Optimizer | None, device: torch.device) -> None:
    """Move Adam's moment buffers next to the parameters (after a device change)."""
    if opt is None:
        return
    for state in opt.state.values():
        for key, val in state.items():
            if isinstance(val, torch.Tensor) and key != "step":
                state[key] = val.to(device)
