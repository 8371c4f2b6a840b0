"""Every page on a 360 px phone without sideways scrolling, face names that cover no other face,
a menu a keyboard and a screen reader can use, and an axe-core run with no serious violations
(the landing page with its before/after examples included).

One test builds a realistic account once (a photo with a long name, a finished render, faces,
a one-off identification, a verification; people and history for staff) and walks every page.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gallery import services as gallery_services
from gallery.models import Style, StyleKind
from nstsite.models import TaskStatus
from tests.conftest import BROWSER_STEP_MS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"  # axe-core 4.14.1
LONG_NAME = "IMG_20240817_142311_HDR_holiday_in_the_mountains_with_the_whole_family_final_v2.jpg"
PHONE = {"width": 360, "height": 740}
IPHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# ``width`` is the device's: a phone browser widens its layout viewport (innerWidth) to fit content
# that overflows, so innerWidth itself cannot tell.
OVERFLOW_JS = """(width) => {
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > width + 1 && getComputedStyle(el).position !== 'fixed') {
      wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && el.className.baseVal === undefined ? '.' + String(el.className).trim().replace(/\\s+/g, '.') : '') + ' → ' + Math.round(r.right));
    }
  }
  return {scroll: Math.max(document.documentElement.scrollWidth, window.innerWidth), width, wide: wide.slice(0, 8)};
}"""

LABELS_JS = """() => {
  const hit = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const boxes = [...document.querySelectorAll('.face-figure .face-box')];
  const labels = boxes.map(b => b.querySelector('.face-label'));
  const bad = [];
  labels.forEach((label, i) => {
    const r = label.getBoundingClientRect();
    boxes.forEach((box, j) => { if (j !== i && hit(r, box.getBoundingClientRect())) bad.push(`label ${i} covers box ${j}`); });
    labels.forEach((other, j) => { if (j > i && hit(r, other.getBoundingClientRect())) bad.push(`label ${i} covers label ${j}`); });
  });
  return {count: boxes.length, outside: labels.filter(l => l.classList.contains('outside')).length, bad};
}"""


def _small_jpeg(path: Path, side: int = 640) -> bytes:
    import io

    image = Image.open(path).convert("RGB")
    image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@pytest.fixture
def account(user, staff_user, testdata, run_worker, settings):  # type: ignore[no-untyped-def]
    """A user with a long-named photo, a finished render, scanned faces, an identification and a
    verification; staff with a person (so people, history and thresholds have content)."""
    from faces.models import Verification
    from faces.services import face_scan_create, person_create, upload_create, verification_create

    settings.FACES_DETECT_ON_UPLOAD = False
    gallery_services.presets_sync()
    content = _small_jpeg(testdata / "style" / "content" / "tubingen.jpg")
    photo, _ = gallery_services.photo_create(owner=user, upload=SimpleUploadedFile(LONG_NAME, content))
    preset = Style.objects.get(kind=StyleKind.PRESET, preset_id=3)
    render = gallery_services.render_create(
        owner=user, photo=photo, method="preset", blend=[(preset, 1.0)], params={"max_side": 256}
    )

    obama = person_create(name="Barack Obama", actor=staff_user)
    for path in sorted((testdata / "faces" / "barack_obama").glob("*.jpg"))[:2]:
        enroll = upload_create(owner=staff_user, file=path.read_bytes(), purpose="enroll", person=obama, name=path.name)
        face_scan_create(upload=enroll)
    crowd_bytes = (testdata / "faces_group" / "deepface__selfie-many-people.jpg").read_bytes()
    crowd, _ = gallery_services.photo_create(owner=user, upload=SimpleUploadedFile("friends.jpg", crowd_bytes))
    face_scan_create(photo=crowd)
    two = (testdata / "faces_group" / "face_recognition__two_people.jpg").read_bytes()
    upload = upload_create(owner=user, file=two, purpose="identify", name="who-is-this.jpg")
    scan = face_scan_create(upload=upload)
    a = upload_create(owner=user, file=sorted((testdata / "faces" / "barack_obama").glob("*.jpg"))[2].read_bytes(),
                      purpose="identify", name="a.jpg")  # fmt: skip
    verification = verification_create(owner=user, upload_a=a, person=obama)
    mine = person_create(name="Aunt May", actor=user, owner=user)
    style_jpeg = _small_jpeg(testdata / "style" / "styles" / "starry_night.jpg", side=256)
    painting = gallery_services.style_create(owner=user, upload=SimpleUploadedFile("starry.jpg", style_jpeg))
    # A style lab at its real cell size (one iteration each: the grid's layout is what is checked).
    lab = gallery_services.style_lab_create(owner=user, photo=photo, style=painting, cell_size=160, iterations=1)
    run_worker("faces", "style")
    from gallery.runs.landing import landing_examples_render

    landing_examples_render(folder=testdata, max_side=240)  # the visitors' landing page shows them
    render.refresh_from_db()
    assert render.status == TaskStatus.SUCCEEDED, render.error
    lab.refresh_from_db()
    assert lab.status == TaskStatus.SUCCEEDED, lab.error
    assert Verification.objects.get(pk=verification.pk).status == TaskStatus.SUCCEEDED
    return {"photo": photo, "crowd": crowd, "render": render, "scan": scan, "verification": verification,
            "person": obama, "mine": mine, "lab": lab}  # fmt: skip


def _user_pages(account) -> list[str]:  # type: ignore[no-untyped-def]
    photo, crowd = account["photo"].pk, account["crowd"].pk
    return [
        "/", "/upload/", f"/photos/{photo}/", f"/photos/{crowd}/", f"/renders/{account['render'].pk}/", "/renders/",
        "/styles/", "/faces/", f"/faces/photos/{crowd}/", f"/faces/scans/{account['scan'].pk}/", "/faces/verify/",
        f"/faces/verify/{account['verification'].pk}/", "/accounts/profile/", "/accounts/password_change/",
        "/no-such-page/", "/faces/people/", f"/faces/people/{account['mine'].pk}/", f"/labs/{account['lab'].pk}/",
    ]  # fmt: skip


STAFF_PAGES = ["/faces/directory/", "/faces/history/", "/faces/suggestions/", "/faces/thresholds/"]
VISITOR_PAGES = ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password_reset/", "/no-such-page/"]
# The pages a person meets most: checked with axe-core on a phone and on a desktop.
AXE_PAGES = {"/", "/upload/", "/renders/", "/faces/", "/accounts/login/", "/faces/people/", "/faces/directory/"}


# Under the site's real CSP: any inline handler or script the policy refused, on any page, fails.
INLINE_HANDLERS_JS = """() => [...document.querySelectorAll('*')].flatMap(el => [...el.attributes]
  .filter(a => a.name.startsWith('on')).map(a => el.tagName.toLowerCase() + '[' + a.name + ']'))"""
# Every button that deletes or revokes something asks first (static/js/confirm.js).
UNASKED_JS = """() => [...document.querySelectorAll('form[method=post]')].filter(f => !f.dataset.confirm
  && [...f.querySelectorAll('button')].some(b => /^(delete|revoke|remove)/i.test(b.textContent.trim() || b.title)))
  .map(f => f.getAttribute('action') || '(this page)')"""


def _axe(page) -> list[str]:  # type: ignore[no-untyped-def]
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return [f"{v['impact']}: {v['id']} ({v['help']}) at {v['nodes']}" for v in violations
            if v["impact"] in ("serious", "critical")]  # fmt: skip


def _walk(browser, live_server, username, pages, viewport, shots: Path, prefix: str, *, axe_pages=()):  # type: ignore[no-untyped-def]
    # The site's CSP stays on: axe-core comes in as an init script, which the policy does not govern.
    context = browser.new_context(base_url=live_server.url, viewport=viewport, is_mobile=viewport["width"] < 500)
    context.add_init_script(path=str(AXE))
    context.set_default_timeout(BROWSER_STEP_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"{page.url}: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    if username:
        log_in(page, username)
    for url in pages:
        page.goto(url)
        page.wait_for_load_state("load")
        page.wait_for_timeout(150)  # let face-labels.js place the names after the image loaded
        result = page.evaluate(OVERFLOW_JS, viewport["width"])
        if result["scroll"] > result["width"]:
            problems.append(f"{url} at {viewport['width']} px is {result['scroll']} px wide: {result['wide']}")
        labels = page.evaluate(LABELS_JS)
        problems += [f"{url} at {viewport['width']} px: {bad}" for bad in labels["bad"]]
        problems += [f"{url}: inline handler {h}" for h in page.evaluate(INLINE_HANDLERS_JS)]
        problems += [f"{url}: deletes without asking: {a}" for a in page.evaluate(UNASKED_JS)]
        if url in axe_pages:
            problems += [f"{url} ({viewport['width']} px) {v}" for v in _axe(page)]
        name = url.strip("/").replace("/", "_") or "home"
        page.screenshot(path=shots / f"{prefix}-{viewport['width']}-{name}.png", full_page=True)
    context.close()
    return problems


def test_every_page_fits_a_phone_keeps_names_off_other_faces_and_passes_axe(
    browser, live_server, account, user, staff_user, artifacts
):
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256
    shots = artifacts / "ui"
    shots.mkdir(exist_ok=True)
    problems = []
    problems += _walk(browser, live_server, None, VISITOR_PAGES, PHONE, shots, "visitor", axe_pages=AXE_PAGES)
    problems += _walk(browser, live_server, None, ["/"], DESKTOP, shots, "visitor", axe_pages=AXE_PAGES)
    problems += _walk(browser, live_server, user.username, _user_pages(account), PHONE, shots, "user",
                      axe_pages=AXE_PAGES)  # fmt: skip
    problems += _walk(browser, live_server, staff_user.username, [*STAFF_PAGES, f"/faces/directory/{account['person'].pk}/"],
                      PHONE, shots, "staff", axe_pages=AXE_PAGES)  # fmt: skip
    main = ["/", f"/photos/{account['photo'].pk}/", f"/photos/{account['crowd'].pk}/", "/renders/", "/faces/",
            f"/labs/{account['lab'].pk}/"]  # fmt: skip
    problems += _walk(browser, live_server, user.username, main, DESKTOP, shots, "user", axe_pages=AXE_PAGES)
    assert not problems, "\n".join(problems)


def test_the_menu_is_a_button_for_keyboards_and_screen_readers_and_works_without_javascript(
    browser, live_server, user, artifacts
):
    context = browser.new_context(base_url=live_server.url, viewport=IPHONE, is_mobile=True)
    page = context.new_page()
    log_in(page, user.username)
    page.goto("/upload/")
    button = page.get_by_role("button", name="Menu")
    assert button.get_attribute("aria-expanded") == "false" and button.get_attribute("aria-controls") == "site-nav"
    assert page.locator("#site-nav").is_hidden()
    page.keyboard.press("Tab")  # the brand link
    page.keyboard.press("Tab")  # the menu button
    assert page.evaluate("document.activeElement.id") == "nav-button"
    page.keyboard.press("Enter")
    assert button.get_attribute("aria-expanded") == "true"
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="My renders").is_visible()
    page.screenshot(path=artifacts / "ui" / "phone-menu-open.png")
    page.keyboard.press("Escape")
    assert button.get_attribute("aria-expanded") == "false" and page.locator("#site-nav").is_hidden()
    assert page.evaluate("document.activeElement.id") == "nav-button"
    context.close()

    plain = browser.new_context(base_url=live_server.url, viewport=IPHONE, is_mobile=True, java_script_enabled=False)
    page = plain.new_page()
    page.goto("/accounts/login/")
    assert page.locator("#nav-button").is_hidden()
    assert page.locator("#site-nav").get_by_role("link", name="Sign up").is_visible()  # the links stay reachable
    page.screenshot(path=artifacts / "ui" / "phone-menu-no-javascript.png")
    plain.close()
