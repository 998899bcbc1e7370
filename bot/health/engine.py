"""The health engine: one account's inputs in, a :class:`HealthResult` out. Pure functions, no I/O.

The overall score is the weighted mean of the components (:mod:`bot.health.components`) that had data: a
missing component gives its weight to the others, and the share of weight that had data is the
*confidence*. With too little data the engine says so instead of guessing (score ``None``, band
``unknown``). :func:`drivers` names the components that pull the score down most.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.health.components import COMPONENT_NAMES, COMPONENTS, COMPONENTS_BY_NAME, ComponentScore
from bot.health.inputs import AccountInputs
from bot.health.model import HealthModel
from storage.models import Band

# Components scoring below this are candidates to be named as drivers of the score.
DRIVER_BELOW = 70.0
MAX_DRIVERS = 3


@dataclass(frozen=True, slots=True)
class HealthResult:
    score: float | None  # 0..100, one decimal; None when there was too little data
    band: Band
    confidence: float  # share of the weight whose component had data, 0..1
    components: tuple[ComponentScore, ...]
    reason: str | None = None  # set when the score is None: what was missing

    def component(self, name: str) -> ComponentScore | None:
        return next((c for c in self.components if c.name == name), None)


def _label_list(labels: Sequence[str]) -> str:
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def not_enough_data_reason(components: Sequence[ComponentScore]) -> str:
    """ "not enough data: only NPS available", from the components of an unscored result."""
    available = [c.label for c in components if c.has_data]
    if not available:
        return "not enough data: no component has data"
    return f"not enough data: only {_label_list(available)} available"


def band_for(score: float | None, green: float, yellow: float) -> Band:
    if score is None:
        return Band.UNKNOWN
    if score >= green:
        return Band.GREEN
    if score >= yellow:
        return Band.YELLOW
    return Band.RED


def compute_health(inputs: AccountInputs, model: HealthModel) -> HealthResult:
    """Score one account with the weights and thresholds of its segment."""
    profile = model.profile_for(inputs.segment)
    components: list[ComponentScore] = []
    total_weight = 0.0
    weight_with_data = 0.0
    weighted_sum = 0.0
    for component in COMPONENTS:
        weight = profile.weights.get(component.name, 0.0)
        if weight <= 0:
            continue  # switched off for this segment
        reading = component.score(inputs)
        shown = None if reading.score is None else round(reading.score, 1)
        components.append(ComponentScore(component.name, shown, weight, reading.reason))
        total_weight += weight
        if reading.score is not None:  # the mean uses unrounded scores; only what is shown is rounded
            weight_with_data += weight
            weighted_sum += weight * reading.score
    confidence = round(weight_with_data / total_weight, 3) if total_weight else 0.0
    scored = sum(1 for c in components if c.has_data)
    if scored == 0 or scored < model.min_components or confidence < model.min_confidence:
        return HealthResult(
            None, Band.UNKNOWN, confidence, tuple(components), not_enough_data_reason(components)
        )
    score = round(weighted_sum / weight_with_data, 1)
    return HealthResult(score, band_for(score, profile.green, profile.yellow), confidence, tuple(components))


# --------------------------------------------------------------------------------------------- drivers


def _position(name: str) -> int:
    return COMPONENT_NAMES.index(name) if name in COMPONENTS_BY_NAME else len(COMPONENT_NAMES)


@dataclass(frozen=True, slots=True)
class Driver:
    """A component pulling the score down; ``impact`` is the points of the overall score it costs."""

    name: str
    label: str
    score: float
    impact: float
    reason: str


def drivers(
    components: Sequence[ComponentScore], *, below: float = DRIVER_BELOW, limit: int = MAX_DRIVERS
) -> tuple[Driver, ...]:
    """The components that pull the score down most: weight x (100 - score), biggest first.

    Only components with data scoring below ``below`` count. Impact is expressed in points of the
    overall score (weights renormalised over the components with data), so the impacts of all
    components add up to 100 minus the score.
    """
    with_data = [c for c in components if c.score is not None and c.weight > 0]
    total = sum(c.weight for c in with_data)
    if total <= 0:
        return ()
    found = [
        Driver(c.name, c.label, c.score, round(c.weight * (100 - c.score) / total, 1), c.reason)
        for c in with_data
        if c.score is not None and c.score < below
    ]
    found.sort(key=lambda d: (-d.impact, d.score, _position(d.name)))
    return tuple(found[:limit])
