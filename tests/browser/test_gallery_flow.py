"""The gallery as a person uses it, in headless Chromium against a live server and a real worker."""

from __future__ import annotations

import time

import pytest

from gallery import services
from gallery.models import Photo, Render
from tests.conftest import PASSWORD, PATIENCE, PATIENCE_MS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_upload_stylize_compare_and_delete(page, live_worker, testdata, artifacts, settings):
    settings.FACES_DETECT_ON_UPLOAD = False
    services.presets_ensure_thumbnails()  # the worker draws them first, as on `make run`
    shots = artifacts / "gallery"
    shots.mkdir(exist_ok=True)

    page.goto("/")
    page.screenshot(path=shots / "01-landing.png")
    page.click("text=Create a free account")
    page.fill("input[name=username]", "painter")
    page.fill("input[name=email]", "painter@example.com")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.screenshot(path=shots / "02-signup.png")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Welcome, painter")
    page.click("text=Log out")
    page.wait_for_selector("text=Create a free account")  # logged out: back on the landing page
    log_in(page, "painter")
    assert page.locator(".nav >> text=painter").is_visible()
    page.screenshot(path=shots / "02b-logged-in.png")
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock-tag")  # the interactive docs loaded the schema
    page.screenshot(path=shots / "02c-api-docs.png")

    page.goto("/upload/")
    page.set_input_files("input[type=file]", [str(testdata / "style" / "content" / "golden_gate.jpg"),
                                              str(testdata / "style" / "content" / "flowers.jpg")])  # fmt: skip
    page.wait_for_selector("#upload-done:not([hidden])")
    assert page.locator(".upload-list li.ok").count() == 2
    page.screenshot(path=shots / "03-uploaded.png", full_page=True)
    page.click(".upload-list li.ok a >> nth=0")
    page.wait_for_selector("#stylize")
    # Wait until the worker has drawn the preset thumbnails, then pick one by its picture.
    deadline = time.monotonic() + PATIENCE  # on a loaded CI machine the worker first warms its models
    while page.locator(".preset img").count() < 26 and time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        page.reload()
    page.click(".preset[data-preset='3'] img")
    page.screenshot(path=shots / "04-photo-and-presets.png", full_page=True)
    page.click("[data-panel=preset] button[type=submit]")

    page.wait_for_selector("#render-live")
    page.screenshot(path=shots / "05-progress.png")
    page.wait_for_selector("#compare-slider", timeout=PATIENCE_MS)
    render = Render.objects.get()
    assert render.status == "succeeded"
    page.screenshot(path=shots / "06-result.png", full_page=True)
    page.locator("#compare-slider").fill("15")
    clip = page.eval_on_selector("#compare-before", "el => el.style.clipPath")
    assert clip == "inset(0px 85% 0px 0px)"
    page.screenshot(path=shots / "07-compare-slider.png")

    # Deleting asks first, in the site's own dialog; Cancel keeps everything.
    page.click("#delete-render")
    dialog = page.locator("dialog.confirm-dialog")
    dialog.wait_for()
    assert dialog.get_by_text("Delete this render?").is_visible()
    page.screenshot(path=shots / "08-delete-dialog.png")
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="detached")
    assert Render.objects.exists()
    page.click("#delete-render")
    dialog.get_by_role("button", name="Delete render").click()
    page.wait_for_selector("text=Render deleted.")
    assert not Render.objects.exists()
    page.click("button:has-text('Delete photo')")
    dialog.get_by_role("button", name="Delete photo").click()
    page.wait_for_selector("text=Photo deleted")
    assert Photo.objects.count() == 1
    page.screenshot(path=shots / "09-after-delete.png", full_page=True)


def test_the_pages_work_on_a_phone(browser, live_server, user, artifacts):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    log_in(page, user.username)
    page.goto("/upload/")
    assert page.locator(".nav").is_hidden()  # collapsed behind the menu button
    page.click("#nav-button")
    assert page.locator(".nav").is_visible()
    page.screenshot(path=artifacts / "gallery-phone-menu.png")
    context.close()


def _upload(name: str, path) -> object:  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, path.read_bytes(), content_type="image/jpeg")


@pytest.fixture
def fresh_install(settings, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """No VGG19 download and random VGG weights off, for this process and the worker started after it."""
    settings.STYLE_GATYS_RANDOM_WEIGHTS = False
    monkeypatch.setenv("NSTSITE_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


def test_a_gatys_draft_renders_through_the_page_on_the_offline_network(
    fresh_install, page, live_worker, user, testdata, artifacts, tmp_path
):
    # MobileNet-v2 ships offline: Gatys runs on it; the worker advertises no VGG19.
    photo, _ = services.photo_create(
        owner=user, upload=_upload("tubingen.jpg", testdata / "style/content/tubingen.jpg")
    )
    services.style_create(owner=user, upload=_upload("starry.jpg", testdata / "style/styles/starry_night.jpg"))
    shots = artifacts / "gallery"
    shots.mkdir(exist_ok=True)

    log_in(page, user.username)
    page.goto(f"/photos/{photo.pk}/")
    page.click("button[data-tab=gatys]")
    panel = page.locator("#gatys-form")
    assert page.locator("#network").input_value() == "mobilenet-v2"
    assert page.locator("#network option[value=vgg19]").is_disabled()
    text = panel.inner_text()
    assert "No worker can run Gatys with VGG19 right now" in text
    assert ".pth" not in text  # no file names or paths for ordinary users
    assert "fetch_models" not in text and str(tmp_path) not in text
    assert page.locator("#gatys-start").is_enabled()
    assert page.locator("#lab-start").is_visible()  # the style lab is offered beside it
    page.wait_for_selector("#estimate:has-text('About')")  # (the CSP forbids wait_for_function's eval)
    page.click("#gatys-advanced > summary")
    page.fill("[name=size]", "128")
    page.fill("[name=iterations]", "8")
    page.screenshot(path=shots / "10-gatys-options.png", full_page=True)
    with page.expect_navigation(timeout=PATIENCE_MS):
        page.click("#gatys-start")
    if "/renders/" not in page.url:  # refused: say why instead of waiting out the patience
        errors = page.locator(".message.error").all_inner_texts()
        raise AssertionError(f"the render was not started ({page.url}): {errors}")

    page.wait_for_selector("#compare-slider", timeout=PATIENCE_MS)
    render = Render.objects.get()
    assert render.status == "succeeded", render.error
    assert render.params["network"] == "mobilenet-v2" and "random" not in render.device
    assert max(render.width, render.height) == 128
    assert "on mobilenet-v2" in page.locator("main").inner_text()
    page.screenshot(path=shots / "11-gatys-result.png", full_page=True)
