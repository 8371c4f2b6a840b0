"""The "style lab": Gatys et al.'s Figure 3 for your own photo and painting.

A grid of small renders across the content/style ratio α/β (columns) and the style depth (rows:
the first 1 … 5 style layers of the loss network, the paper's conv1 … conv1–conv5), so a user
sees what the two main knobs do before rendering one cell at full size.

    cells = lab_cells("mobilenet-v2")                       # 5 depths × 4 ratios
    for cell, image in run_lab(photo, painting, cells, net=net, size=160, iterations=30):
        ...
    sheet = lab_sheet(results, cell_size=160)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageOps

from ml.style.gatys import GatysParams, run_gatys
from ml.style.gatys_params import network_spec
from ml.style.networks import LossNetwork

# Multiples of the network's default α/β, chosen by what the cells look like (bench/style_lab_spread.py,
# docs/benchmarks.md): with MobileNet-v2's normalised losses (default 1e-3) every α/β from 1e-5 to 1e-2
# gives the same fully painted cell (content loss 0.24 → 0.15), and the picture only comes back
# between 1e-2 and 10 (content loss 0.15, 0.08, 0.016, 0.001). So the columns are 1e-2 … 10 there:
# painting → photo, as in the paper's Figure 3. For VGG19 (unnormalised, default 1e-6) the same steps
# are the paper's own 1e-5 … 1e-2.
RATIO_STEPS = (10.0, 100.0, 1e3, 1e4)


@dataclass(frozen=True)
class LabCell:
    """One grid cell: its settings as GatysParams overrides (JSON-friendly)."""

    row: int  # 0-based: depth - 1
    column: int
    depth: int  # number of style layers, shallow first
    ratio: float  # α/β
    style_layers: tuple[str, ...]

    def overrides(self) -> dict[str, object]:
        """Options that reproduce this cell at any size: content weight 1, style weight 1/ratio."""
        return {"content_weight": 1.0, "style_weight": 1.0 / self.ratio, "style_layers": list(self.style_layers)}


def lab_cells(network: str, *, depths: int = 5) -> list[LabCell]:
    """The grid for ``network``, row by row (depth 1 … ``depths``), ratios from style-heavy to photo-heavy."""
    spec = network_spec(network)
    default_ratio = spec.content_weight / spec.style_weight
    cells = []
    for row in range(min(depths, len(spec.style_depth))):
        for column, step in enumerate(RATIO_STEPS):
            ratio = float(f"{default_ratio * step:.3g}")
            cells.append(LabCell(row, column, row + 1, ratio, spec.style_depth[: row + 1]))
    return cells


def run_lab(
    content: Image.Image,
    style: Image.Image,
    cells: list[LabCell],
    *,
    network: str,
    net: LossNetwork | None = None,
    size: int = 160,
    iterations: int = 30,
    device: str | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[LabCell, Image.Image]]:
    """Render each cell (``size`` px longest side, ``iterations`` L-BFGS steps from the photo); yields as they finish.

    Raises :class:`ml.style.gatys.Cancelled` when ``should_stop()`` turns true.
    """
    for cell in cells:
        overrides = {**cell.overrides(), "style_layers": cell.style_layers}
        params = GatysParams.for_quality("draft", network=network, size=size, iterations=iterations, **overrides)
        yield cell, run_gatys(content, [(style, 1.0)], params, net=net, device=device, should_stop=should_stop)


def lab_sheet(results: list[tuple[LabCell, Image.Image]], *, cell_size: int = 160) -> Image.Image:
    """One labelled image of the grid: rows = style depth, columns = α/β (RGB, about 5·cell × 4·cell)."""
    rows = max(c.row for c, _ in results) + 1
    columns = max(c.column for c, _ in results) + 1
    left, top = 90, 20
    sheet = Image.new("RGB", (left + columns * cell_size, top + rows * cell_size), "white")
    draw = ImageDraw.Draw(sheet)
    for cell, image in results:
        x, y = left + cell.column * cell_size, top + cell.row * cell_size
        sheet.paste(ImageOps.fit(image, (cell_size, cell_size), Image.Resampling.LANCZOS), (x, y))
        if cell.row == 0:
            draw.text((x + 4, 4), f"alpha/beta = {cell.ratio:g}", fill="black")  # PIL's default font has no Greek
        if cell.column == 0:
            draw.text((4, y + cell_size // 2), f"{cell.depth} style layer{'s' if cell.depth > 1 else ''}", fill="black")
    return sheet
