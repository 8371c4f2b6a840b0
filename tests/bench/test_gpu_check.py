"""bench/gpu_check.py on a machine without CUDA: it runs the checks on the CPU and says so."""

from __future__ import annotations

import pytest
import torch

from bench import gpu_check


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="this test covers the no-CUDA branch; run bench/gpu_check.sh on GPUs"
)
def test_without_cuda_it_runs_on_the_cpu_and_says_so(capsys):
    assert gpu_check.main(["--quick", "--only", "preset", "training"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("CUDA was NOT available")
    rows = [line for line in out.splitlines() if line.startswith("| preset") or line.startswith("| training")]
    assert len(rows) == 3  # the fast path, the module, one training step; each on the CPU
    assert all("| cpu |" in row and "FAILED" not in row for row in rows)
    fast = next(row for row in rows if "onnxruntime" in row)
    assert float(fast.split("|")[4]) < 1e-3  # the fast path's difference from the fp32 module, measured


def test_a_failing_check_is_reported_and_fails_the_run(capsys, monkeypatch):
    def broken(devices, side):  # type: ignore[no-untyped-def]
        raise RuntimeError("no such kernel")

    monkeypatch.setattr(gpu_check, "check_preset", broken)
    assert gpu_check.main(["--quick", "--only", "preset"]) == 1
    assert "FAILED: RuntimeError: no such kernel" in capsys.readouterr().out


def test_every_device_gets_the_same_random_loss_network():
    from ml.style.vgg import load_vgg16

    a, note = gpu_check._load(load_vgg16, torch.device("cpu"))
    b, _ = gpu_check._load(load_vgg16, torch.device("cpu"))
    if note == "random weights":
        assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert sum(p.numel() for p in a.parameters()) > 1_000_000
