"""Cross-fitted classifier lower bound on ``I(T;Y)`` for class labels (usable information).

For any classifier ``q(y|t)`` chosen without looking at the labels it is
scored on, ``E[-log q(Y|T)] >= H(Y|T)`` (Gibbs), so

    I(T;Y) = H(Y) - H(Y|T) >= H(Y) - E[-log q(Y|T)]

(Barber & Agakov 2003, "The IM algorithm", NeurIPS; the predictive
"V-information" of Xu, Zhao, Song, Stewart & Ermon 2020, arXiv:2002.10689).
Every sample is scored by a model fitted on the other folds, so no held-out
label is ever seen by the model that predicts it; what remains is the
sampling noise of the held-out average and the plug-in ``H(Y)`` (bias
``-(C - 1) / (2N)``). The folds are stratified, so a sample's own label
lowers its class's share of the training split by about 1/N: a
conservative effect, which can only lower the bound.

This file is longer than most because the probe, its nested validation and
its calibration belong together: splitting them would scatter one algorithm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
from typing_extensions import override

from ssl_it import checks
from ssl_it.estimators.base import MIEstimator, Pair, YKind, label_entropy
from ssl_it.estimators.reduction import PrincipalAxes
from ssl_it.linalg import column_std

Standardize = Literal["layer", "unit"]
PRIOR_MIX: float = 1e-3
"""Share of the (add-1/2 smoothed) class prior mixed into every predicted
distribution: it caps one sample's loss at ``-log(PRIOR_MIX * p_c)`` (classes
absent from a training split, a rare overconfident mistake) and costs at most
``-log(1 - PRIOR_MIX) = 0.001`` nats."""
DEFAULT_PENALTIES: tuple[float, ...] = tuple(10.0 ** (e / 2) for e in range(-6, 5))
"""Ridge penalties (x N_train x mean per-unit variance): 1e-3 ... 1e2, half-decade steps."""


def stratified_folds(labels: torch.Tensor, n_folds: int, seed: int) -> torch.Tensor:
    """Fold id ``(N,)`` in ``[0, n_folds)``: each class shuffled (seeded) and dealt round-robin.

    Classes are dealt one after the other with a running offset, so small
    classes do not all start in fold 0.
    """
    lab = labels.cpu()
    perm = torch.randperm(len(lab), generator=torch.Generator().manual_seed(seed))
    order = perm[torch.argsort(lab[perm], stable=True)]  # grouped by class, random within
    fold = torch.empty(len(lab), dtype=torch.long)
    fold[order] = torch.arange(len(lab)) % n_folds
    return fold.to(labels.device)


def ridge_loo_scores(
    x_train: torch.Tensor,
    onehot: torch.Tensor,
    x_eval: torch.Tensor,
    penalties: torch.Tensor,
    standardize: Standardize = "layer",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Ridge regression of one-hot labels on T: leave-one-out scores of the training rows and scores of ``x_eval``.

    T is centred and scaled with training statistics only (``"layer"``: one
    factor, the RMS per-unit std, which keeps the fit rotation-invariant;
    ``"unit"``: each column's std); the targets are centred by the training
    class frequencies. The penalty is ``penalties x N_train x mean per-unit
    variance``. One eigendecomposition (of ``X^T X`` or ``X X^T``, whichever
    is smaller) serves every penalty. The leave-one-out score of training
    row i is the exact prediction of the fit without row i,
    ``(f_i - h_ii y_i) / (1 - h_ii)`` with ``H = X (X^T X + lam I)^-1 X^T``,
    keeping the centring of the full split: a refitted intercept would make
    each row's own-class score lower by ~1/N, a label-dependent shift that
    a calibration fitted on these scores would learn and test rows lack.

    Returns:
        ``(loo (L, N_train, C), eval (L, N_eval, C))`` for the L penalties.
    """
    mean = x_train.mean(0)
    if standardize == "layer":
        scale = (x_train - mean).pow(2).mean().sqrt()
        scale = scale if scale > 0 else torch.ones_like(scale)
    else:
        scale = column_std(x_train)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    xc, xe = (x_train - mean) / scale, (x_eval - mean) / scale
    target_mean = onehot.mean(0)
    yc = onehot - target_mean
    n, d = xc.shape
    if len(penalties) == 1:
        loo, fit_eval = _ridge_one_penalty(xc, yc, xe, float(penalties[0]))
        return loo + target_mean, fit_eval + target_mean
    if d <= n:
        ev, vecs = torch.linalg.eigh(xc.T @ xc)
        ev = ev.clamp_min(0)
        rows, rows_weight = xc @ vecs, torch.ones_like(ev)  # fitted = rows diag(f) rows^T yc
        proj, coef = xe @ vecs, vecs.T @ (xc.T @ yc)
    else:
        ev, vecs = torch.linalg.eigh(xc @ xc.T)
        ev = ev.clamp_min(0)
        rows, rows_weight = vecs, ev  # fitted = U diag(ev f) U^T yc
        proj, coef = (xe @ xc.T) @ vecs, vecs.T @ yc
    lam = penalties.to(ev) * (ev.sum() / d).clamp_min(torch.finfo(ev.dtype).tiny)
    shrink = 1.0 / (ev[None, :] + lam[:, None])  # (L, rank)
    weight = shrink * rows_weight  # (L, rank)
    fitted = _per_penalty(rows, weight, coef)  # (L, N_train, C)
    hat = ((rows * rows) @ weight.T).T[..., None]  # (L, N_train, 1): diagonal of the hat matrix
    loo = (fitted - hat * yc) / (1 - hat).clamp_min(1e-12) + target_mean
    return loo, _per_penalty(proj, shrink, coef) + target_mean


def _per_penalty(rows: torch.Tensor, weight: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """``rows @ diag(weight[l]) @ coef`` for every penalty l: ``(L, N, C)`` from ``(N, r)``, ``(L, r)``, ``(r, C)``.

    One matrix product with the L weighted copies of ``coef`` side by side, not L broadcast ones (twice as fast
    at the callback's sizes)."""
    n_pen, n_cls = weight.shape[0], coef.shape[1]
    weighted = (weight.T[:, :, None] * coef[:, None, :]).reshape(coef.shape[0], n_pen * n_cls)
    return (rows @ weighted).reshape(rows.shape[0], n_pen, n_cls).transpose(0, 1)


def _ridge_one_penalty(
    xc: torch.Tensor, yc: torch.Tensor, xe: torch.Tensor, penalty: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`ridge_loo_scores` for one penalty by a Cholesky solve instead of an eigendecomposition.

    The same fit (``lam = penalty x trace(xc^T xc) / d``), without the target
    mean: ``(loo (1, N_train, C), eval (1, N_eval, C))``. The solve runs in
    float64, where a small penalty leaves ``X^T X + lam I`` ill-conditioned
    for float32. A Cholesky factorisation costs a fraction of the
    eigendecomposition that only pays off when many penalties share it (the
    nested calibration fits one penalty per inner fold)."""
    dtype = xc.dtype
    xc, yc, xe = xc.double(), yc.double(), xe.double()
    n, d = xc.shape
    if d <= n:
        gram = xc.T @ xc
        lam = penalty * (gram.diagonal().sum() / d).clamp_min(torch.finfo(gram.dtype).tiny)
        chol = torch.linalg.cholesky(gram + lam * torch.eye(d, dtype=gram.dtype, device=gram.device))
        half = torch.linalg.solve_triangular(chol, xc.T, upper=False)  # (d, N) = L^-1 X^T
        hat = half.pow(2).sum(0)[:, None]  # x_i^T (X^T X + lam I)^-1 x_i = |L^-1 x_i|^2
        coef = torch.cholesky_solve(xc.T @ yc, chol)
        fitted, fit_eval = xc @ coef, xe @ coef
    else:
        kernel = xc @ xc.T
        lam = penalty * (kernel.diagonal().sum() / d).clamp_min(torch.finfo(kernel.dtype).tiny)
        chol = torch.linalg.cholesky(kernel + lam * torch.eye(n, dtype=kernel.dtype, device=kernel.device))
        dual = torch.cholesky_solve(yc, chol)  # (K + lam I)^-1 yc
        fitted = yc - lam * dual  # K (K + lam I)^-1 yc
        hat = 1 - lam * torch.cholesky_inverse(chol).diagonal()[:, None]
        fit_eval = (xe @ xc.T) @ dual
    loo = (fitted - hat * yc) / (1 - hat).clamp_min(1e-12)
    return loo[None].to(dtype), fit_eval[None].to(dtype)


def smoothed_log_prior(counts: torch.Tensor) -> torch.Tensor:
    """``log p_c`` with ``p_c = (n_c + 1/2) / (N + C/2)`` (add-1/2 smoothing: absent classes keep a share)."""
    return ((counts + 0.5) / (counts.sum() + 0.5 * len(counts))).log()


def _robust_cholesky(within: torch.Tensor) -> torch.Tensor:
    """Cholesky factor of ``within + jitter I``, jitter ``1e-6 x`` its mean variance.

    Scores of (nearly) constant features have a singular within-class
    covariance whose rounding errors can exceed that jitter; only then is it
    raised, by factors of 100, up to the dtype's resolution of the largest
    variance (a matrix that factorises at the first try is unchanged)."""
    eye = torch.eye(within.shape[0], dtype=within.dtype, device=within.device)
    jitter = 1e-6 * within.diagonal().mean().clamp_min(1e-30)
    floor = torch.finfo(within.dtype).eps * within.diagonal().abs().max().clamp_min(1.0)
    for _ in range(12):
        chol, info = torch.linalg.cholesky_ex(within + jitter * eye)
        if int(info) == 0:
            return chol
        jitter = torch.maximum(jitter * 100, floor)
    return torch.linalg.cholesky(within + jitter * eye)  # raises, naming the failure


class DiscriminantCalibration:
    """Fisher's reduced-rank LDA on the C-dimensional ridge scores: ``q(y | s)`` at several ranks.

    The scores of class c are modelled as ``N(m_c, W)`` with a pooled
    within-class covariance W; the discriminant axes are the eigenvectors of
    the between-class scatter in W-whitened coordinates, and the rank-r
    posterior uses the first r axes (Hastie, Tibshirani & Friedman, ESL
    §4.3.3; with ridge scores this is penalised discriminant analysis,
    Hastie, Buja & Tibshirani 1995, Ann. Statist. 23:73). The posterior is a
    softmax of functions linear in the scores, hence in T.
    """

    def __init__(self, scores: torch.Tensor, labels: torch.Tensor, n_classes: int) -> None:
        s = scores[:, :-1]  # the C scores sum to 1: one column is redundant
        n, p = s.shape
        counts = torch.bincount(labels, minlength=n_classes).to(s.dtype)
        means = torch.zeros(n_classes, p, dtype=s.dtype, device=s.device).index_add_(0, labels, s)
        means = means / counts.clamp_min(1)[:, None]
        resid = s - means[labels]
        within = resid.T @ resid / n
        chol = _robust_cholesky(within)
        white = torch.linalg.solve_triangular(chol, means.T, upper=False).T  # (C, p)
        grand = counts @ white / n
        between = ((white - grand).T * counts) @ (white - grand) / n
        axes = torch.linalg.eigh(between)[1].flip(1)
        self.proj = torch.linalg.solve_triangular(chol.T, axes, upper=True)  # s -> discriminant coordinates
        self.centres = means @ self.proj
        self.log_prior = smoothed_log_prior(counts)
        self.absent = counts == 0

    def log_proba(self, scores: torch.Tensor, ranks: list[int]) -> torch.Tensor:
        """``log q(y | s)`` ``(len(ranks), N, C)``, mixed with the prior (:data:`PRIOR_MIX`)."""
        z = scores[:, :-1] @ self.proj
        per_axis = (z[:, None, :] - self.centres[None]).pow(2)  # (N, C, p)
        cumulative = torch.cat([torch.zeros_like(per_axis[..., :1]), per_axis.cumsum(2)], 2)  # rank r: [..., r]
        d2 = cumulative[..., ranks].permute(2, 0, 1)  # (R, N, C): squared distance on the first r axes
        logits = (-0.5 * d2 + self.log_prior).masked_fill(self.absent[None, None], -math.inf)
        log_q = torch.log_softmax(logits, 2)
        return torch.logaddexp(log_q + math.log1p(-PRIOR_MIX), self.log_prior + math.log(PRIOR_MIX))


TEMPERATURES: tuple[float, ...] = tuple(2.0**e for e in range(-1, 10))
"""Inverse temperatures of the softmax calibration, 0.5 ... 512 (ridge scores are one-hot regression outputs)."""


def softmax_log_proba(
    scores: torch.Tensor, labels: torch.Tensor, n_classes: int, temperatures: tuple[float, ...] = TEMPERATURES
) -> torch.Tensor:
    """``log q(c | s) = log_softmax(tau s_c + log p_c)`` ``(len(temperatures), N, C)``,
    mixed with the prior (:data:`PRIOR_MIX`).

    ``p`` is the add-1/2 smoothed class frequency of ``labels`` (the
    training rows); classes absent from them get only the prior's share.
    Unlike the discriminant calibration this needs no class means, so it
    stays sound with one or two training rows per class."""
    counts = torch.bincount(labels, minlength=n_classes).to(scores.dtype)
    log_prior = smoothed_log_prior(counts)
    tau = torch.tensor(temperatures, dtype=scores.dtype, device=scores.device)[:, None, None]
    logits = (tau * scores[None] + log_prior).masked_fill((counts == 0)[None, None], -math.inf)
    return torch.logaddexp(torch.log_softmax(logits, 2) + math.log1p(-PRIOR_MIX), log_prior + math.log(PRIOR_MIX))


def _nll(log_q: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Summed negative log-likelihood per rank: ``(R,)`` from ``(R, N, C)``."""
    return -log_q.gather(2, labels[None, :, None].expand(log_q.shape[0], -1, 1)).sum((1, 2))


DEFAULT_BANDWIDTHS: tuple[float, ...] = (0.7, 1.4)
"""Kernel widths of the non-linear probe, as multiples of the median pairwise distance."""


@dataclass
class CrossFit:
    """Held-out ``log q`` ``(N, C)`` of the chosen probe, of each candidate probe, and each fold's choices
    ``(penalty, calibration, candidate)``."""

    log_q: torch.Tensor
    per_candidate: dict[str, torch.Tensor]
    chosen: list[tuple[float, str, str]]


def random_fourier_features(
    axes: PrincipalAxes, kernel_dim: int, n_features: int, bandwidths: tuple[float, ...], seed: int
) -> list[torch.Tensor]:
    """``sqrt(2 / D) cos(W s / (b l) + c)`` for each bandwidth multiple b: Gaussian-kernel features of T.

    ``s``: T's principal axes above its noise edge (at least 2, at most
    ``kernel_dim``; :func:`~ssl_it.estimators.reduction.axes_above_noise`),
    each scaled to unit variance (``axes`` is T after the probe's
    standardisation);
    ``l`` the median distance between rows of s (up to 1,024 rows);
    ``W`` ``(q, D)`` standard normal and ``c`` uniform on ``[0, 2 pi)``,
    seeded. A linear fit on these features approximates a fit in the
    Gaussian kernel's space (Rahimi & Recht 2007, NeurIPS), which holds
    XOR-like and radial label structure that no linear probe sees. Computed
    from T alone: no label takes part, so the cross-fitted bound stays a
    bound."""
    scores, var = axes.above_noise(kernel_dim, floor=2)
    if scores.shape[1] == 0:
        return [torch.zeros(axes.n, 1, dtype=axes.t.dtype, device=axes.t.device)]
    s = scores / var.sqrt()
    sub = s[:1024]
    scale = float(torch.cdist(sub, sub)[torch.triu_indices(len(sub), len(sub), 1).unbind()].median())
    gen = torch.Generator().manual_seed(seed + 7)
    w = torch.randn(s.shape[1], n_features, generator=gen, dtype=s.dtype).to(s.device)
    phase = (2 * math.pi * torch.rand(n_features, generator=gen, dtype=s.dtype)).to(s.device)
    return [math.sqrt(2.0 / n_features) * torch.cos(s @ w / (b * max(scale, 1e-12)) + phase) for b in bandwidths]


class ClassifierMI(MIEstimator):
    """Cross-fitted classifier lower bound ``I(T;Y) >= H(Y) - held-out cross-entropy`` (nats).

    The probe is a linear classifier ``q(y|t) = softmax(A t + b)`` fitted in
    closed form: ridge regression of the one-hot labels on T (penalty from a
    grid), then a calibration of the C ridge scores s: Fisher's reduced-rank
    LDA (rank from a grid, i.e. penalised discriminant analysis; rank 0 is
    the class prior alone), or ``softmax(tau s + log prior)`` (tau from a
    grid). Cross-fitting: the samples are split into ``n_folds`` stratified
    folds; fold k is scored by a probe fitted on the other folds, so every
    sample is scored by a model that never saw it. Nested validation inside
    each training split only: the penalty minimises the exact leave-one-out
    squared error of the ridge fit (closed form); the calibration minimises
    the cross-entropy on ``inner_folds`` inner folds, each scored as an
    outer fold is (ridge fitted on the other inner folds, LDA on its
    leave-one-out scores); the chosen LDA is then fitted on the leave-one-out
    scores of the whole training split. Fold k's labels never choose or fit
    anything applied to fold k. The softmax matters with few samples per
    class (100 classes x 5: leave-one-out scores lose a fifth of their
    class, and the LDA fitted on them is overconfident on new rows;
    docs/results/estimators-highdim.md, "many classes").

    Why this probe and not a multinomial logistic regression fitted by
    L-BFGS: on the subspace-mixture tasks of ``benchmarks/bench_highdim.py`` it
    gave a tighter bound in high dimension (the reduced rank exploits label
    information confined to a few directions) at a fraction of the cost (one
    eigendecomposition per fit serves the whole penalty grid); see
    docs/results/estimators-highdim.md for the numbers.

    Invariances: a rescaling of T changes nothing (each training split is
    centred and divided by one factor, its RMS per-unit std). With
    ``standardize="layer"`` a rotation changes nothing either (up to
    round-off, unless ``max_dim`` triggers the randomised PCA). With
    ``standardize="unit"`` each unit of T is first z-scored on all N rows
    (no label takes part, so the bound still holds): a per-unit rescaling
    then changes nothing, and a rotation moves the value only through the
    sampling noise of the N-row unit scales (a median of 0.1-0.3 %, at
    most 0.9 %, at d = 256-2,048 and N = 512;
    docs/results/layer-suite.md). The units are z-scored once, not again
    in each split: when T is wider than the axes kept, z-scoring each
    split's columns would whiten the principal axes, and the isotropic
    ridge penalty could no longer prefer the high-variance ones (15-16 %
    of the value lost on the 10-class mixture at d = 256 and 1,024). An
    invertible linear map changes the ridge penalty's geometry, so the
    value moves a little.

    Wide T: when d exceeds ``min(max_dim, N // 4)``, T is first replaced by
    its coordinates on that many top principal axes, computed from T alone
    (all N rows, no labels). No label takes part, so each held-out label is
    still predicted by a model that never saw it and the bound still holds.
    The N // 4 cap halves the cost at N = 512 (128 axes instead of 256) for
    the same bound there (benchmarks/bench_highdim.py, mixtures at N = 512),
    while larger probe sets keep up to ``max_dim`` axes, which they use.

    Non-linear label information (``nonlinear=True``): a second probe of
    the same form on random Fourier features of T's axes above its noise
    edge; each outer fold is scored by whichever probe wins on the inner
    folds of its training split, so the choice never sees the scored rows
    and the bound stays a bound.

    Band: ``diagnostics["stderr"]`` is the standard error of the mean
    held-out loss, the sampling spread of the bound.

    Ceiling: ``H(Y)`` (plug-in). Bound: ``"lower"`` (in expectation: the
    held-out cross-entropy has sampling noise, so a value may exceed the
    truth by about its spread). With labels independent of T the value is
    close to 0 and usually slightly negative (the probe's excess loss).

    Shapes: x = T ``(N, d)``, y ``(N,)`` integer labels. Units: nats.
    Cost: K (1 + inner_folds) eigendecompositions of size ``min(d, N_train)`` (K outer fits,
    K x inner_folds inner ones; d capped at ``max_dim``) plus small ``C x C``
    algebra: 0.10 s at N = 512, d = 128 and 2.0 s at N = 8,192, d = 256 on
    one thread.

    Args:
        n_folds: K >= 3 (folds of the cross-fitting).
        inner_folds: folds of each training split that choose the
            calibration and the probe (linear or non-linear), >= 2
            (``None``: K - 1). Fewer are cheaper; each inner fit then sees
            less of the training split.
        penalties: ridge penalties to choose from, as multiples of
            ``N_train x`` the mean per-unit variance.
        ranks: discriminant ranks to choose from (``None``: 1, 2, 4, 8, ...
            up to C - 1, and C - 1); rank 0 (the prior) and the softmax
            temperatures :data:`TEMPERATURES` are always candidates too.
        max_dim: principal axes kept when T is wider, at most N // 4
            (``None``: never reduce).
        standardize: ``"layer"`` (only the splits' one factor) or
            ``"unit"`` (each unit z-scored on all N rows first).
        seed: seed of the folds, the random features and the randomised PCA.
        y_kind: ``"auto"`` or ``"labels"``; y must be integer labels
            (``"continuous"`` raises).
        nonlinear: also fit a probe on random Fourier features of T
            (:func:`random_fourier_features`), and let each outer fold use
            whichever of the two probes has the lower inner-fold
            cross-entropy. The bound reported is that choice's; both
            probes' own bounds are in ``diagnostics`` (``I_linear``,
            ``I_nonlinear``). Costs about twice the linear probe alone.
        kernel_dim: the most of T's axes the random features read.
        n_features: random features D.
        bandwidths: kernel widths, multiples of the median distance; the
            leave-one-out error picks one per fold.
    """

    name = "classifier"
    bound = "lower"
    labels_only = True

    def __init__(
        self,
        n_folds: int = 5,
        inner_folds: int | None = None,
        penalties: tuple[float, ...] | list[float] = DEFAULT_PENALTIES,
        ranks: tuple[int, ...] | list[int] | None = None,
        max_dim: int | None = 256,
        standardize: Standardize = "layer",
        seed: int = 0,
        y_kind: YKind = "auto",
        nonlinear: bool = False,
        kernel_dim: int = 16,
        n_features: int = 128,
        bandwidths: tuple[float, ...] | list[float] = DEFAULT_BANDWIDTHS,
    ) -> None:
        super().__init__(seed=seed, y_kind=y_kind)
        if y_kind == "continuous":
            checks.fail("y_kind", "labels or auto for ClassifierMI (a bound on I(T;Y) with class labels y)", y_kind)
        checks.integer("n_folds", n_folds, minimum=3)  # cross-fitting with nested validation
        if not penalties:
            checks.fail("penalties", "a non-empty list of numbers > 0", penalties)
        for p in penalties:
            checks.positive("penalties", p)
        if ranks is not None:
            if not ranks:
                checks.fail("ranks", "null or a non-empty list of positive integers", ranks)
            for r in ranks:
                checks.integer("ranks", r)
        if max_dim is not None:
            checks.integer("max_dim", max_dim)
        checks.choice("standardize", standardize, ("layer", "unit"))
        if inner_folds is not None:
            checks.integer("inner_folds", inner_folds, minimum=2)
        self.n_folds, self.penalties = n_folds, tuple(float(p) for p in penalties)
        self.inner_folds_setting = inner_folds
        self.inner_folds = n_folds - 1 if inner_folds is None else inner_folds
        self.ranks = None if ranks is None else tuple(int(r) for r in ranks)
        self.max_dim, self.standardize = max_dim, standardize
        checks.integer("kernel_dim", kernel_dim)
        checks.integer("n_features", n_features)
        if not bandwidths:
            checks.fail("bandwidths", "a non-empty list of numbers > 0", bandwidths)
        for b in bandwidths:
            checks.positive("bandwidths", b)
        self.nonlinear, self.kernel_dim, self.n_features = bool(nonlinear), kernel_dim, n_features
        self.bandwidths = tuple(float(b) for b in bandwidths)
        self.invariances = frozenset({"unit_scale"} if standardize == "unit" else {"rotation"})

    @property
    @override
    def min_samples(self) -> int:
        return 4 * self.n_folds

    @override
    def settings(self) -> dict[str, Any]:
        return {
            "n_folds": self.n_folds,
            "inner_folds": self.inner_folds_setting,
            "penalties": list(self.penalties),
            "ranks": None if self.ranks is None else list(self.ranks),
            "max_dim": self.max_dim,
            "standardize": self.standardize,
            "seed": self.seed,
            "y_kind": self.y_kind,
            "nonlinear": self.nonlinear,
            "kernel_dim": self.kernel_dim,
            "n_features": self.n_features,
            "bandwidths": list(self.bandwidths),
        }

    def _ranks(self, n_classes: int) -> list[int]:
        top = n_classes - 1
        if self.ranks is not None:
            return sorted({0} | {min(r, top) for r in self.ranks})
        return sorted({0} | {2**i for i in range(top.bit_length()) if 2**i <= top} | {top})

    def _check(self, x: Any, y: Any) -> Pair:
        try:
            pair = super()._check(x, y)
        except ValueError as err:
            raise ValueError(f"{err} (ClassifierMI, y_kind={self.y_kind!r}: y must be integer class labels)") from err
        if not pair.labels:
            raise ValueError(
                f"ClassifierMI bounds I(T;Y) for integer class labels y; got float y of shape "
                f"{tuple(pair.y.shape)} (y_kind={self.y_kind!r}). Use a continuous-pair estimator"
            )
        return pair

    def _estimate(self, pair: Pair) -> tuple[float, dict[str, Any]]:
        classes, y = torch.unique(pair.y, return_inverse=True)
        h_y = label_entropy(pair.y)
        if len(classes) < 2:
            return 0.0, {"H_Y": h_y, "note": "a single class: I(T;Y) = H(Y) = 0"}
        if bool((pair.x == pair.x[:1]).all()):  # a collapsed layer: every row the same
            return 0.0, {
                "H_Y": h_y,
                "stderr": 0.0,
                "note": "constant features: T carries no information on Y, I(T;Y) = 0",
            }
        candidates = self._candidates(pair.x)
        fit = self._cross_fit(candidates, y, len(classes))
        losses = -fit.log_q.gather(1, y[:, None])[:, 0]
        ce = float(losses.mean())
        out = {
            "H_Y": h_y,
            "cross_entropy": ce,
            "accuracy": float((fit.log_q.argmax(1) == y).double().mean()),
            "dim": int(candidates["linear"][0].shape[1]),
            "penalty": [c[0] for c in fit.chosen],
            "calibration": [c[1] for c in fit.chosen],
            "stderr": float(losses.std() / math.sqrt(len(losses))) if len(losses) > 1 else math.nan,
        }
        if self.nonlinear:
            for name, log_q in fit.per_candidate.items():
                out[f"I_{name}"] = h_y - float(-log_q.gather(1, y[:, None]).mean())
            out["probe"] = [c[2] for c in fit.chosen]
        return h_y - ce, out

    def _candidates(self, t: torch.Tensor) -> dict[str, list[torch.Tensor]]:
        """The feature sets a probe may be fitted on, all from T alone (no label):
        ``linear``: T (reduced to ``max_dim`` axes); ``nonlinear``: random
        Fourier features of T's axes above the noise, one set per bandwidth."""
        if self.standardize == "unit":  # z-score before the axes are chosen, or a unit's scale would choose them
            sd = column_std(t)
            t = t / torch.where(sd > 0, sd, torch.ones_like(sd))
        axes = PrincipalAxes(t, self.seed)
        keep = t.shape[1] if self.max_dim is None else max(1, min(self.max_dim, t.shape[0] // 4))
        out = {"linear": [axes.scores(keep)[0] if t.shape[1] > keep else t]}
        if self.nonlinear:
            out["nonlinear"] = random_fourier_features(
                axes, self.kernel_dim, self.n_features, self.bandwidths, self.seed
            )
        return out

    def _cross_fit(
        self,
        candidates: dict[str, list[torch.Tensor]],
        y: torch.Tensor,
        n_classes: int,
        fold: torch.Tensor | None = None,
    ) -> CrossFit:
        """Held-out ``log q`` ``(N, C)`` of the chosen probe, of each candidate probe, and what each fold chose.

        For each outer fold and candidate, the feature set (bandwidth) and
        ridge penalty minimise the exact leave-one-out squared error on the
        training split, the calibration the inner-fold cross-entropy; the
        candidate (linear or non-linear) with the lower inner-fold
        cross-entropy scores the fold. Nothing of fold k chooses or fits
        anything applied to fold k."""
        ranks = self._ranks(n_classes)
        first = next(iter(candidates.values()))[0]
        penalties = torch.tensor(self.penalties, dtype=first.dtype, device=first.device)
        fold = stratified_folds(y, self.n_folds, self.seed) if fold is None else fold
        onehot = torch.nn.functional.one_hot(y, n_classes).to(first.dtype)
        per = {name: torch.empty(len(y), n_classes, dtype=first.dtype, device=first.device) for name in candidates}
        log_q = torch.empty(len(y), n_classes, dtype=first.dtype, device=first.device)
        chosen = []
        for k in range(self.n_folds):
            train, test = (fold != k).nonzero()[:, 0], (fold == k).nonzero()[:, 0]
            best: tuple[float, str, tuple[float, str]] | None = None
            for name, feature_sets in candidates.items():
                inner, label, predicted = self._fit_fold(
                    feature_sets, train, test, y, onehot, penalties, ranks, n_classes
                )
                per[name][test] = predicted
                if best is None or inner < best[0]:
                    best = (inner, name, label)
                    log_q[test] = predicted
            assert best is not None
            chosen.append((*best[2], best[1]))
        return CrossFit(log_q, per, chosen)

    def _fit_fold(
        self,
        feature_sets: list[torch.Tensor],
        train: torch.Tensor,
        test: torch.Tensor,
        y: torch.Tensor,
        onehot: torch.Tensor,
        penalties: torch.Tensor,
        ranks: list[int],
        n_classes: int,
    ) -> tuple[float, tuple[float, str], torch.Tensor]:
        """One candidate on one outer fold: ``(inner-fold NLL, (penalty, calibration), log q of the test rows)``."""
        best_err, fit = math.inf, None
        for t in feature_sets:
            loo, scores = ridge_loo_scores(t[train], onehot[train], t[test], penalties)
            err = ((loo - onehot[train]) ** 2).sum((1, 2))
            li = int(err.argmin())
            if float(err[li]) < best_err:
                best_err, fit = float(err[li]), (t, li, loo[li], scores[li])
        assert fit is not None
        t, li, loo, scores = fit
        losses = self._calibration_losses(t[train], y[train], penalties[li : li + 1], ranks, n_classes)
        best = int(losses.argmin())
        if best < len(ranks):
            r = ranks[best]
            predicted = DiscriminantCalibration(loo, y[train], n_classes).log_proba(scores, [r])[0]
            return float(losses[best]), (self.penalties[li], f"rank {r}"), predicted
        tau = TEMPERATURES[best - len(ranks)]
        predicted = softmax_log_proba(scores, y[train], n_classes, (tau,))[0]
        return float(losses[best]), (self.penalties[li], f"softmax {tau:g}"), predicted

    def _calibration_losses(
        self, t: torch.Tensor, labels: torch.Tensor, penalty: torch.Tensor, ranks: list[int], n_classes: int
    ) -> torch.Tensor:
        """Held-out NLL of the whole probe for each calibration, over ``inner_folds`` inner folds:
        ``(R + len(TEMPERATURES),)``, the discriminant at each rank, then the softmax at each temperature.

        Each inner fold is scored as an outer test fold is: a ridge fit on
        the other inner folds, then the calibration. With a handful of
        samples per class a leave-one-out score removes a large share of its
        class, so the discriminant, fitted on such scores, can be badly
        overconfident on new rows; this inner test sees that, and the
        softmax or rank 0 (the class prior alone) then wins."""
        inner = stratified_folds(labels, self.inner_folds, self.seed + 1)
        onehot = torch.nn.functional.one_hot(labels, n_classes).to(t.dtype)
        losses = torch.zeros(len(ranks) + len(TEMPERATURES), dtype=t.dtype, device=t.device)
        for j in range(self.inner_folds):
            held = inner == j
            loo, scores = ridge_loo_scores(t[~held], onehot[~held], t[held], penalty)
            log_q = torch.cat(
                [
                    DiscriminantCalibration(loo[0], labels[~held], n_classes).log_proba(scores[0], ranks),
                    softmax_log_proba(scores[0], labels[~held], n_classes),
                ]
            )
            losses += _nll(log_q, labels[held])
        return losses
