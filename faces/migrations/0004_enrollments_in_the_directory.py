"""Repair: enrollment photos that ``import_people`` filed under a user's private person.

Before this fix ``enrollment_import`` looked the person up by name among *all* people, so staff
importing "Barack Obama" enrolled the photos into a user's private "Barack Obama" when one existed.
Enrolled faces are every user's references (the directory half of identification), so other
users' photos were then named after — and linked to — that user's private person.

Data, and why:

* Each private person holding enrolled faces or enrollment photos gets them moved to the
  directory person of the same name (created when there is none): they were staff's enrollment.
* Other users' faces that identification named after that private person were matched against
  those enrolled references, so they now point at the directory person instead.
* Everything the person's owner named or confirmed on their own photos stays theirs, and their
  person keeps its name; a cover that was one of the moved faces is cleared.
"""

from django.db import migrations
from django.db.models import F, Q


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    Person = apps.get_model("faces", "Person")
    Face = apps.get_model("faces", "Face")
    Upload = apps.get_model("faces", "Upload")
    PeopleEvent = apps.get_model("faces", "PeopleEvent")
    misfiled = Person.objects.filter(owner__isnull=False).filter(
        Q(faces__assignment="enrolled") | Q(uploads__purpose="enroll")
    )
    for person in misfiled.distinct():
        upload = Upload.objects.filter(person=person, purpose="enroll").order_by("id").first()
        directory = (
            Person.objects.filter(owner__isnull=True, merged_into__isnull=True, name__iexact=person.name)
            .order_by("id")
            .first()
        ) or Person.objects.create(name=person.name, created_by_id=upload.owner_id if upload else None)
        moved = list(Face.objects.filter(person=person, assignment="enrolled").values_list("pk", flat=True))
        Face.objects.filter(pk__in=moved).update(person=directory)
        Upload.objects.filter(person=person, purpose="enroll").update(person=directory)
        Face.objects.filter(person=person).exclude(owner_id=F("person__owner_id")).update(person=directory)
        PeopleEvent.objects.filter(person=person, action="enroll").update(person=directory, owner_id=None)
        if person.cover_id in moved:
            Person.objects.filter(pk=person.pk).update(cover=None)
        if directory.cover_id is None and moved:
            Person.objects.filter(pk=directory.pk).update(cover_id=moved[0])


class Migration(migrations.Migration):
    dependencies = [("faces", "0003_owners")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
