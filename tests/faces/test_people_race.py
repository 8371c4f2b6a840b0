"""Editing a person while someone deletes them is a 404, never a 500."""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction

from faces.models import Person

pytestmark = pytest.mark.django_db(transaction=True)


def test_patching_a_person_that_a_concurrent_request_deletes_is_a_404(api_client, staff_user):
    person = Person.objects.create(name="Ada")
    deleting, done = threading.Event(), threading.Event()

    def _delete_slowly() -> None:
        try:
            with transaction.atomic():
                Person.objects.filter(pk=person.pk).delete()
                deleting.set()
                done.wait(1.5)  # hold the row lock while the PATCH arrives, then commit
        finally:
            connections.close_all()

    thread = threading.Thread(target=_delete_slowly)
    thread.start()
    assert deleting.wait(10)
    api_client.force_authenticate(staff_user)
    response = api_client.patch(f"/api/v1/people/{person.pk}/", {"name": "Ada L."}, format="json")
    done.set()
    thread.join()
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert not Person.objects.filter(pk=person.pk).exists()
