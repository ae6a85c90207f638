"""Every metric fairprobe reports, defined once: formula, ideal, direction, and AIF360's source.

A rate is ``sum of numerator cells / sum of denominator cells`` over a group's (label, prediction)
cells; a disparity compares one rate between a group and its reference; indices and score metrics
are computed in ``stats``. Cells are ``(label, prediction)`` with 1 meaning "the positive label".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from fairprobe.domain.diagnostics import SectionName
from fairprobe.domain.outputs import OutputKind
from fairprobe.domain.policy import Bound, Rule

__all__ = [
    "CATALOGUE",
    "DECISION_RULES",
    "DIAGNOSTIC_METRICS",
    "DISPARITIES",
    "FAVORABLE_LABEL_RATE",
    "FAVORABLE_RATE",
    "LABEL_DISPARITIES",
    "RATES",
    "RELATIVE_GAP_METRICS",
    "DisparityDef",
    "MetricInfo",
    "RateDef",
    "favorable_cells",
    "higher_favours",
]

Cell = tuple[int, int]
TN: Cell = (0, 0)
FP: Cell = (0, 1)
FN: Cell = (1, 0)
TP: Cell = (1, 1)
ALL: tuple[Cell, ...] = (TN, FP, FN, TP)

Worse = Literal["higher", "lower", "further_from_ideal"]


@dataclass(frozen=True, slots=True)
class RateDef:
    numerator: tuple[Cell, ...]
    denominator: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class DisparityDef:
    """``rate`` compared as ``difference`` (group - reference), ``ratio``, or ``average_odds``."""

    rate: str
    compare: Literal["difference", "ratio", "average_odds"]


@dataclass(frozen=True, slots=True)
class MetricInfo:
    name: str
    kind: Literal["rate", "disparity", "index", "score", "probe", "stress", "search", "diagnostic", "output"]
    definition: str
    ideal: float | None
    worse: Worse
    aif360: str | None
    interval: str | None
    test: str | None


#: the favorable-prediction rate: ``selection_rate`` when the favorable prediction is the positive label,
#: otherwise its complement. Only SPD and disparate impact use it.
FAVORABLE_RATE = "favorable_rate"
#: the favorable-*label* rate: the share whose actual outcome is the favorable one (historical bias in the
#: labels). The label disparities use it; they need no prediction, so they judge data before a model exists.
FAVORABLE_LABEL_RATE = "favorable_label_rate"

RATES: dict[str, RateDef] = {
    "base_rate": RateDef((FN, TP), ALL),
    "selection_rate": RateDef((FP, TP), ALL),
    "true_positive_rate": RateDef((TP,), (TP, FN)),
    "false_positive_rate": RateDef((FP,), (FP, TN)),
    "false_negative_rate": RateDef((FN,), (FN, TP)),
    "true_negative_rate": RateDef((TN,), (TN, FP)),
    "positive_predictive_value": RateDef((TP,), (TP, FP)),
    "negative_predictive_value": RateDef((TN,), (TN, FN)),
    "false_discovery_rate": RateDef((FP,), (TP, FP)),
    "false_omission_rate": RateDef((FN,), (TN, FN)),
    "accuracy": RateDef((TP, TN), ALL),
}


def favorable_cells(favorable_is_positive: bool) -> RateDef:
    """Cells of the favorable-prediction rate."""
    return RateDef((FP, TP), ALL) if favorable_is_positive else RateDef((TN, FN), ALL)


def favorable_label_cells(favorable_is_positive: bool) -> RateDef:
    """Cells of the favorable-label rate."""
    return RateDef((FN, TP), ALL) if favorable_is_positive else RateDef((TN, FP), ALL)


DISPARITIES: dict[str, DisparityDef] = {
    "statistical_parity_difference": DisparityDef(FAVORABLE_RATE, "difference"),
    "disparate_impact": DisparityDef(FAVORABLE_RATE, "ratio"),
    "equal_opportunity_difference": DisparityDef("true_positive_rate", "difference"),
    "average_odds_difference": DisparityDef("true_positive_rate", "average_odds"),
    "false_positive_rate_difference": DisparityDef("false_positive_rate", "difference"),
    "false_negative_rate_difference": DisparityDef("false_negative_rate", "difference"),
    "positive_predictive_value_difference": DisparityDef("positive_predictive_value", "difference"),
    "accuracy_difference": DisparityDef("accuracy", "difference"),
    "label_statistical_parity_difference": DisparityDef(FAVORABLE_LABEL_RATE, "difference"),
    "label_disparate_impact": DisparityDef(FAVORABLE_LABEL_RATE, "ratio"),
}

#: disparities of the labels alone: the only ones a data-only audit (no predictions) judges
LABEL_DISPARITIES = ("label_statistical_parity_difference", "label_disparate_impact")


@dataclass(frozen=True, slots=True)
class DiagnosticMetric:
    """A measure a section (diagnostic or output) judges: its section, and the rule it is judged by when the
    policy has none on it (advice: such findings stay out of the verdict; None: no bound fits every use, so
    only the policy's own rules judge it)."""

    section: SectionName | OutputKind
    default: Rule | None


#: metrics judged by max_relative_gap only (|value(group) / value(reference) - 1|), like the rates
RELATIVE_GAP_METRICS = frozenset({"outcome_mean"})

_NO_DEFAULT = math.nan

#: every metric a diagnostic or output section turns into findings
DIAGNOSTIC_METRICS: dict[str, DiagnosticMetric] = {
    name: DiagnosticMetric(section, None if math.isnan(threshold) else Rule(name, bound, threshold))
    for name, section, bound, threshold in (
        ("representation_ratio", SectionName.COMPOSITION, Bound.MIN, 0.8),
        ("missing_rate_difference", SectionName.MISSINGNESS, Bound.MAX_ABS, 0.05),
        ("label_completeness_difference", SectionName.MISSINGNESS, Bound.MAX_ABS, 0.05),
        ("bias_amplification", SectionName.AMPLIFICATION, Bound.MAX_ABS, 0.05),
        ("conditional_statistical_parity_difference", SectionName.CONDITIONAL, Bound.MAX_ABS, 0.1),
        ("conditional_disparate_impact", SectionName.CONDITIONAL, Bound.MIN, 0.8),
        ("proxy_association", SectionName.PROXIES, Bound.MAX, 0.3),
        ("proxy_auc", SectionName.PROXIES, Bound.MAX, 0.7),
        ("subgroup_statistical_parity_difference", SectionName.SUBGROUPS, Bound.MIN, -0.1),
        ("segment_representation_ratio", OutputKind.SEGMENTS, Bound.MIN, 0.8),
        ("segment_association", OutputKind.SEGMENTS, Bound.MAX, 0.1),
        ("segment_coverage_difference", OutputKind.SEGMENTS, Bound.MAX_ABS, 0.05),
        ("outcome_mean", OutputKind.OUTCOMES, Bound.MAX_RELATIVE_GAP, 0.2),
        ("outcome_mean_ratio", OutputKind.OUTCOMES, Bound.MIN, 0.8),
        ("outcome_mean_difference", OutputKind.OUTCOMES, Bound.MAX_ABS, _NO_DEFAULT),
        ("outcome_standardized_mean_difference", OutputKind.OUTCOMES, Bound.MAX_ABS, 0.2),
        ("distinct_categories_ratio", OutputKind.RANKINGS, Bound.MIN, 0.8),
        ("intra_list_diversity_difference", OutputKind.RANKINGS, Bound.MAX_ABS, 0.1),
        ("high_value_exposure_ratio", OutputKind.RANKINGS, Bound.MIN, 0.8),
        ("high_value_exposure_difference", OutputKind.RANKINGS, Bound.MAX_ABS, _NO_DEFAULT),
        ("provider_exposure_ratio", OutputKind.RANKINGS, Bound.MIN, 0.8),
    )
}

_CM = "aif360.metrics.ClassificationMetric."
_RATE_INTERVAL = "wilson"
_DIFF = ("newcombe_hybrid_score", "two_proportion_z_pooled or fisher_exact (expected count < 5)")

#: for each rate, whether a higher value is to the person's advantage: "favorable" (always), "positive"
#: (when the positive prediction is the favorable one), "negative" (when it is not), or absent (neither)
_FAVOURS = {
    FAVORABLE_RATE: "favorable",
    FAVORABLE_LABEL_RATE: "favorable",
    "selection_rate": "positive",
    "true_positive_rate": "positive",
    "false_positive_rate": "positive",
    "false_negative_rate": "negative",
    "true_negative_rate": "negative",
    "accuracy": "favorable",
}


def higher_favours(metric: str, favorable_is_positive: bool) -> bool | None:
    """Whether a higher ``metric`` (a rate, or a disparity over one) favours the group; ``None`` when
    neither direction is anyone's advantage (base rate, predictive values)."""
    rate = DISPARITIES[metric].rate if metric in DISPARITIES else metric
    kind = _FAVOURS.get(rate)
    if kind is None:
        return None
    return kind == "favorable" or (kind == "positive") == favorable_is_positive

CATALOGUE: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo("base_rate", "rate", "P(y = pos)", None, "further_from_ideal",
                   "aif360.metrics.BinaryLabelDatasetMetric.base_rate", _RATE_INTERVAL, None),
        MetricInfo("selection_rate", "rate", "P(ŷ = pos)", None, "further_from_ideal",
                   _CM + "selection_rate", _RATE_INTERVAL, None),
        MetricInfo("true_positive_rate", "rate", "TP / (TP + FN)", 1.0, "lower",
                   _CM + "true_positive_rate", _RATE_INTERVAL, None),
        MetricInfo("false_positive_rate", "rate", "FP / (FP + TN)", 0.0, "higher",
                   _CM + "false_positive_rate", _RATE_INTERVAL, None),
        MetricInfo("false_negative_rate", "rate", "FN / (FN + TP)", 0.0, "higher",
                   _CM + "false_negative_rate", _RATE_INTERVAL, None),
        MetricInfo("true_negative_rate", "rate", "TN / (TN + FP)", 1.0, "lower",
                   _CM + "true_negative_rate", _RATE_INTERVAL, None),
        MetricInfo("positive_predictive_value", "rate", "TP / (TP + FP)", 1.0, "lower",
                   _CM + "positive_predictive_value", _RATE_INTERVAL, None),
        MetricInfo("negative_predictive_value", "rate", "TN / (TN + FN)", 1.0, "lower",
                   _CM + "negative_predictive_value", _RATE_INTERVAL, None),
        MetricInfo("false_discovery_rate", "rate", "FP / (TP + FP)", 0.0, "higher",
                   _CM + "false_discovery_rate", _RATE_INTERVAL, None),
        MetricInfo("false_omission_rate", "rate", "FN / (TN + FN)", 0.0, "higher",
                   _CM + "false_omission_rate", _RATE_INTERVAL, None),
        MetricInfo("accuracy", "rate", "(TP + TN) / n", 1.0, "lower", _CM + "accuracy", _RATE_INTERVAL, None),
        MetricInfo("statistical_parity_difference", "disparity",
                   "P(ŷ = fav | group) − P(ŷ = fav | reference)", 0.0, "further_from_ideal",
                   _CM + "statistical_parity_difference", *_DIFF),
        MetricInfo("disparate_impact", "disparity",
                   "P(ŷ = fav | group) / P(ŷ = fav | reference)", 1.0, "further_from_ideal",
                   _CM + "disparate_impact", "mover_r_wilson", _DIFF[1]),
        MetricInfo("equal_opportunity_difference", "disparity", "TPR(group) − TPR(reference)", 0.0,
                   "further_from_ideal", _CM + "equal_opportunity_difference", *_DIFF),
        MetricInfo("average_odds_difference", "disparity",
                   "[(FPR(group) − FPR(ref)) + (TPR(group) − TPR(ref))] / 2", 0.0, "further_from_ideal",
                   _CM + "average_odds_difference", "mover_newcombe",
                   "pooled_z_average_of_differences (each term's rate pooled under its null)"),
        MetricInfo("false_positive_rate_difference", "disparity", "FPR(group) − FPR(reference)", 0.0,
                   "further_from_ideal", _CM + "false_positive_rate_difference", *_DIFF),
        MetricInfo("false_negative_rate_difference", "disparity", "FNR(group) − FNR(reference)", 0.0,
                   "further_from_ideal", _CM + "false_negative_rate_difference", *_DIFF),
        MetricInfo("positive_predictive_value_difference", "disparity", "PPV(group) − PPV(reference)", 0.0,
                   "further_from_ideal", _CM + "difference(positive_predictive_value)", *_DIFF),
        MetricInfo("accuracy_difference", "disparity", "accuracy(group) − accuracy(reference)", 0.0,
                   "further_from_ideal", _CM + "difference(accuracy)", *_DIFF),
        MetricInfo("label_statistical_parity_difference", "disparity",
                   "P(y = fav | group) − P(y = fav | reference): historical bias in the labels; SageMaker "
                   "Clarify's difference in positive proportions of labels (DPL) is its negative, with the "
                   "reference as facet a", 0.0, "further_from_ideal",
                   "aif360.metrics.BinaryLabelDatasetMetric.statistical_parity_difference", *_DIFF),
        MetricInfo("label_disparate_impact", "disparity",
                   "P(y = fav | group) / P(y = fav | reference)", 1.0, "further_from_ideal",
                   "aif360.metrics.BinaryLabelDatasetMetric.disparate_impact", "mover_r_wilson", _DIFF[1]),
        MetricInfo("generalized_entropy_index", "index",
                   "1/(n α(α−1)) Σ[(b/μ)^α − 1], α = 2, b = ŷ_fav − y_fav + 1", 0.0, "higher",
                   _CM + "generalized_entropy_index", None, None),
        MetricInfo("theil_index", "index", "1/n Σ (b/μ) ln(b/μ)", 0.0, "higher",
                   _CM + "theil_index", None, None),
        MetricInfo("coefficient_of_variation", "index", "sqrt(2 · GE(2))", 0.0, "higher",
                   _CM + "coefficient_of_variation", None, None),
        MetricInfo("between_group_generalized_entropy_index", "index",
                   "GE(2) with each b replaced by its group's mean", 0.0, "higher",
                   _CM + "between_all_groups_generalized_entropy_index", None, None),
        MetricInfo("between_group_theil_index", "index", "GE(1) with each b replaced by its group's mean",
                   0.0, "higher", _CM + "between_all_groups_theil_index", None, None),
        MetricInfo("between_group_coefficient_of_variation", "index", "sqrt(2 · between-group GE(2))",
                   0.0, "higher", _CM + "between_all_groups_coefficient_of_variation", None, None),
        MetricInfo("auc", "score", "P(s⁺ > s⁻) + ½ P(s⁺ = s⁻)", 1.0, "lower", None, "hanley_mcneil", None),
        MetricInfo("brier_score", "score", "mean((s − y)²)", 0.0, "higher", None, "normal", None),
        MetricInfo("expected_calibration_error", "score",
                   "Σ_bins (n_b/n) |mean(s)_b − mean(y)_b|, 10 equal-width bins", 0.0, "higher",
                   None, None, None),
        MetricInfo("rank_biased_overlap", "probe", "output 'list': mean over paired profiles of RBO(group's list, "
                   "reference's list) = (1 − p) / (1 − p^k) Σ_{d ≤ k} p^(d−1) |A[:d] ∩ B[:d]| / d, p = 0.9 "
                   "(Webber et al. 2010); Jaccard overlap reported beside it", 1.0, "lower", None,
                   "t_interval_paired", "paired_t_test_vs_bound"),
        MetricInfo("flip_rate", "probe", "share of paired profiles whose decision (for segment and list outputs: "
                   "segment or list) changes between the group's names (or attribute value) and the reference's",
                   0.0, "higher", None,
                   "clopper_pearson", "exact_binomial_vs_bound"),
        MetricInfo("mean_score_difference", "probe",
                   "mean score(group) − mean score(reference): paired over profiles in probes, unpaired in "
                   "stress tests", 0.0, "further_from_ideal", None, "t_interval_paired (probes), welch_t (stress)",
                   "paired_t_test_vs_bound / welch_t_test_vs_bound; parity: wilcoxon_signed_rank / welch_t"),
        MetricInfo("positive_rate_difference", "probe",
                   "positive-decision share(group) − share(reference): paired over profiles in probes, unpaired "
                   "in stress tests", 0.0, "further_from_ideal", None,
                   "t_interval_paired (probes), newcombe_hybrid_score (stress)",
                   "paired_t_test_vs_bound / newcombe_score_test_vs_bound; parity: exact sign test / z or Fisher"),
        MetricInfo("true_positive_rate_difference", "stress", "TPR(group) − TPR(reference) against the "
                   "generator's truth rule", 0.0, "further_from_ideal", None, *_DIFF),
        MetricInfo("representation_ratio", "diagnostic", "share(group) / expected_share(group), with a Pearson "
                   "chi-square goodness-of-fit test per attribute (composition section; selection bias)", 1.0,
                   "lower", None, "clopper_pearson_scaled", "exact_binomial_vs_bound"),
        MetricInfo("class_imbalance", "diagnostic", "(n_a − n_d) / (n_a + n_d), a = reference, d = group "
                   "(SageMaker Clarify pre-training bias: CI)", 0.0, "further_from_ideal", None,
                   "wilson (of n_d / (n_a + n_d), mapped)", None),
        MetricInfo("difference_in_positive_proportions_in_labels", "diagnostic", "q_a − q_d, q = P(y = fav) "
                   "(SageMaker Clarify: DPL; the negative of label_statistical_parity_difference)", 0.0,
                   "further_from_ideal", None, "newcombe_hybrid_score", None),
        MetricInfo("kl_divergence", "diagnostic", "Σ_y P_a(y) ln(P_a(y) / P_d(y)) over the label (SageMaker "
                   "Clarify: KL), in nats", 0.0, "higher", None, None, None),
        MetricInfo("js_divergence", "diagnostic", "½[KL(P_a ‖ M) + KL(P_d ‖ M)], M = (P_a + P_d) / 2 (SageMaker "
                   "Clarify: JS)", 0.0, "higher", None, None, None),
        MetricInfo("ks_distance", "diagnostic", "max_y |P_a(y) − P_d(y)| (SageMaker Clarify: KS; |DPL| for a "
                   "binary label)", 0.0, "higher", None, None, None),
        MetricInfo("missing_rate_difference", "diagnostic", "P(feature missing | group) − P(feature missing | "
                   "reference); per feature a chi-square (or Fisher exact) test of independence and Cramér's V "
                   "(missingness section; measurement bias)", 0.0, "further_from_ideal", None, *_DIFF),
        MetricInfo("label_completeness_difference", "diagnostic", "P(label recorded | group) − P(label recorded | "
                   "reference), with missing_labels: exclude (the Label Completeness KPI)", 0.0,
                   "further_from_ideal", None, *_DIFF),
        MetricInfo("bias_amplification", "diagnostic", "[P(ŷ = fav | g) − P(y = fav | g)] − [P(ŷ = fav | ref) − "
                   "P(y = fav | ref)]: the predictions' SPD minus the labels' (amplification section)", 0.0,
                   "further_from_ideal", None, "welch_t", "welch_t_test_vs_bound"),
        MetricInfo("conditional_statistical_parity_difference", "diagnostic", "Mantel–Haenszel risk difference "
                   "Σ_k w_k (p_gk − p_rk) / Σ_k w_k, w_k = n_gk n_rk / n_k, over strata of the conditioning columns "
                   "(Greenland & Robins 1985; Sato 1989 variance)", 0.0, "further_from_ideal", None, "wald (Sato)",
                   "wald_z_test_vs_bound; parity: cochran_mantel_haenszel"),
        MetricInfo("conditional_disparate_impact", "diagnostic", "Mantel–Haenszel risk ratio Σ_k a_k n_rk / n_k ÷ "
                   "Σ_k c_k n_gk / n_k (Greenland–Robins variance of its log)", 1.0, "further_from_ideal", None,
                   "wald on the log scale", "wald_z_test_vs_bound; parity: cochran_mantel_haenszel"),
        MetricInfo("conditional_demographic_disparity", "diagnostic", "Σ_k n_k DD_k / n, DD_k = P(group | "
                   "unfavorable, k) − P(group | favorable, k) (SageMaker Clarify: CDD)", 0.0, "higher", None,
                   None, None),
        MetricInfo("proxy_association", "diagnostic", "Cramér's V = sqrt(χ² / (n (min(r, c) − 1))) for a "
                   "categorical feature, correlation ratio η = sqrt(SS_between / SS_total) for a numeric one, "
                   "against a protected attribute (proxies section)", 0.0, "higher", None,
                   "noncentral chi-square (V) or F (η) inversion (Smithson 2003)",
                   "noncentral_chi2_or_f_vs_bound"),
        MetricInfo("proxy_auc", "diagnostic", "one-vs-rest AUC of a cross-validated classifier predicting the "
                   "protected attribute from the features (adversarial predictability)", 0.5, "higher", None,
                   "hanley_mcneil (wald)", "wald_z_test_vs_bound"),
        MetricInfo("subgroup_statistical_parity_difference", "diagnostic", "P(fav | subgroup) − P(fav | everyone "
                   "else), over every subgroup of up to max_depth conditions with one on a protected attribute; "
                   "BH over all tested (subgroups section)", 0.0, "lower", None, "newcombe_hybrid_score",
                   "newcombe_score_test_vs_bound; scan: pooled_z_one_sided_disadvantage"),
        MetricInfo("candidate_gap_increase", "diagnostic", "s · (gap(candidate) − gap(production)), s the sign of "
                   "production's gap: how much a candidate model widens a gap on the same people (comparison "
                   "section; non-inferiority when judged by max margin)", 0.0, "higher", None,
                   "welch_t on per-person differences", "welch_t_test_vs_bound"),
        MetricInfo("reweighing_weight", "diagnostic", "n_g n_y / (n n_gy): the weight of group g with label y "
                   "(mitigation section; advice)", 1.0, "further_from_ideal",
                   "aif360.algorithms.preprocessing.Reweighing", None, None),
        MetricInfo("window_drift", "diagnostic", "a finding's value in a window − its value in the baseline window "
                   "(windows section); normal interval adding the two windows' variances", 0.0, "further_from_ideal",
                   None, "wald", "wald_z_test_vs_bound"),
        MetricInfo("segment_representation_ratio", "output", "P(segment | group) / P(segment): a group's share in "
                   "a segment over the segment's share of everyone (segments section)", 1.0, "further_from_ideal",
                   None, "clopper_pearson_scaled", "exact_binomial_vs_bound"),
        MetricInfo("segment_association", "output", "Cramér's V of group and segment, with Pearson's chi-square "
                   "test of independence (Monte Carlo when an expected count is below 5) and the G test", 0.0,
                   "higher", None, "noncentral chi-square inversion", "noncentral_chi2_vs_bound; parity: "
                   "pearson_chi_square or monte_carlo_chi_square"),
        MetricInfo("segment_coverage_difference", "output", "P(assigned any segment | group) − P(assigned | "
                   "reference) (the Segment Coverage KPI)", 0.0, "further_from_ideal", None, *_DIFF),
        MetricInfo("outcome_mean", "output", "mean outcome(group) / mean outcome(reference) − 1, judged by "
                   "max_relative_gap ('click-through may not vary by more than 15%')", 0.0, "further_from_ideal",
                   None, "delta method on the log ratio (wald)", "wald_z_test_vs_bound; parity: welch_t"),
        MetricInfo("outcome_mean_ratio", "output", "mean outcome(group) / mean outcome(reference)", 1.0,
                   "further_from_ideal", None, "delta method on the log ratio (wald)",
                   "wald_z_test_vs_bound; parity: welch_t"),
        MetricInfo("outcome_mean_difference", "output", "mean outcome(group) − mean outcome(reference)", 0.0,
                   "further_from_ideal", None, "welch_t", "welch_t_test_vs_bound"),
        MetricInfo("outcome_standardized_mean_difference", "output", "Hedges' g = J (mean_g − mean_ref) / "
                   "s_pooled, J = 1 − 3 / (4 (n_g + n_ref) − 9)", 0.0, "further_from_ideal", None,
                   "normal (Hedges & Olkin variance)", "wald_z_test_vs_bound; parity: welch_t"),
        MetricInfo("distinct_categories_ratio", "output", "mean distinct categories per list (group) / "
                   "(reference): recommendation diversity", 1.0, "lower", None,
                   "delta method on the log ratio (wald)", "wald_z_test_vs_bound; parity: welch_t"),
        MetricInfo("intra_list_diversity_difference", "output", "mean share of item pairs of different categories "
                   "per list, group − reference", 0.0, "further_from_ideal", None, "welch_t",
                   "welch_t_test_vs_bound"),
        MetricInfo("high_value_exposure_ratio", "output", "mean per list of Σ_hv 1/log2(1 + rank) / Σ 1/log2(1 "
                   "+ rank), group / reference: position-discounted exposure to high-value items", 1.0, "lower",
                   None, "delta method on the log ratio (wald)", "wald_z_test_vs_bound; parity: welch_t"),
        MetricInfo("high_value_exposure_difference", "output", "the same exposure, group − reference", 0.0,
                   "further_from_ideal", None, "welch_t", "welch_t_test_vs_bound"),
        MetricInfo("provider_exposure_ratio", "output", "a provider's share of DCG-weighted exposure over its "
                   "target share (given, else its share of relevance, else of listed items; Singh & Joachims "
                   "2018)", 1.0, "lower", None, "poisson bootstrap over people (wald on the log scale)",
                   "wald_z_test_vs_bound"),
        MetricInfo("causal_discrimination_rate", "search", "share of random profiles whose decision changes "
                   "across the protected values, all else equal (Galhotra et al. 2017, Themis)", 0.0, "higher",
                   None, "clopper_pearson (findings), wilson (search rates)", "exact_binomial_vs_bound"),
    )
}


@dataclass(frozen=True, slots=True)
class DecisionRuleInfo:
    name: str
    passes: str
    fails: str
    inconclusive: str
    interval_level: str


#: how a finding's status is decided, as ``GET /v1/metrics`` states it (``engines.policy`` has the reasoning)
DECISION_RULES: tuple[DecisionRuleInfo, ...] = (
    DecisionRuleInfo(
        "bound",
        "the interval at level 1 - 2 alpha lies inside the policy bound: two one-sided tests at alpha show "
        "the bound is met (equivalence). A pass verdict needs every counted finding to pass (intersection-union: "
        "no adjustment needed)",
        "a test against the bound (not against parity) is significant after Benjamini-Hochberg adjustment "
        "across the report: the data show the bound is broken",
        "otherwise, with n_to_decide: the group size at which the test would decide at the observed rates",
        "1 - 2 alpha (90% at alpha 0.05)",
    ),
    DecisionRuleInfo(
        "parity",
        "the point estimate lies inside the bound (the interval is not checked: small samples pass often)",
        "the estimate lies outside the bound and differs from parity, significant after Benjamini-Hochberg",
        "the estimate lies outside the bound but does not differ significantly from parity",
        "1 - alpha (95% at alpha 0.05)",
    ),
)
