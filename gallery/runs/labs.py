"""Running a style lab inside a worker: render every cell, store each as it finishes, then the sheet."""

from __future__ import annotations

import time

from gallery import engines
from gallery.models import StyleLab
from nstsite import uploads
from nstsite.files import open_stored_image

CHECK_EVERY = 0.25  # seconds between cancellation checks


def style_lab_execute(lab_id: int) -> None:
    """Render a claimed lab's grid cell by cell (the job, nstsite.jobs.run_task, claims it)."""
    from ml.style.gatys import Cancelled
    from ml.style.lab import LabCell, lab_sheet, run_lab

    lab = StyleLab.objects.select_related("photo", "style").get(pk=lab_id)
    if lab.style is None or not lab.style.image:
        StyleLab.fail(lab_id, "The painting was deleted; start a new style lab.")
        return
    content = open_stored_image(lab.photo.image)
    painting = open_stored_image(lab.style.image)
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
                lab.sheet.field.generate_filename(lab, "c.jpg"), uploads.encode(image, "JPEG", quality=90)
            )
            stored[index] = {**stored[index], "image": name}
            StyleLab.beat(lab_id, cells=stored, progress=min((index + 1) / len(cells), 0.99))
    except Cancelled:
        return
    sheet = uploads.encode(lab_sheet(results, cell_size=lab.cell_size), "JPEG", quality=90)
    name = lab.sheet.storage.save(lab.sheet.field.generate_filename(lab, "sheet.jpg"), sheet)
    StyleLab.succeed(lab_id, sheet=name, cells=stored)
