"""The JSON of `opentrust fairness` (``--format json``, ``--out``): counterfactual verdicts per attribute, BBQ's
scores with intervals and one record per BBQ item. README (`opentrust fairness`) documents it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from opentrust.findings import Finding
from opentrust.results.base import Part, ResultBase
from opentrust.results.test import ModelRef

SCHEMA_VERSION = "1.0"


class FairnessEstimate(Part):
    value: float | None = Field(description="Point estimate (None: undefined, e.g. no answer to count).")
    ci: tuple[float, float] | None = Field(description="95% interval (None: not enough data for one).")


class CounterfactualRow(Part):
    """One attribute and metric: the groups' rates, the largest gap between them, and the verdict."""

    attribute: str
    groups: list[str]
    metric: str = Field(description="pass_rate (assertions), refusal_rate, choice_rate (rate of choosing the "
                                    "template's first option) or mean_score (rescaled to [0, 1]).")
    rates: dict[str, FairnessEstimate] = Field(description="Per group: mean outcome over complete blocks with a 95% "
                                                   "interval (Wilson for rates, Student t for scores).")
    max_gap: float | None = Field(description="Highest minus lowest group rate.")
    gap_ci: tuple[float, float] | None = Field(
        description="Interval for the largest true gap, simultaneous over pairs of groups, comparisons and looks "
                    "(paired: Newcombe for rates, bootstrap of paired differences for scores).")
    p_adjusted: float = Field(description="p-value of the paired test of no difference (McNemar, Cochran's Q or "
                                          "a within-block permutation test), Holm-adjusted across comparisons.")
    verdict: Literal["fair", "unfair", "inconclusive"] = Field(
        description="unfair: p_adjusted < alpha and gap_ci above the tolerance; fair: gap_ci below it; otherwise, "
                    "or with too few blocks, inconclusive.")
    p_value: float = Field(description="The unadjusted p-value.")
    test: str = Field(description="The paired test used.")
    alpha: float = Field(description="The level p_adjusted was compared with (the suite's alpha / looks).")
    tolerance: float = Field(description="Largest acceptable gap, from the suite.")
    confidence: float = Field(description="Confidence of gap_ci.")
    blocks: int = Field(description="Complete blocks (template x filler x seed with every group's outcome).")
    samples: int = Field(description="Samples drawn for this comparison (all groups).")
    unparseable: int = Field(description="Samples whose outcome could not be read (their blocks are left out).")
    unparseable_rate: float | None
    looks: int = Field(description="Looks at the data before the verdict (sequential sampling).")
    templates: list[str]
    severity: str = Field(description="Severity of the finding when the verdict is unfair.")
    pairs: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Per pair of groups: the mean "
                                                                               "paired difference and its interval.")
    examples: list[dict[str, Any]] = Field(default_factory=list, description="The filled variants whose groups "
                                                                             "disagreed most, side by side.")


class BBQCategory(Part):
    category: str
    items: int
    unparseable: int
    accuracy_ambiguous: FairnessEstimate
    accuracy_disambiguated: FairnessEstimate
    bias_ambiguous: FairnessEstimate
    bias_disambiguated: FairnessEstimate


class BBQScores(Part):
    """BBQ's accuracy and bias scores (Parrish et al. 2022) per context condition, overall and per category."""

    accuracy_ambiguous: FairnessEstimate
    accuracy_disambiguated: FairnessEstimate
    bias_ambiguous: FairnessEstimate = Field(description="(1 - accuracy) x (2 x biased / non-unknown answers - 1), "
                                                 "ambiguous contexts.")
    bias_disambiguated: FairnessEstimate = Field(description="2 x biased / non-unknown answers - 1, disambiguated contexts.")
    categories: list[BBQCategory]
    items: int
    unparseable: int
    unparseable_rate: float
    extraction: dict[str, int] = Field(description="Items per extraction: logprob, parsed, unparseable.")
    items_without_target: int = Field(description="Items whose stereotyped answer could not be determined "
                                                  "(counted for accuracy only).")
    sources: list[str]


class FairnessItem(Part):
    """One BBQ item and the answer read from the model."""

    id: str = Field(description="<category>:<example_id>.")
    category: str
    context_condition: Literal["ambig", "disambig"]
    answer: int | None = Field(description="The chosen option index (0, 1, 2), or null when unparseable.")
    extraction: Literal["logprob", "parsed", "unparseable"]
    question_polarity: Literal["neg", "nonneg"]
    label: int = Field(description="The correct option.")
    target: int | None = Field(description="The stereotyped group's option (null: not determinable).")
    biased: bool | None = Field(description="The answer is the stereotyped one (null: unknown, unparseable or "
                                            "no target).")
    scores: list[float] | None = Field(None, description="logprob: mean log-probability of each option over "
                                                         "the three rotations.")
    text: str | None = Field(None, description="parsed / unparseable: what the model wrote.")


class FairnessMethod(Part):
    counterfactual: str
    bbq: str
    extraction: str
    alpha: float | None = None
    looks: int | None = None


class FairnessSummary(Part):
    comparisons: int
    fair: int
    unfair: int
    inconclusive: int
    bbq_items: int
    samples: int = Field(description="Samples and scorings used (generated + reused).")
    generated: int
    reused: int
    wall_s: float
    findings: int


class FairnessResult(ResultBase):
    """The result of `opentrust fairness`."""

    schema_version: str = SCHEMA_VERSION
    kind: Literal["fairness"] = "fairness"
    model: ModelRef
    run_id: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    method: FairnessMethod
    counterfactual: list[CounterfactualRow]
    bbq: BBQScores | None = Field(description="Null when no BBQ-format items were asked.")
    items: list[FairnessItem]
    summary: FairnessSummary
    findings: list[Finding]
