from django.urls import path

from faces import staff_views, views

app_name = "faces"
urlpatterns = [
    path("", views.home, name="home"),
    path("identify/", views.identify, name="identify"),
    path("scans/<int:pk>/", views.scan, name="scan"),
    path("scans/<int:pk>/status", views.scan_status, name="scan_status"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("photos/<int:pk>/image", views.photo_image, name="photo_image"),
    path("photos/<int:pk>/scan/", views.photo_scan, name="photo_scan"),
    path("uploads/<int:pk>/image", views.upload_image, name="upload_image"),
    path("crops/<int:pk>.jpg", views.crop, name="crop"),
    path("faces/<int:pk>/confirm/", views.face_confirm, name="face_confirm"),
    path("faces/<int:pk>/reject/", views.face_reject, name="face_reject"),
    path("faces/<int:pk>/assign/", views.face_assign, name="face_assign"),
    path("verify/", views.verify, name="verify"),
    path("verify/<int:pk>/", views.verification, name="verification"),
    path("verify/<int:pk>/status", views.verification_status, name="verification_status"),
    # staff
    path("people/", staff_views.people, name="people"),
    path("people/<int:pk>/", staff_views.person, name="person"),
    path("people/<int:pk>/enroll/", staff_views.person_enroll, name="person_enroll"),
    path("people/<int:pk>/merge/", staff_views.person_merge, name="person_merge"),
    path("people/<int:pk>/delete/", staff_views.person_delete, name="person_delete"),
    path("faces/<int:pk>/enroll/", staff_views.enroll_choose, name="enroll_choose"),
    path("history/", staff_views.events, name="events"),
    path("history/<int:pk>/undo/", staff_views.event_undo, name="event_undo"),
    path("suggestions/", staff_views.suggestions, name="suggestions"),
    path("suggestions/<int:pk>/<str:decision>/", staff_views.suggestion_decide, name="suggestion_decide"),
    path("thresholds/", staff_views.thresholds, name="thresholds"),
    path("calibrations/<int:pk>/roc.png", staff_views.calibration_roc, name="calibration_roc"),
]
