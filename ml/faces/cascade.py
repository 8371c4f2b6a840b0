"""MTCNN's three-stage cascade over many photos at once, with the candidate-box stage vectorised.

This is facenet-pytorch's ``detect_face`` (same networks, thresholds, pyramid, NMS and box
arithmetic — its helper functions are reused) with changes that make bulk scanning fast and
give the same boxes:

* **No per-box Python loop.** facenet-pytorch crops every candidate box and resamples it to
  24×24 (R-Net) or 48×48 (O-Net) with one ``interpolate(mode="area")`` call per box: hundreds of
  calls per photo, each slower the larger the box (a 300 px box costs ~8 ms on CPU). Here every
  box of every photo is resampled in one gather from a summed-area table: area resampling is the
  mean over each output pixel's source rectangle (PyTorch's adaptive-average-pool bins, reproduced
  exactly), and a summed-area table gives any rectangle's sum from four lookups. Sums are exact
  (integers) and divided as PyTorch's kernel divides, so the crops are bit-equal to ``interpolate``.
* **The pyramid from the same table.** facenet-pytorch area-resamples the whole photo again for
  each of its ~11 levels; here each level is two gathers from the table, costing its own pixels
  (bit-equal too).
* **onnxruntime on CPU** for P-, R- and O-Net (:mod:`ml.faces.onnx_nets` says why); PyTorch on CUDA.
* **Photos of different sizes in one call.** The P-Net pyramid runs per group of equal-sized
  photos (as one batch); the R-Net and O-Net stages then run once over the candidates of all
  photos together, with per-box image bounds.

Input: a list of ``uint8`` arrays ``(H, W, 3)`` RGB. Output per photo: boxes ``float32 (K, 5)``
(x1, y1, x2, y2, score) and landmarks ``float32 (K, 5, 2)`` in that photo's pixels, as
``detect_face`` returns them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ml.faces.onnx_nets import onnx_module, runs_on_onnx

# Area-resample crops in chunks of this many boxes: bounds the gather's int64 temporaries
# (a 48×48×3 crop is 55 kB, so 512 boxes ≈ 28 MB per corner lookup).
_CHUNK = 512


def _bins(length: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive-average-pool bin edges for resampling ``length`` (K,) pixels to ``size``.

    Returns start and end offsets, int64 ``(K, size)``: ``start = ⌊i·L/size⌋``, ``end = ⌈(i+1)·L/size⌉``.
    """
    i = np.arange(size, dtype=np.int64)
    length = length.astype(np.int64)[:, None]
    start = (i * length) // size
    end = -((-(i + 1) * length) // size)
    return start, end


def summed_area_table(image: np.ndarray) -> np.ndarray:
    """``(H+1, W+1, C)`` with a zero first row/column: ``T[y, x] = Σ image[:y, :x]``, exact integers.

    int32 while 255·H·W fits (any photo up to 8.4 MP, so every detector input), else int64. The
    running sum down the rows is a loop of whole-row additions: numpy's ``cumsum(axis=0)`` walks
    one column at a time and took 6× as long (29 vs 5 ms for both passes at 1024×683).
    """
    height, width, channels = image.shape
    dtype = np.int32 if 255 * height * width < 2**31 else np.int64
    table = np.zeros((height + 1, width + 1, channels), dtype=dtype)
    flat = image.reshape(height, width * channels)
    rows = np.empty((height, width * channels), dtype=dtype)
    rows[0] = flat[0]
    for y in range(1, height):
        np.add(rows[y - 1], flat[y], out=rows[y])
    np.cumsum(rows.reshape(height, width, channels), axis=1, out=table[1:, 1:])
    return table


def area_resize(table: np.ndarray, height: int, width: int) -> np.ndarray:
    """The photo of summed-area ``table`` area-resampled to ``height``×``width``: float32 ``(height, width, C)``.

    Bit-equal to ``interpolate(photo, (height, width), mode="area")`` (facenet-pytorch's
    ``imresample`` for the P-Net pyramid): the same adaptive-pool bins, exact integer sums, and
    the kernel's float32 ``sum / bin_height / bin_width``. From the table each level costs its own
    pixels; ``interpolate`` re-reads the whole photo for every level (4 vs 16 ms at 615×410 of 1024×683).
    """
    rows_start, rows_end = (b[0] for b in _bins(np.array([table.shape[0] - 1]), height))
    cols_start, cols_end = (b[0] for b in _bins(np.array([table.shape[1] - 1]), width))
    strips = table[rows_end] - table[rows_start]  # (height, W+1, C): column-wise running sums of each row bin
    sums = (strips[:, cols_end] - strips[:, cols_start]).astype(np.float32)
    sums /= (rows_end - rows_start).astype(np.float32)[:, None, None]
    sums /= (cols_end - cols_start).astype(np.float32)[None, :, None]
    return sums


class _Tables:
    """Each photo's summed-area table, built on first use and shared by the R-Net and O-Net stages."""

    def __init__(self, images: Sequence[np.ndarray]) -> None:
        self.images = images
        self._tables: dict[int, np.ndarray] = {}

    def __getitem__(self, index: int) -> np.ndarray:
        if index not in self._tables:
            self._tables[index] = summed_area_table(self.images[index])
        return self._tables[index]


def crop_resample(
    images: Sequence[np.ndarray] | _Tables, image_index: np.ndarray, boxes: np.ndarray, size: int
) -> torch.Tensor:
    """Area-resample box crops to ``size``×``size``, all boxes at once.

    ``images``: uint8 ``(H, W, 3)``; ``boxes``: int ``(K, 4)`` as ``y0, y1, x0, x1`` (0-based, end
    exclusive, non-empty, inside the image); ``image_index`` (K,) says whose. Returns float32
    ``(K, 3, size, size)`` in 0..255, bit-equal to ``interpolate(image[:, y0:y1, x0:x1], size, mode="area")``
    per box (exact integer sums, the kernel's ``sum / bin_height / bin_width``). One image's table at
    a time, so memory stays one photo's; each corner is one flat gather (``np.take``), which is
    several times faster than indexing the 3-d table with two broadcast index arrays.
    """
    tables = images if isinstance(images, _Tables) else _Tables(images)
    out = np.empty((len(boxes), size, size, 3), dtype=np.float32)
    for index in np.unique(image_index):
        table = tables[int(index)]
        stride = table.shape[1]
        flat = table.reshape(-1, table.shape[2])
        mine = np.nonzero(image_index == index)[0]
        for first in range(0, len(mine), _CHUNK):
            rows = mine[first : first + _CHUNK]
            y0, y1, x0, x1 = (boxes[rows, i].astype(np.int64) for i in range(4))
            rows_start, rows_end = _bins(y1 - y0, size)
            cols_start, cols_end = _bins(x1 - x0, size)
            rs, re = (rows_start + y0[:, None])[:, :, None] * stride, (rows_end + y0[:, None])[:, :, None] * stride
            cs, ce = (cols_start + x0[:, None])[:, None, :], (cols_end + x0[:, None])[:, None, :]
            # Vertical strips first: each difference is a non-negative strip sum, so int32 cannot overflow.
            right = np.take(flat, re + ce, axis=0) - np.take(flat, rs + ce, axis=0)
            left = np.take(flat, re + cs, axis=0) - np.take(flat, rs + cs, axis=0)
            sums = (right - left).astype(np.float32)
            sums /= (rows_end - rows_start).astype(np.float32)[:, :, None, None]
            sums /= (cols_end - cols_start).astype(np.float32)[:, None, :, None]
            out[rows] = sums
    return torch.from_numpy(out).permute(0, 3, 1, 2)


def _pad(boxes: torch.Tensor, widths: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """facenet-pytorch's ``pad`` with per-box image bounds: int ``(K, 4)`` as 1-based ``y, ey, x, ex``."""
    b = boxes[:, :4].trunc().int().cpu().numpy()
    x, y = np.maximum(b[:, 0], 1), np.maximum(b[:, 1], 1)
    ex, ey = np.minimum(b[:, 2], widths), np.minimum(b[:, 3], heights)
    return np.stack([y, ey, x, ex], axis=1)


def _crops(
    tables: _Tables, image_inds: np.ndarray, bounds: np.ndarray, size: int, device: torch.device
) -> torch.Tensor:
    """Normalised crops for R-Net/O-Net. A box that lies wholly outside its image (facenet-pytorch
    would skip it and then fail on mismatched lengths) gets its nearest one-pixel edge instead."""
    y, ey, x, ex = bounds.T
    y0 = np.clip(y - 1, 0, None)
    x0 = np.clip(x - 1, 0, None)
    heights = np.array([image.shape[0] for image in tables.images])[image_inds]
    widths = np.array([image.shape[1] for image in tables.images])[image_inds]
    y0, x0 = np.minimum(y0, heights - 1), np.minimum(x0, widths - 1)
    y1, x1 = np.maximum(ey, y0 + 1), np.maximum(ex, x0 + 1)
    data = crop_resample(tables, image_inds, np.stack([y0, y1, x0, x1], axis=1), size).to(device)
    return (data - 127.5) * 0.0078125


class _PNetOnPixels(nn.Module):
    """P-Net on a float32 NHWC batch of 0..255 pixels (the pyramid level as :func:`area_resize` makes
    it), normalised inside the graph; returns the box regression ``(N, 4, h, w)`` and the face
    probability ``(N, h, w)``.

    Its onnxruntime session runs without the memory arena: every pyramid level has another size, so
    an arena keeps blocks for the largest level of the largest photo for good (8 + 8 photos at 1600 px:
    2.4 vs 1.8 GB resident after the run, the same time within the load's noise).
    """

    def __init__(self, pnet: nn.Module) -> None:
        super().__init__()
        self.pnet = pnet

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        reg, probs = self.pnet((pixels.permute(0, 3, 1, 2) - 127.5) * 0.0078125)
        return reg, probs[:, 1]


def prepare(nets: tuple[nn.Module, nn.Module, nn.Module], device: torch.device) -> None:
    """Build the onnxruntime sessions of ``nets`` now when :func:`detect_many` will use them (on CPU),
    so that a worker's warm-up pays the export (~1 s) rather than its first scan."""
    if runs_on_onnx(device):
        pnet, rnet, onet = nets
        onnx_module(pnet, dynamic=(0, 1, 2), graph=_PNetOnPixels, arena=False).build(torch.zeros(1, 12, 12, 3))
        onnx_module(rnet).build(torch.zeros(1, 3, 24, 24))
        onnx_module(onet).build(torch.zeros(1, 3, 48, 48))


def detect_many(
    images: Sequence[np.ndarray],
    min_sizes: Sequence[float],
    nets: tuple[nn.Module, nn.Module, nn.Module],
    thresholds: Sequence[float],
    factor: float,
    device: torch.device,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Run the cascade on ``images`` (uint8 ``(H, W, 3)``, any sizes); ``min_sizes[i]`` is image i's
    smallest face in its pixels. Returns per image ``(boxes (K, 5), landmarks (K, 5, 2))``, float32.
    """
    from facenet_pytorch.models.utils.detect_face import (
        batched_nms,
        batched_nms_numpy,
        bbreg,
        fixed_batch_process,
        generateBoundingBox,
        imresample,
        rerec,
    )

    pnet_pixels: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] = _PNetOnPixels(nets[0])
    rnet: Callable[[torch.Tensor], tuple[torch.Tensor, ...]] = nets[1]
    onet: Callable[[torch.Tensor], tuple[torch.Tensor, ...]] = nets[2]
    onnx = runs_on_onnx(device)
    if onnx:  # onnxruntime on CPU (ml.faces.onnx_nets says why)
        pnet_pixels = onnx_module(nets[0], dynamic=(0, 1, 2), graph=_PNetOnPixels, arena=False)
        rnet, onet = onnx_module(nets[1]), onnx_module(nets[2])
    empty = (np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32))
    if not images:
        return []
    # --- stage 1: P-Net on each image's pyramid; equal sizes (and minimum face sizes) share a batch
    groups: dict[tuple[int, int, float], list[int]] = defaultdict(list)
    for index, image in enumerate(images):
        groups[(image.shape[0], image.shape[1], float(min_sizes[index]))].append(index)
    tables = _Tables(images)
    all_boxes, all_inds = [], []
    for (h, w, min_size), members in groups.items():
        if not onnx:
            batch = torch.from_numpy(np.stack([images[i] for i in members])).to(device).permute(0, 3, 1, 2).float()
        scale, minl = 12.0 / min_size, min(h, w) * 12.0 / min_size
        picked_boxes, picked_inds = [], []
        while minl >= 12:
            size = (int(h * scale + 1), int(w * scale + 1))
            if onnx:
                level = torch.from_numpy(np.stack([area_resize(tables[i], *size) for i in members]))
            else:  # on a GPU, resample the batch there (facenet-pytorch's imresample), NHWC as above
                level = imresample(batch, size).permute(0, 2, 3, 1)
            reg, probs = pnet_pixels(level)
            boxes, inds = generateBoundingBox(reg, probs, scale, thresholds[0])
            pick = batched_nms(boxes[:, :4], boxes[:, 4], inds, 0.5)
            picked_boxes.append(boxes[pick])
            picked_inds.append(inds[pick])
            scale, minl = scale * factor, minl * factor
        if picked_boxes:
            local = torch.cat(picked_inds)
            all_boxes.append(torch.cat(picked_boxes))
            all_inds.append(torch.as_tensor(members, device=device)[local])
    if not all_boxes:
        return [empty for _ in images]
    boxes, image_inds = torch.cat(all_boxes), torch.cat(all_inds)
    pick = batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.7)
    boxes, image_inds = boxes[pick], image_inds[pick]
    regw, regh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    boxes = torch.stack(
        [
            boxes[:, 0] + boxes[:, 5] * regw,
            boxes[:, 1] + boxes[:, 6] * regh,
            boxes[:, 2] + boxes[:, 7] * regw,
            boxes[:, 3] + boxes[:, 8] * regh,
            boxes[:, 4],
        ]
    ).permute(1, 0)
    boxes = rerec(boxes)

    heights = np.array([image.shape[0] for image in images])
    widths = np.array([image.shape[1] for image in images])
    # --- stage 2: R-Net on every candidate of every image at once
    if len(boxes) > 0:
        inds = image_inds.cpu().numpy()
        out = fixed_batch_process(_crops(tables, inds, _pad(boxes, widths[inds], heights[inds]), 24, device), rnet)
        score = out[1][:, 1]
        ipass = score > thresholds[1]
        boxes = torch.cat((boxes[ipass, :4], score[ipass].unsqueeze(1)), dim=1)
        image_inds, mv = image_inds[ipass], out[0][ipass]
        pick = batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.7)
        boxes, image_inds, mv = boxes[pick], image_inds[pick], mv[pick]
        boxes = rerec(bbreg(boxes, mv))
    # --- stage 3: O-Net, landmarks, final NMS ("Min" overlap, as facenet-pytorch)
    points = torch.zeros(0, 5, 2, device=device)
    if len(boxes) > 0:
        inds = image_inds.cpu().numpy()
        out = fixed_batch_process(_crops(tables, inds, _pad(boxes, widths[inds], heights[inds]), 48, device), onet)
        score = out[2][:, 1]
        ipass = score > thresholds[2]
        marks = out[1][ipass].permute(1, 0)
        boxes = torch.cat((boxes[ipass, :4], score[ipass].unsqueeze(1)), dim=1)
        image_inds, mv = image_inds[ipass], out[0][ipass]
        w_i = boxes[:, 2] - boxes[:, 0] + 1
        h_i = boxes[:, 3] - boxes[:, 1] + 1
        points_x = w_i.repeat(5, 1) * marks[:5, :] + boxes[:, 0].repeat(5, 1) - 1
        points_y = h_i.repeat(5, 1) * marks[5:10, :] + boxes[:, 1].repeat(5, 1) - 1
        points = torch.stack((points_x, points_y)).permute(2, 1, 0)
        boxes = bbreg(boxes, mv)
        pick = batched_nms_numpy(boxes[:, :4], boxes[:, 4], image_inds, 0.7, "Min")
        boxes, image_inds, points = boxes[pick], image_inds[pick], points[pick]
    boxes_np = boxes.detach().float().cpu().numpy()
    points_np = points.detach().float().cpu().numpy()
    inds_np = image_inds.cpu().numpy()
    if len(boxes_np) == 0 or boxes_np.shape[1] != 5:
        return [empty for _ in images]
    return [(boxes_np[inds_np == i], points_np[inds_np == i]) for i in range(len(images))]
