"""Proxies: features that carry a protected attribute into a model by the back door.

Two views. Association, feature by feature: Cramér's V for a categorical feature (numbers with ten values or
fewer count as categories) and the correlation ratio η for a numeric one, each with the interval that inverts
the statistic's noncentral distribution. Predictability, all features together: a cross-validated gradient-
boosted classifier predicting the protected attribute, its AUC with Hanley–McNeil's interval, and the features
that drive it by permutation importance. Both need one row per person.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from fairprobe.domain.audit import AuditRequest
from fairprobe.domain.diagnostics import Section, SectionName
from fairprobe.domain.groups import GroupKey
from fairprobe.engines.diagnostics.common import (
    code_feature,
    finite,
    judged,
    make_candidate,
    numeric_feature,
    rules_for,
)
from fairprobe.engines.policy import Candidate
from fairprobe.stats.bounds import EffectSize, Normal, signed_limits, tails, z_for
from fairprobe.stats.counts import encode
from fairprobe.stats.scores import hanley_mcneil_se

__all__ = ["proxies"]

METHOD = ("Association: Cramér's V = sqrt(chi2 / (n (min(r, c) - 1))) over the feature's values (its 19 most "
          "frequent and '(other)', a missing value as its own value) for categorical features and numbers with at "
          "most 10 values; the correlation ratio eta = sqrt(SS_between / SS_total) over the observed values of a "
          "numeric feature. Intervals invert the noncentral chi-square (V) or F (eta) distribution; the parity "
          "p-value is the central test. Predictability: scikit-learn's HistGradientBoostingClassifier (40 "
          "iterations of 15-leaf trees, categorical features native) predicting the attribute, 3-fold stratified "
          "cross-validated probabilities on a seeded subsample of at most proxy_sample rows; one-vs-rest AUC per "
          "group with Hanley-McNeil's interval (it ignores the folds' dependence); permutation importance (3 "
          "repeats) of a model fitted on two thirds of the subsample, scored on at most 1,000 of the rest. Sample "
          "weights are not applied.")

MIN_CLASS = 10  # people of a group (and outside it) in the subsample for its AUC
ITERATIONS = 40  # boosting iterations (trees of at most 15 leaves)
#: the most held-out rows permutation importance scores on (each repeat predicts them once per feature)
IMPORTANCE_ROWS = 1_000


def _association(feature: pd.Series, codes: np.ndarray) -> tuple[str, EffectSize, float, int] | None:
    """The effect-size measure of one feature against one attribute's codes, its value and n; None when the
    feature has a single value where the attribute varies."""
    values = numeric_feature(feature)
    if values is not None:
        ok = np.isfinite(values)
        x, g = values[ok], codes[ok]
        size = np.bincount(g).astype(float)
        used = size > 0
        k, n = int(used.sum()), int(ok.sum())
        if k < 2 or n <= k:
            return None
        means = np.bincount(g, weights=x)[used] / size[used]
        between = float((size[used] * (means - x.mean()) ** 2).sum())
        total = float(((x - x.mean()) ** 2).sum())
        if total <= 0:
            return None
        within = total - between
        f = (between / (k - 1)) / (within / (n - k)) if within > 0 else np.inf
        measure = EffectSize(np.array([f]), np.array([k - 1.0]), np.array([float(n - k)]), np.array([float(n)]),
                             np.array([1.0]))
        return "correlation_ratio", measure, float(np.sqrt(between / total)), n
    fcodes, levels, _ = code_feature(feature)
    width = len(levels)
    table = np.bincount(codes * width + fcodes, minlength=(int(codes.max()) + 1) * width).reshape(-1, width)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0].astype(float)
    r, c = table.shape
    if r < 2 or c < 2:
        return None
    total_n = float(table.sum())
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total_n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    m = float(min(r, c) - 1)
    measure = EffectSize(np.array([chi2]), np.array([float((r - 1) * (c - 1))]), np.array([np.inf]),
                         np.array([total_n]), np.array([m]))
    return "cramers_v", measure, float(np.sqrt(chi2 / (total_n * m))), int(total_n)


def proxies(request: AuditRequest) -> Section:
    policy, alpha = request.policy, request.policy.alpha
    assert request.extra is not None
    extra = request.extra
    features = [f for f in request.feature_names if extra[f].nunique(dropna=False) > 1]
    notes = [f"feature {f!r} holds a single value: it cannot carry anything" for f in request.feature_names
             if f not in features]
    rows: list[dict[str, Any]] = []
    association: list[tuple[Candidate, bool]] = []
    predictability: list[tuple[Candidate, bool]] = []
    models: list[dict[str, Any]] = []
    z = np.array([z_for(alpha / 2)])
    for attribute in request.protected:
        codes, levels = encode(request.frame[attribute.name], attribute.bins)
        for f in features:
            found = _association(extra[f], codes)
            if found is None:
                continue
            kind, measure, value, n = found
            low, high = signed_limits(measure, z)
            p_value = float(tails(measure, np.array([0.0]))[0][0])
            rows.append({"feature": f, "attribute": attribute.name, "measure": kind, "value": value,
                         "ci_low": finite(low[0]), "ci_high": finite(high[0]), "ci_level": 1 - alpha,
                         "statistic": finite(measure.statistic[0]), "df": float(measure.df1[0]),
                         "p_value": p_value, "test": "chi_square_independence" if kind == "cramers_v" else "anova_f",
                         "n": n})
            for rule, counts in rules_for(policy, "proxy_association"):
                association.append((make_candidate(
                    rule, GroupKey(("feature",), (f,)), GroupKey(("protected",), (attribute.name,)), n, n, value,
                    measure, alpha, parity_p=p_value, parity_test="central_chi2_or_f", sizes=(float(n), float(n)),
                    subject=f"Feature {f!r} and protected attribute {attribute.name!r} ({kind}, n={n})"), counts))
        if features:
            model, found_candidates = _predictability(request, attribute.name, codes, levels, features, alpha)
            models.append(model)
            predictability += found_candidates
    rows.sort(key=lambda r: -r["value"])
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return Section(SectionName.PROXIES, METHOD, {"associations": tuple(rows), "predictability": tuple(models)},
                   judged(association, policy) + judged(predictability, policy), tuple(notes), needs_rows=True)


def _design(extra: pd.DataFrame, features: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The features as the classifier's matrix: categories as codes (native categorical), numbers as they are."""
    columns: dict[str, np.ndarray] = {}
    categorical = []
    for f in features:
        values = numeric_feature(extra[f])
        if values is not None:
            columns[f] = values
            categorical.append(False)
        else:
            columns[f] = code_feature(extra[f])[0].astype(float)
            categorical.append(True)
    return pd.DataFrame(columns), np.array(categorical)


def _predictability(request: AuditRequest, attribute: str, codes: np.ndarray, levels: tuple[object, ...],
                    features: list[str], alpha: float) -> tuple[dict[str, Any], list[tuple[Candidate, bool]]]:
    # one thread: OpenMP's two-thread team spins more than it works on these small fits (10x slower here), and
    # a gunicorn worker's other threads serve other requests meanwhile
    with threadpool_limits(1):
        return _fit_and_score(request, attribute, codes, levels, features, alpha)


def _fit_and_score(request: AuditRequest, attribute: str, codes: np.ndarray, levels: tuple[object, ...],
                   features: list[str], alpha: float) -> tuple[dict[str, Any], list[tuple[Candidate, bool]]]:
    assert request.extra is not None
    rng = np.random.default_rng(request.seed)
    sample_size = min(len(codes), request.diagnostics.proxy_sample)
    index = np.sort(rng.choice(len(codes), size=sample_size, replace=False)) if sample_size < len(codes) \
        else np.arange(len(codes))
    x, categorical = _design(request.extra.iloc[index].reset_index(drop=True), features)
    y = codes[index]
    size = np.bincount(y, minlength=len(levels))
    keep = size[y] >= 3  # a stratified 3-fold split needs each class in every fold
    x, y = x.loc[keep].reset_index(drop=True), y[keep]
    classes = np.flatnonzero(np.bincount(y, minlength=len(levels)))
    model_row: dict[str, Any] = {"attribute": attribute, "rows": int(len(y)), "sampled_from": int(len(codes)),
                                 "classifier": "HistGradientBoostingClassifier", "folds": 3, "auc": [],
                                 "top_features": []}
    if len(classes) < 2:
        model_row["note"] = "fewer than two groups with three people in the subsample"
        return model_row, []

    def model() -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(max_iter=ITERATIONS, max_leaf_nodes=15, categorical_features=categorical,
                                              early_stopping=False, random_state=request.seed % (2**32 - 1))

    folds = StratifiedKFold(3, shuffle=True, random_state=request.seed % (2**32 - 1))
    proba = cross_val_predict(model(), x, y, cv=folds, method="predict_proba")
    order = {c: j for j, c in enumerate(np.unique(y))}
    candidates: list[tuple[Candidate, bool]] = []
    reference = attribute_reference(request, attribute, levels, size)
    shown = [c for c in classes if c != reference] if len(classes) == 2 else list(classes)
    for c in shown:
        positive = y == c
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if n_pos < MIN_CLASS or n_neg < MIN_CLASS:
            continue
        auc = float(roc_auc_score(positive, proba[:, order[c]]))
        se = hanley_mcneil_se(auc, n_pos, n_neg)
        measure = Normal(np.array([auc]), np.array([se]), np.array([0.0]))
        low, high = signed_limits(measure, np.array([z_for(alpha / 2)]))
        up = float(measure.tails(np.array([0.5]))[0][0])
        model_row["auc"].append({"group": {attribute: levels[c]}, "auc": auc, "ci_low": finite(max(low[0], 0.0)),
                                 "ci_high": finite(min(high[0], 1.0)), "ci_level": 1 - alpha, "p_value": up,
                                 "test": "hanley_mcneil_z_vs_0.5", "positives": n_pos, "negatives": n_neg})
        for rule, counts in rules_for(request.policy, "proxy_auc"):
            candidates.append((make_candidate(
                rule, GroupKey((attribute,), (levels[c],)), GroupKey((attribute,), ("(every other group)",)),  # type: ignore[arg-type]
                n_pos, n_neg, auc, measure, alpha, parity_p=up, parity_test="hanley_mcneil_z_vs_0.5",
                sizes=(float(n_pos), float(n_neg)), parity_value=0.5,
                subject=f"The features predict {attribute}={levels[c]} against every other group "
                        f"(cross-validated AUC on {len(y)} sampled rows)"), counts))
    train_x, test_x, train_y, test_y = train_test_split(x, y, test_size=1 / 3, stratify=y,
                                                        random_state=request.seed % (2**32 - 1))
    if len(test_y) > IMPORTANCE_ROWS:  # permuting costs a prediction per feature and repeat: score on fewer rows
        test_x, _, test_y, _ = train_test_split(test_x, test_y, train_size=IMPORTANCE_ROWS, stratify=test_y,
                                                random_state=request.seed % (2**32 - 1))
    fitted = model().fit(train_x, train_y)
    scoring = "roc_auc" if len(classes) == 2 else "roc_auc_ovr"
    importance = permutation_importance(fitted, test_x, test_y, scoring=scoring, n_repeats=3,
                                        random_state=request.seed % (2**32 - 1))
    ranked = np.argsort(-importance.importances_mean)[:5]
    model_row["top_features"] = [{"feature": features[j], "importance": float(importance.importances_mean[j]),
                                  "importance_sd": float(importance.importances_std[j])} for j in ranked]
    return model_row, candidates


def attribute_reference(request: AuditRequest, attribute: str, levels: tuple[object, ...], size: np.ndarray) -> int:
    """The attribute's reference group's code (named, or the largest)."""
    spec = next(a for a in request.protected if a.name == attribute)
    if spec.reference_rule == "named" and spec.reference in levels:
        return levels.index(spec.reference)
    return int(np.argmax(size))

