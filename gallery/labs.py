"""Running a style lab inside a worker: render every cell, store each as it finishes, then the sheet."""

from __future__ import annotations

import time

from django.utils import timezone

from gallery import engines, imaging
from gallery.models import StyleLab
from ml.images import open_image
from nstsite.models import TaskStatus

CHECK_EVERY = 0.25  # seconds between cancellation checks


def style_lab_execute(lab_id: int, *, worker_name: str = "") -> None:
    """Claim the lab (a cancelled or claimed one is left alone) and render its grid cell by cell."""
    from ml.style.gatys import Cancelled
    from ml.style.lab import LabCell, lab_sheet, run_lab

    if not StyleLab.claim(lab_id, worker_name=worker_name):
        return
    lab = StyleLab.objects.select_related("photo", "style").get(pk=lab_id)
    if lab.style is None or not lab.style.image:
        StyleLab.fail(lab_id, "The painting was deleted; start a new style lab.")
        return
    with lab.photo.image.open("rb") as f:
        content = open_image(f.read())
    with lab.style.image.open("rb") as f:
        painting = open_image(f.read())
    cells = [
        LabCell(int(c["row"]), int(c["column"]), int(c["depth"]), float(c["ratio"]), tuple(c["style_layers"]))
        for c in lab.cells
    ]
    last_check, cancelled = 0.0, False

    def should_stop() -> bool:
        nonlocal last_check, cancelled
        if time.monotonic() - last_check >= CHECK_EVERY:
            last_check = time.monotonic()
            cancelled = StyleLab.is_cancelled(lab_id)
        return cancelled

    stored = list(lab.cells)
    results = []
    try:
        for index, (cell, image) in enumerate(
            run_lab(
                content,
                painting,
                cells,
                network=lab.network,
                net=engines.gatys_network(lab.network),
                size=lab.cell_size,
                iterations=lab.iterations,
                device=str(engines.device()),
                should_stop=should_stop,
            )
        ):
            results.append((cell, image))
            name = lab.sheet.storage.save(
                lab.sheet.field.generate_filename(lab, "c.jpg"), imaging.encode(image, "JPEG", quality=90)
            )
            stored[index] = {**stored[index], "image": name}
            StyleLab.beat(lab_id, cells=stored, progress=min((index + 1) / len(cells), 0.99))
    except Cancelled:
        return
    sheet = imaging.encode(lab_sheet(results, cell_size=lab.cell_size), "JPEG", quality=90)
    name = lab.sheet.storage.save(lab.sheet.field.generate_filename(lab, "sheet.jpg"), sheet)
    StyleLab.objects.filter(pk=lab_id, status=TaskStatus.RUNNING).update(
        status=TaskStatus.SUCCEEDED, sheet=name, cells=stored, progress=1.0, finished_at=timezone.now()
    )
