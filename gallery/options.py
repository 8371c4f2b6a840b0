"""Render options: what a user may set per method, checked once for the web form and the API alike."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError

from ml.style.gatys_params import DEFAULT_NETWORK, DEFAULT_STYLE_LAYERS, NETWORKS, QUALITIES, GatysParams

ALL_LAYERS = tuple(dict.fromkeys(layer for spec in NETWORKS.values() for layer in spec.layers))
# Styles in one blend, each at most once: every preset (26) fits; more is an attack, not a picture.
MAX_BLEND = 32

# name: (type, min, max) for Gatys' advanced settings; None bounds are unbounded.
GATYS_NUMBERS: dict[str, tuple[type, float | None, float | None]] = {
    "size": (int, 64, 2048),
    "iterations": (int, 1, 2000),
    # Upper bounds keep the losses finite in float32 (a weight of 1e300 renders a black image).
    "content_weight": (float, 0, 1e6),
    "style_weight": (float, 0, 1e12),
    "tv_weight": (float, 0, 1e6),
    "style_scale": (float, 0.05, 4.0),
    "seed": (int, 0, 2**31 - 1),
}
GATYS_CHOICES = {
    "network": tuple(NETWORKS),
    "layer_preset": ("gatys", "fine", "coarse", "deep-weighted"),
    "optimizer": ("lbfgs", "adam"),
    "init": ("content", "noise", "style"),
    "pooling": ("max", "avg"),
    "color": ("none", "luminance", "histogram"),
}


def _number(raw: Any, field: str, kind: type, low: float | None, high: float | None) -> float | int:
    """``raw`` (a JSON number or a form's string) as a finite ``kind`` within ``[low, high]``.

    Refused with a field error, never coerced: booleans (``true`` is not 1), NaN and infinities
    (``"nan"``, ``"Infinity"``, ``1e309``), fractions for whole numbers (``1.5`` iterations), and
    anything that is not a number at all (lists, objects, text).
    """
    label = field.replace("_", " ")
    whole = kind is int
    wrong = ValidationError({field: f"Enter a {'whole ' if whole else ''}number for {label}."})
    if isinstance(raw, bool) or not isinstance(raw, int | float | str) or (isinstance(raw, str) and len(raw) > 40):
        raise wrong
    try:
        number = float(raw)
    except (ValueError, OverflowError):
        raise wrong from None
    if not math.isfinite(number):
        raise ValidationError({field: f"{label.capitalize()} must be a finite number."})
    if whole and not number.is_integer():
        raise wrong
    value: float | int = int(number) if whole else number
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise ValidationError({field: f"{label.capitalize()} must be {bounds}."})
    return value


_TRUE = (True, 1, "true", "True", "1", "on", "yes")
_FALSE = (False, 0, "false", "False", "0", "off", "no", "")


def _flag(raw: Any, field: str) -> bool:
    if isinstance(raw, bool | int | str) and raw in _TRUE:
        return True
    if isinstance(raw, bool | int | str) and raw in _FALSE:
        return False
    raise ValidationError({field: f"{field.replace('_', ' ').capitalize()} must be true or false."})


def _choice(raw: Any, field: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(raw, str) or raw not in allowed:
        raise ValidationError({field: f"{field.replace('_', ' ').capitalize()} must be one of {', '.join(allowed)}."})
    return raw


def _layers(raw: Any, field: str, known: tuple[str, ...], network: str) -> list[str]:
    """A comma-separated string (web form) or a list of strings (API) of known layer names."""
    if isinstance(raw, str):
        layers = [v.strip() for v in raw.split(",") if v.strip()]
    elif isinstance(raw, list) and all(isinstance(v, str) for v in raw):
        layers = [v.strip() for v in raw]
    else:
        raise ValidationError({field: 'Give layer names as a list of strings, e.g. ["conv4_2"].'})
    unknown = [layer for layer in layers if layer not in known]
    if unknown or not layers or len(layers) > len(known):
        raise ValidationError(
            {
                field: f"Unknown {network} layer(s) {', '.join(unknown) or '(none given)'}; "
                f"valid layers: {', '.join(known)}."
            }
        )
    return layers


def parse(method: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Return the normalised options for ``method`` from user input; ``ValidationError`` names the field."""
    if not isinstance(raw, dict):
        raise ValidationError({"params": "Options must be an object of names and values."})
    options: dict[str, Any] = {}
    if method in ("preset", "arbitrary", "fast"):
        options["strength"] = _number(raw.get("strength", 1.0), "strength", float, 0.0, 1.0)
        options["preserve_color"] = _flag(raw.get("preserve_color", False), "preserve_color")
        if not _empty(raw.get("max_side")):
            options["max_side"] = _number(raw["max_side"], "max_side", int, 64, 4096)
        return options
    if method != "gatys":
        raise ValidationError({"method": f"Unknown method {method!r}."})
    options["quality"] = _choice(raw.get("quality") or "standard", "quality", QUALITIES)
    options["network"] = DEFAULT_NETWORK  # recorded on every render, so a later default change keeps its meaning
    for name, (kind, low, high) in GATYS_NUMBERS.items():
        if not _empty(raw.get(name)):
            options[name] = _number(raw[name], name, kind, low, high)
    for name, allowed in GATYS_CHOICES.items():
        if not _empty(raw.get(name)):
            options[name] = _choice(raw[name], name, allowed)
    spec = NETWORKS[options["network"]]
    if options.get("pooling", "max") != "max" and not spec.has_pooling:
        raise ValidationError({"pooling": f"{spec.name} has no pooling layers; pooling applies to vgg19 only."})
    for name in ("content_layers", "style_layers"):
        if not _empty(raw.get(name)):
            options[name] = _layers(raw[name], name, spec.layers, spec.name)
    gatys_params(options)  # let the engine's own checks speak too
    return options


def _empty(value: Any) -> bool:
    """Not given: absent, null, or an empty form field / list (unhashable values are never "empty")."""
    return value is None or (isinstance(value, str | list) and len(value) == 0)


def gatys_params(options: dict[str, Any]) -> GatysParams:
    """The engine's parameters for stored options. Renders stored before networks existed ran on VGG19."""
    overrides = {k: v for k, v in options.items() if k not in ("quality", "network", "run_seconds")}
    for name in ("content_layers", "style_layers"):
        if name in overrides:
            overrides[name] = tuple(overrides[name])
    network = options.get("network", "vgg19")
    try:
        return GatysParams.for_quality(options.get("quality", "standard"), network=network, **overrides)
    except ValueError as exc:
        raise ValidationError({"params": str(exc)}) from exc


def json_schema() -> dict[str, Any]:
    """The OpenAPI/JSON schema of ``params``, built from the same tables :func:`parse` checks against.

    Precise types and bounds, so clients (and a schema fuzzer) know what is valid: one object per
    engine family (names another method does not use are ignored).
    """
    numbers: dict[str, Any] = {}
    for name, (kind, low, high) in GATYS_NUMBERS.items():
        numbers[name] = {"type": "integer" if kind is int else "number", "minimum": low}
        if high is not None:
            numbers[name]["maximum"] = high
    # Every network's layer names; which are valid depends on "network" (parse() says so per network).
    layers = {"type": "array", "items": {"type": "string", "enum": list(ALL_LAYERS)}, "minItems": 1}
    gatys = {
        "type": "object",
        "title": "Gatys options",
        "properties": {
            "quality": {"type": "string", "enum": list(QUALITIES), "default": "standard"},
            **numbers,
            **{name: {"type": "string", "enum": list(allowed)} for name, allowed in GATYS_CHOICES.items()},
            "content_layers": layers,
            "style_layers": layers,
        },
    }
    feed_forward = {
        "type": "object",
        "title": "preset / arbitrary / fast options",
        "properties": {
            "strength": {"type": "number", "minimum": 0, "maximum": 1, "default": 1.0},
            "preserve_color": {"type": "boolean", "default": False},
            "max_side": {"type": "integer", "minimum": 64, "maximum": 4096},
        },
    }
    return {"anyOf": [feed_forward, gatys], "description": "Options of the chosen method; see each variant."}


__all__ = ["DEFAULT_STYLE_LAYERS", "QUALITIES", "gatys_params", "json_schema", "parse"]
