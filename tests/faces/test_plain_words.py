"""Users read plain words about their faces; distances and thresholds are shown to staff only."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_users_see_words_and_staff_see_the_numbers(client, user, staff_user, faces_dir, group_dir, enroll, scan_photo):
    enroll(staff_user, "Barack Obama", sorted((faces_dir / "barack_obama").glob("*.jpg"))[:2])
    group = group_dir / "face_recognition__two_people.jpg"
    mine = scan_photo(user, group)
    theirs = scan_photo(staff_user, group)

    client.force_login(user)
    page = client.get(f"/photos/{mine.pk}/").content.decode()
    assert "Barack Obama" in page and "recognised automatically" in page
    for jargon in ("cosine", "distance", "threshold", "score"):
        assert jargon not in page.lower(), jargon

    client.force_login(staff_user)
    page = client.get(f"/photos/{theirs.pk}/").content.decode()
    assert "unknown above cosine distance" in page and "· distance 0." in page
