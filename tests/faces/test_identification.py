"""Identification end to end: enrollment and scans through the real worker, SQL on the HNSW index."""

from __future__ import annotations

import pytest

from faces.models import Assignment, Face, FaceScan, Upload

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_group_photo_gets_the_enrolled_names_and_no_name_twice(
    staff_user, user, faces_dir, group_dir, enroll, scan_photo
):
    obama = enroll(staff_user, "Barack Obama", sorted((faces_dir / "barack_obama").glob("*.jpg"))[:3])
    biden = enroll(staff_user, "Joe Biden", sorted((faces_dir / "joe_biden").glob("*.jpg")))
    assert Face.objects.filter(person=obama, assignment=Assignment.ENROLLED).count() == 3
    assert Face.objects.filter(person=biden, assignment=Assignment.ENROLLED).count() == 2

    photo = scan_photo(user, group_dir / "face_recognition__two_people.jpg")
    scan = FaceScan.objects.get(photo=photo)
    assert scan.status == "succeeded", scan.error
    faces = list(Face.objects.filter(photo=photo).order_by("x1"))
    assert len(faces) == 2
    assert [f.person for f in faces] == [obama, biden]  # Obama left, Biden right
    assert all(f.assignment == Assignment.AUTO and f.distance <= scan.threshold for f in faces)
    assert scan.embedder == "facenet-casia-webface" and all(f.embedder == scan.embedder for f in faces)  # the default
    assert all(f.owner == user and f.crop for f in faces)


ENROLLED = [
    "angelina_jolie", "ariel_sharon", "arnold_schwarzenegger", "colin_powell", "george_clooney", "george_w_bush",
    "halle_berry", "jackie_chan", "jennifer_aniston", "katy_perry", "leonardo_dicaprio", "matt_damon",
]  # fmt: skip
NOT_ENROLLED = [
    "jack_dorsey", "mark_zuckerberg", "nicole_kidman", "scarlett_johansson", "serena_williams", "tony_blair",
    "venus_williams", "vladimir_putin", "yao_ming",
]  # fmt: skip
ENROLL_PER_PERSON = 3


def _photos(folder):  # type: ignore[no-untyped-def]
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")), key=lambda p: p.name)


def _main_face(photo):  # type: ignore[no-untyped-def]
    faces = list(Face.objects.filter(photo=photo))
    return max(faces, key=lambda f: (f.x2 - f.x1) * (f.y2 - f.y1)) if faces else None


def test_enrolled_people_are_identified_and_strangers_come_back_unknown(
    staff_user, user, faces_dir, enroll, scan_photo, run_worker, artifacts
):
    from faces import conf
    from faces.services import threshold_for

    people = {}
    for name in ENROLLED:
        people[name] = enroll(staff_user, name, _photos(faces_dir / name)[:ENROLL_PER_PERSON], run=False)
    run_worker("faces")
    # Press photos with people behind: staff picks the face (here the largest), as on the person page.
    from faces.services import enroll_choose

    for upload in Upload.objects.filter(purpose="enroll"):
        faces = list(upload.faces.all())
        if len(faces) > 1 and not any(f.person_id for f in faces):
            enroll_choose(face=max(faces, key=lambda f: (f.x2 - f.x1) * (f.y2 - f.y1)), actor=staff_user)
    assert Face.objects.filter(assignment=Assignment.ENROLLED).count() >= len(ENROLLED) * ENROLL_PER_PERSON - 1
    assert Face.objects.filter(upload__purpose="enroll", person__isnull=True).count() == 0  # bystanders dropped

    probes = [(name, p) for name in ENROLLED for p in _photos(faces_dir / name)[ENROLL_PER_PERSON:]]
    strangers = [(name, p) for name in NOT_ENROLLED for p in _photos(faces_dir / name)]
    photos = [(name, scan_photo(user, path, run=False)) for name, path in probes + strangers]
    run_worker("faces")

    right = wrong = missed = rejected = accepted = no_face = 0
    for name, photo in photos:
        face = _main_face(photo)
        if face is None:
            no_face += 1
            continue
        identified = face.assignment == Assignment.AUTO
        if name in people:
            if identified and face.person == people[name]:
                right += 1
            elif identified:
                wrong += 1
            else:
                missed += 1
        else:
            rejected += not identified
            accepted += identified
    known = right + wrong + missed
    top1 = right / known
    unknown_rate = rejected / (rejected + accepted)
    report = (
        f"{conf.embedder_name()}, threshold {threshold_for(conf.embedder_name()).value:.4f} "
        f"({threshold_for(conf.embedder_name()).source}); "
        f"enrolled probes: {right}/{known} top-1 correct ({top1:.1%}), {wrong} wrong person, {missed} unknown; "
        f"not-enrolled: {rejected}/{rejected + accepted} unknown ({unknown_rate:.1%}); {no_face} photos without a face"
    )
    (artifacts / "faces-identification.txt").write_text(report + "\n")
    print(report)
    assert FaceScan.objects.exclude(status="succeeded").count() == 0
    assert top1 >= 0.85, report
    assert wrong <= 2, report
    assert unknown_rate >= 0.85, report
