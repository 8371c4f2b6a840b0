"""Render options: what a user may set per method, checked once for the web form and the API alike."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from ml.style.gatys_params import DEFAULT_NETWORK, DEFAULT_STYLE_LAYERS, NETWORKS, QUALITIES, GatysParams

# name: (type, min, max) for Gatys' advanced settings; None bounds are unbounded.
GATYS_NUMBERS: dict[str, tuple[type, float | None, float | None]] = {
    "size": (int, 64, 2048),
    "iterations": (int, 1, 2000),
    "content_weight": (float, 0, None),
    "style_weight": (float, 0, None),
    "tv_weight": (float, 0, None),
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
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise ValidationError({field: f"Enter a number for {field.replace('_', ' ')}."}) from None
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValidationError({field: f"{field.replace('_', ' ').capitalize()} must be {bounds}."})
    return value


def _flag(raw: Any) -> bool:
    return raw in (True, "true", "True", "1", "on", 1)


def parse(method: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Return the normalised options for ``method`` from user input; ``ValidationError`` names the field."""
    options: dict[str, Any] = {}
    if method in ("preset", "arbitrary", "fast"):
        options["strength"] = _number(raw.get("strength", 1.0), "strength", float, 0.0, 1.0)
        options["preserve_color"] = _flag(raw.get("preserve_color", False))
        if raw.get("max_side") not in (None, ""):
            options["max_side"] = _number(raw["max_side"], "max_side", int, 64, 4096)
        return options
    if method != "gatys":
        raise ValidationError({"method": f"Unknown method {method!r}."})
    quality = raw.get("quality") or "standard"
    if quality not in QUALITIES:
        raise ValidationError({"quality": f"Quality must be one of {', '.join(QUALITIES)}."})
    options["quality"] = quality
    options["network"] = DEFAULT_NETWORK  # recorded on every render, so a later default change keeps its meaning
    for name, (kind, low, high) in GATYS_NUMBERS.items():
        if raw.get(name) not in (None, ""):
            options[name] = _number(raw[name], name, kind, low, high)
    for name, allowed in GATYS_CHOICES.items():
        if raw.get(name) not in (None, ""):
            if raw[name] not in allowed:
                raise ValidationError({name: f"{name.capitalize()} must be one of {', '.join(allowed)}."})
            options[name] = raw[name]
    spec = NETWORKS[options["network"]]
    if options.get("pooling", "max") != "max" and not spec.has_pooling:
        raise ValidationError({"pooling": f"{spec.name} has no pooling layers; pooling applies to vgg19 only."})
    for name in ("content_layers", "style_layers"):
        value = raw.get(name)
        if value in (None, "", []):
            continue
        layers = [str(v).strip() for v in value.split(",")] if isinstance(value, str) else list(value)
        unknown = [str(layer) for layer in layers if layer not in spec.layers]
        if unknown or not layers:
            raise ValidationError(
                {name: f"Unknown {spec.name} layer(s) {', '.join(unknown)}; valid layers: {', '.join(spec.layers)}."}
            )
        options[name] = layers
    gatys_params(options)  # let the engine's own checks speak too
    return options


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


__all__ = ["DEFAULT_STYLE_LAYERS", "QUALITIES", "gatys_params", "parse"]
