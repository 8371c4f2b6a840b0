"""Which style work the live workers can take, and where a job goes (``nstsite.capabilities``).

Worker side: :func:`refuse_queue` drops a ``gatys-<network>`` queue whose weights this worker
lacks, and :func:`advertised` says what this worker can run. Web side: :func:`gatys_status`
answers "can Gatys on this network run, on what, how fast?" from the live workers' records only —
never from the web host's own disk or CPU.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gallery.models import Render, RenderMethod
from nstsite import capabilities

# Loss networks whose weights ship inside a Python package every worker installs: Gatys on them goes
# to the ``style-slow`` queue. Every other network has its own ``gatys-<network>`` queue.
OFFLINE_LOSS_NETWORKS: frozenset[str] = frozenset({"mobilenet-v2"})
# The gallery's queues (keys of settings.RQ_QUEUES); the one place their names are spelled.
STYLE_QUEUE = "style"  # seconds: presets, any painting, previews, thumbnails
SLOW_STYLE_QUEUE = "style-slow"  # minutes: Gatys on packaged weights, style labs
GATYS_QUEUE_PREFIX = "gatys-"

NETWORK_LABELS = {"vgg19": "VGG19", "mobilenet-v2": "MobileNet-v2"}


def gatys_queue(network: str) -> str:
    """The queue of a Gatys render on ``network``: ``style-slow`` for offline networks, else ``gatys-<network>``."""
    return SLOW_STYLE_QUEUE if network in OFFLINE_LOSS_NETWORKS else f"{GATYS_QUEUE_PREFIX}{network}"


def is_slow_queue(queue: str) -> bool:
    """Whether ``queue`` holds minutes-long style work (the slow worker's queues)."""
    return queue == SLOW_STYLE_QUEUE or queue.startswith(GATYS_QUEUE_PREFIX)


def loss_networks() -> list[str]:
    """Every Gatys loss network this code base knows."""
    from ml.style.gatys_params import NETWORKS

    return list(NETWORKS)


def _runs_here(network: str) -> bool:
    from gallery import engines

    return engines.gatys_available(network)[0]


# --- worker side --------------------------------------------------------------------------------


def refuse_queue(queue: str) -> str:
    """Why this worker must not listen on ``queue`` ("" when it may)."""
    if not queue.startswith(GATYS_QUEUE_PREFIX):
        return ""
    network = queue.removeprefix(GATYS_QUEUE_PREFIX)
    if network not in loss_networks():
        return f"unknown loss network {network!r}"
    if not _runs_here(network):
        return f"this worker has no {NETWORK_LABELS.get(network, network)} weights"
    return ""


_measured: dict[str, dict[str, Any]] = {}
_RATE_MEMORY = 0.5  # weight of the newest render in the running throughput figure
SETTLE_PROBES = 3  # start-up probes re-run while idle: the first one competes with every other start-up


def record_throughput(network: str, flops: float, *, source: str) -> None:
    """Remember this worker's effective FLOP/s for ``network``; ``source`` is "render", "probe" or
    "guess" (one dense convolution, when no probe ran: a worker started without warm-up).

    Each worker keeps and advertises its own figure (no other worker's speed mixes in). A real
    render's figure replaces any probe's and is averaged with earlier renders, so the estimate
    follows how busy the machine really is. A probe never replaces a render's figure, and a later
    probe replaces an earlier one only when it is faster: other load only ever slows a probe down
    (the first runs while the web server and the other workers are still starting).
    """
    old = _measured.get(network)
    if old and old["source"] == "guess":
        old = None  # anything measured beats the guess
    if old and old["source"] == "render":
        if source == "probe":
            return
        flops, runs = _RATE_MEMORY * flops + (1 - _RATE_MEMORY) * old["flops"], old["runs"] + 1
    elif source == "render":
        runs = 1
    else:
        flops, runs = max(flops, old["flops"]) if old else flops, 0
    probes = (old or {}).get("probes", 0) + (source == "probe")
    _measured[network] = {"flops": flops, "source": source, "runs": runs, "probes": probes}


def measured_throughput(network: str) -> dict[str, Any] | None:
    """This worker's figure for ``network``: ``{"flops", "source", "runs", "probes"}``, or None."""
    return _measured.get(network)


def probe_throughputs() -> None:
    """A throughput figure per runnable loss network, from a short real run (at start, then while idle).

    Replaced by the figures of real renders as soon as there are any.
    """
    from gallery import engines
    from ml.style.gatys import GatysParams, measure_throughput

    for name in loss_networks():
        if engines.gatys_available(name)[0]:
            params = GatysParams.for_quality("draft", network=name)
            flops = measure_throughput(engines.gatys_network(name), params, device=engines.device(), side=160)
            record_throughput(name, flops, source="probe")


def _settling() -> bool:
    return any(m["source"] == "probe" and m["probes"] < SETTLE_PROBES for m in _measured.values())


def settle_throughputs() -> bool:
    """Worker idle hook: probe again until :data:`SETTLE_PROBES` probes ran; True while more are due."""
    if _settling():
        probe_throughputs()
    return _settling()


def advertised(queues: list[str]) -> dict[str, Any]:
    """This worker's style capabilities for its record: device and runnable loss networks."""
    from django.conf import settings

    from gallery import engines
    from ml.style.estimate import rough_throughput

    networks: dict[str, Any] = {}
    for network in loss_networks():
        if gatys_queue(network) not in queues or not _runs_here(network):
            continue
        if network not in _measured:  # no probe ran (no warm-up): a rough first figure, ~0.2 s
            record_throughput(network, rough_throughput(network, engines.device()), source="guess")
        networks[network] = {
            **_measured[network],
            "random_weights": network == "vgg19" and bool(settings.STYLE_GATYS_RANDOM_WEIGHTS),
        }
    return {"device": engines.device_label(), "loss_networks": networks}


def render_queue(render: Render) -> str:
    """Gatys: ``style-slow`` (packaged weights) or ``gatys-<network>``; every other method ``style``."""
    if render.method == RenderMethod.GATYS:
        return gatys_queue(render.params.get("network") or "vgg19")
    return STYLE_QUEUE


# --- web side -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GatysStatus:
    """Whether some live worker can run Gatys on ``network``; if so, the fastest one's device and FLOP/s."""

    network: str
    ok: bool
    message: str = ""
    device: str = ""
    device_type: str = "cpu"
    flops: float | None = None
    source: str = "probe"  # "render": real renders; "probe": short runs on the worker; "guess": neither yet
    runs: int = 0
    workers: int = 0


def gatys_status(network: str) -> GatysStatus:
    """Decided from live workers only: "No worker can run Gatys with VGG19 right now" when none can."""
    able = [w for w in capabilities.live() if network in w.loss_networks and gatys_queue(network) in w.queues]
    if not able:
        label = NETWORK_LABELS.get(network, network)
        return GatysStatus(network=network, ok=False, message=f"No worker can run Gatys with {label} right now.")
    # Estimates use the fastest live worker able to take the job: the queue is shared, so on a
    # deployment that routes Gatys to GPU hosts that is where it runs.
    best = max(able, key=lambda w: w.loss_networks[network].get("flops") or 0.0)
    info = best.loss_networks[network]
    message = (
        "VGG19 runs with RANDOM weights (test/demo mode): results are not real style transfers."
        if info.get("random_weights")
        else ""
    )
    return GatysStatus(
        network=network,
        ok=True,
        message=message,
        device=best.device,
        device_type=best.device_type,
        flops=info.get("flops"),
        source=info.get("source", "probe"),
        runs=info.get("runs", 0),
        workers=len(able),
    )


def gatys_networks(*, staff: bool) -> list[dict[str, Any]]:
    """Each loss network for the web page: name, label, availability and a message fit for this user.

    Ordinary users never see server paths or shell commands; staff get the exact missing file and
    how to fetch it.
    """
    from gallery import engines
    from ml.style.gatys_params import DEFAULT_NETWORK, NETWORKS

    rows = []
    for name, spec in NETWORKS.items():
        status = gatys_status(name)  # what the live workers say, not this web host's disk
        ok, message = status.ok, status.message
        if not ok and staff:
            here_ok, here_message = engines.gatys_available(name)
            where = f"Start a worker with its weights on the queue {gatys_queue(name)!r}."
            message = f"{message} {where} {'' if here_ok else 'This host: ' + here_message}".strip()
        rows.append(
            {
                "name": name,
                "label": spec.label,
                "ok": ok,
                "message": message,
                "content_layers": ",".join(spec.content_layers),
                "style_layers": ",".join(spec.style_layers),
                "layers": ", ".join(spec.layers),
                "style_weight": f"{spec.style_weight:g}",
                "tv_weight": f"{spec.tv_weight:g}",
                "pooling": spec.has_pooling,
                "default": name == DEFAULT_NETWORK,
            }
        )
    return rows
