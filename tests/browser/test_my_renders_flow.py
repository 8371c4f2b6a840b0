"""A phone photo (HEIC, and one above the pixel limit) uploaded in the browser; two renders followed
on "My renders" until a real worker finishes them (in-page notice and a browser notification);
two variants compared with the slider; the download's name; a re-run with a changed blend."""

from __future__ import annotations

import pytest
from PIL import Image

from gallery import services
from gallery.models import Photo, Render, Style, StyleKind
from tests.conftest import BROWSER_STEP_MS, PATIENCE_MS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Records each notification the page shows, then lets the browser's own Notification show it.
NOTIFICATION_SPY = """
window.__notifications = [];
if ("Notification" in window) {
  window.Notification = new Proxy(window.Notification, {
    construct(target, args) { window.__notifications.push(args[0] + " — " + (args[1] && args[1].body)); return Reflect.construct(target, args); }
  });
}
"""


def _files(tmp_path, testdata):  # type: ignore[no-untyped-def]
    photo = Image.open(testdata / "style" / "content" / "tubingen.jpg").convert("RGB")
    photo.thumbnail((480, 480))
    heic = tmp_path / "Tübingen.HEIC"
    photo.save(heic, "HEIF", quality=80)
    big = tmp_path / "PXL_20250704_big.png"
    Image.open(testdata / "style" / "content" / "flowers.jpg").convert("RGB").save(big, "PNG")  # 640×427
    return heic, big


def test_phone_photos_renders_followed_to_the_end_compared_downloaded_and_rerun(
    browser, live_server, live_worker, user, testdata, artifacts, tmp_path, settings
):
    settings.FACES_DETECT_ON_UPLOAD = False
    settings.UPLOAD_MAX_PIXELS = 200_000  # the 640×427 PNG stands in for a 48 MP phone photo
    shots = artifacts / "ui"
    shots.mkdir(exist_ok=True)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(BROWSER_STEP_MS)
    context.grant_permissions(["notifications"])
    context.add_init_script(NOTIFICATION_SPY)
    page = context.new_page()
    log_in(page, user.username)

    page.goto("/upload/")
    page.set_input_files("input[type=file]", [str(p) for p in _files(tmp_path, testdata)])
    page.wait_for_selector("#upload-done:not([hidden])")
    assert page.locator(".upload-list li.ok").count() == 2
    assert "scaled down" in page.locator(".upload-list").inner_text()
    page.screenshot(path=shots / "flow-1280-upload-heic-and-large.png", full_page=True)
    heic = Photo.objects.get(original_name="Tübingen.HEIC")
    assert heic.image.name.endswith(".jpg") and (heic.width, heic.height) == (480, 360)
    large = Photo.objects.get(original_name="PXL_20250704_big.png")
    assert large.width * large.height <= 200_000

    services.presets_sync()
    starry, waves = (Style.objects.get(kind=StyleKind.PRESET, preset_id=i) for i in (3, 9))
    first = services.render_create(owner=user, photo=heic, method="preset", blend=[(starry, 1.0)],
                                   params={"max_side": 256})  # fmt: skip
    services.render_create(owner=user, photo=heic, method="preset", blend=[(starry, 0.4), (waves, 0.6)],
                           params={"max_side": 256, "strength": 0.8})  # fmt: skip

    page.goto("/renders/")
    assert page.locator("#job-list li.job").count() == 2
    assert "left" in page.locator("#job-list").inner_text()
    page.screenshot(path=shots / "flow-1280-my-renders-working.png", full_page=True)
    # (a selector, not wait_for_function: the site's CSP forbids the eval that the latter needs)
    page.locator("#render-notices .message.success").nth(1).wait_for(timeout=PATIENCE_MS)
    assert page.locator("#job-list li.job").count() == 0
    notifications = page.evaluate("window.__notifications")
    assert len(notifications) == 2 and all("is ready" in n for n in notifications), notifications

    picks = page.locator(f"section.variants[data-photo='{heic.pk}'] input.pick")
    assert picks.count() == 3  # the original and both results, now finished
    picks.nth(1).check()
    picks.nth(2).check()
    slider = page.locator(f"section.variants[data-photo='{heic.pk}'] .compare-slot input[type=range]")
    slider.fill("30")
    clip = page.eval_on_selector(f"section.variants[data-photo='{heic.pk}'] .compare-before", "el => el.style.clipPath")
    assert clip == "inset(0px 70% 0px 0px)"
    page.screenshot(path=shots / "flow-1280-my-renders-compare.png", full_page=True)

    page.goto(f"/renders/{first.pk}/")
    with page.expect_download() as download:
        page.click("text=Download")
    assert download.value.suggested_filename == f"tubingen-{starry.name.lower().replace(' ', '-')}.jpg"
    blend = page.locator(f"#rerun input[name=weight_{starry.pk}]")
    assert blend.input_value() == "1"
    page.screenshot(path=shots / "flow-1280-render-rerun-form.png", full_page=True)
    blend.fill("0.5")
    page.click("#rerun button")
    page.wait_for_url(lambda url: f"/renders/{first.pk}/" not in url)
    rerun = Render.objects.order_by("-id").first()
    assert rerun is not None and [(rs.style_id, rs.weight) for rs in rerun.blend.all()] == [(starry.pk, 0.5)]

    # The style picker: each preset on this photo (drawn by the worker), a filter, shares, a preview.
    page.goto(f"/photos/{heic.pk}/")
    page.wait_for_selector("#preset-grid[data-ready]", timeout=PATIENCE_MS)
    tile = page.locator(f".preset[data-preset='{starry.preset_id}'] img")
    assert f"/photos/{heic.pk}/previews/{starry.preset_id}" in tile.get_attribute("src")
    page.fill(".preset-filter", starry.name.split()[0].lower())
    visible = [t for t in page.locator(".preset").all() if t.is_visible()]
    assert 0 < len(visible) < 26 and all(starry.name.split()[0] in t.inner_text() for t in visible)
    page.fill(".preset-filter", "")
    tile.click()
    page.locator(f".preset[data-preset='{waves.preset_id}'] img").click()
    page.locator(f".preset[data-preset='{waves.preset_id}'] input[type=range]").fill("0.5")
    shares = page.locator(".preset.selected output.share").all_inner_texts()
    assert sorted(shares) == ["33%", "67%"]
    page.wait_for_selector(".blend-preview:not([hidden]) canvas")  # mixed in the page at once
    page.wait_for_selector(".blend-preview[data-exact=true]", timeout=PATIENCE_MS)  # then the network's own
    page.screenshot(path=shots / "flow-1280-style-picker.png", full_page=True)

    # "Any painting": a dropped painting is ready to use at once.
    page.click(".tab[data-tab=arbitrary]")
    painting = testdata / "style" / "styles" / "starry_night.jpg"
    page.set_input_files(".painting-drop input[type=file]", str(painting))
    page.wait_for_selector("[data-panel=arbitrary] .preset-grid input[type=radio]:checked")  # after its reload
    assert page.locator("[data-panel=arbitrary]").is_visible()
    page.screenshot(path=shots / "flow-1280-any-painting-added.png", full_page=True)
    page.click("[data-panel=arbitrary] button[type=submit]")
    page.wait_for_url(lambda url: "/renders/" in url)
    assert Render.objects.order_by("-id").first().method == "arbitrary"
    context.close()

    phone = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.new_page()
    log_in(page, user.username)
    page.goto("/renders/")
    page.locator(f"section.variants[data-photo='{heic.pk}'] input.pick").nth(0).check()
    page.locator(f"section.variants[data-photo='{heic.pk}'] input.pick").nth(1).check()
    page.screenshot(path=shots / "flow-390-my-renders-compare.png", full_page=True)
    phone.close()
