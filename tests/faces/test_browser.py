"""In a real browser: staff enrolls people from photos; a user uploads a group photo through the
gallery's upload page and sees named and "unknown" boxes over it, then corrects one."""

from __future__ import annotations

import pytest

from faces.models import Assignment, Face, Person
from gallery.models import Photo
from tests.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_enrolls_people_and_a_user_sees_names_on_a_group_photo(
    page, staff_user, user, faces_dir, group_dir, run_worker, artifacts
):
    log_in(page, staff_user.username)
    for name, folder, count in [("Barack Obama", "barack_obama", 3), ("Joe Biden", "joe_biden", 2)]:
        page.goto("/faces/directory/")
        page.click("#add-person summary")
        page.fill("#add-person input[name=name]", name)
        page.set_input_files(
            "#add-person input[name=photos]", [str(p) for p in sorted((faces_dir / folder).glob("*.jpg"))[:count]]
        )
        page.click("#add-person button.button")
        page.wait_for_url("**/faces/directory/*/")
        assert page.locator("#pending").is_visible()  # scans queued, shown while they run
        run_worker("faces")
        page.locator(".face-cell").nth(count - 1).wait_for()  # faces.js reloads the page once the scans finish
        assert page.locator(".face-cell").count() == count
    page.screenshot(path=str(artifacts / "faces-person-enrolled.png"), full_page=True)
    page.goto("/faces/directory/")
    assert page.locator(".person-tile").count() == 2
    page.screenshot(path=str(artifacts / "faces-people.png"), full_page=True)
    page.context.clear_cookies()

    # The user uploads through the gallery's own upload page (which queues the face scan).
    log_in(page, user.username)
    page.goto("/upload/")
    page.set_input_files("#id_images", str(group_dir / "face_recognition__obama_and_biden.jpg"))
    page.wait_for_selector("#upload-done:not([hidden])")
    run_worker("faces")
    photo = Photo.objects.get(owner=user)
    page.goto(f"/faces/photos/{photo.pk}/")
    labels = page.locator(".face-box .face-label").all_inner_texts()
    page.screenshot(path=str(artifacts / "faces-group-photo.png"), full_page=True)
    assert "Barack Obama" in labels and "Joe Biden" in labels, labels
    assert "unknown" in labels, labels  # the child (and anyone else) is not enrolled
    assert len(labels) == len(set(labels) - {"unknown"}) + labels.count("unknown")  # no name twice

    # The owner says one named face is someone else: the name goes, and stays gone.
    biden_face = Face.objects.get(photo=photo, person__name="Joe Biden")
    page.locator(f".face-item[data-face='{biden_face.pk}'] button", has_text="Not Joe Biden").click()
    page.wait_for_load_state()
    assert "Joe Biden" not in page.locator(".face-box .face-label").all_inner_texts()
    biden_face.refresh_from_db()
    assert Person.objects.get(name="Joe Biden") in biden_face.rejected.all()
    # …and names it back, which confirms it for good.
    page.locator(f".face-item[data-face='{biden_face.pk}'] input[name=name]").fill("Joe Biden")
    page.locator(f".face-item[data-face='{biden_face.pk}'] .assign button").click()
    page.wait_for_load_state()
    biden_face.refresh_from_db()
    assert biden_face.assignment == Assignment.CONFIRMED
    page.screenshot(path=str(artifacts / "faces-group-photo-corrected.png"), full_page=True)

    # The gallery's photo page shows the same boxes through the template tag.
    page.goto(f"/photos/{photo.pk}/")
    assert "Barack Obama" in page.locator(".face-box .face-label").all_inner_texts()
    page.screenshot(path=str(artifacts / "faces-gallery-photo.png"), full_page=True)


def _upload(page, path) -> None:  # type: ignore[no-untyped-def]
    page.goto("/upload/")
    page.set_input_files("#id_images", str(path))
    page.wait_for_selector("#upload-done:not([hidden])")


def test_a_user_names_a_face_and_their_next_photo_of_him_is_named_without_a_button(
    page, user, faces_dir, group_dir, run_worker, artifacts
):
    log_in(page, user.username)
    _upload(page, faces_dir / "barack_obama" / "2.jpg")  # a photo without him, for the filter
    _upload(page, group_dir / "face_recognition__kit_with_rose.jpg")
    run_worker("faces")
    group = Photo.objects.get(owner=user, original_name="face_recognition__kit_with_rose.jpg")
    page.goto(f"/faces/photos/{group.pk}/")
    assert page.locator(".face-box .face-label").all_inner_texts() == ["unknown", "unknown"]
    # One tap: "Who is this?" with a new name creates the person — no staff, no directory.
    kit_face = Face.objects.filter(photo=group).order_by("-x1").first()
    page.locator(f".face-item[data-face='{kit_face.pk}'] input[name=name]").fill("Kit")
    page.locator(f".face-item[data-face='{kit_face.pk}'] .assign button").click()
    page.wait_for_load_state()
    assert "Kit" in page.locator(".face-box .face-label").all_inner_texts()
    page.screenshot(path=str(artifacts / "faces-owner-named-in-group.png"), full_page=True)

    # A new photo of him: the page follows the scan and shows his name by itself.
    _upload(page, faces_dir / "kit_harington" / "1.jpg")
    later = Photo.objects.get(owner=user, original_name="1.jpg")
    page.goto(f"/faces/photos/{later.pk}/")
    run_worker("faces")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.face-box .face-label')).some(e => e.textContent.trim() == 'Kit')"
    )
    page.screenshot(path=str(artifacts / "faces-owner-named-automatically.png"), full_page=True)

    # My people: Kit with his cover face and 2 photos; his page lists both photos.
    page.goto("/faces/people/")
    tile = page.locator(".person-tile", has_text="Kit")
    assert "2 photos" in tile.inner_text()
    tile.click()
    page.wait_for_url("**/faces/people/*/")
    assert page.locator(".person-photos .tile").count() == 2
    page.screenshot(path=str(artifacts / "faces-owner-person-page.png"), full_page=True)

    # The gallery, filtered by him: the two photos he is in, not the third.
    page.goto("/")
    assert page.locator(".grid .tile img[alt]").count() >= 3
    page.locator(".people-filter label", has_text="Kit").click()
    page.locator(".people-filter button").click()
    page.wait_for_url("**/?person=*")
    names = sorted(page.locator("main .grid").last.locator(".tile img").evaluate_all("els => els.map(e => e.alt)"))
    assert names == ["1.jpg", "face_recognition__kit_with_rose.jpg"], names
    page.screenshot(path=str(artifacts / "faces-owner-gallery-filter.png"), full_page=True)
