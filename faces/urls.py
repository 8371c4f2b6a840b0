from django.urls import path

from faces import files, staff_views, views

app_name = "faces"
urlpatterns = [
    path("", views.home, name="home"),
    path("identify/", views.identify, name="identify"),
    path("scans/<int:pk>/", views.scan, name="scan"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("photos/<int:pk>/image", files.photo_image, name="photo-image"),
    path("photos/<int:pk>/scan/", views.photo_scan, name="photo-scan"),
    path("uploads/<int:pk>/image", files.upload_image, name="upload-image"),
    path("crops/<int:pk>.jpg", files.crop, name="crop"),
    path("faces/<int:pk>/confirm/", views.face_confirm, name="face-confirm"),
    path("faces/<int:pk>/reject/", views.face_reject, name="face-reject"),
    path("faces/<int:pk>/assign/", views.face_assign, name="face-assign"),
    path("faces/<int:pk>/share/", views.face_share, name="face-share"),
    path("people/", views.people, name="people"),
    path("people/<int:pk>/", views.person, name="person"),
    path("people/<int:pk>/delete/", views.person_delete, name="person-delete"),
    path("people/<int:pk>/link/", views.person_link, name="person-link"),
    path("groups/<int:pk>/<str:decision>/", views.group_decide, name="group-decide"),
    path("changes/<int:pk>/undo/", views.event_undo, name="my-event-undo"),
    path("settings/", views.face_settings, name="settings"),
    path("verify/", views.verify, name="verify"),
    path("verify/<int:pk>/", views.verification, name="verification"),
    # staff
    path("directory/", staff_views.people, name="directory"),
    path("directory/<int:pk>/", staff_views.person, name="directory-person"),
    path("directory/<int:pk>/enroll/", staff_views.person_enroll, name="directory-enroll"),
    path("directory/<int:pk>/merge/", staff_views.person_merge, name="directory-merge"),
    path("directory/<int:pk>/delete/", staff_views.person_delete, name="directory-delete"),
    path("faces/<int:pk>/enroll/", staff_views.enroll_choose, name="enroll-choose"),
    path("faces/<int:pk>/enroll-shared/", staff_views.shared_enroll, name="shared-enroll"),
    path("history/", staff_views.events, name="events"),
    path("history/<int:pk>/undo/", staff_views.event_undo, name="event-undo"),
    path("suggestions/", staff_views.suggestions, name="suggestions"),
    path("suggestions/<int:pk>/<str:decision>/", staff_views.suggestion_decide, name="suggestion-decide"),
    path("thresholds/", staff_views.thresholds, name="thresholds"),
    path("calibrations/<int:pk>/roc.png", files.calibration_roc, name="calibration-roc"),
]
