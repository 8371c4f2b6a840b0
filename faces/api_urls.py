from django.urls import path
from rest_framework.routers import SimpleRouter

from faces import api

router = SimpleRouter()
router.register("people", api.PersonViewSet, basename="api-faces-person")
router.register("faces", api.FaceViewSet, basename="api-faces-face")
router.register("scans", api.ScanViewSet, basename="api-faces-scan")
router.register("verifications", api.VerificationViewSet, basename="api-faces-verification")
router.register("uploads", api.UploadViewSet, basename="api-faces-upload")
router.register("people-history", api.EventViewSet, basename="api-faces-event")
router.register("suggestions", api.SuggestionViewSet, basename="api-faces-suggestion")

urlpatterns = [
    path("identify/", api.IdentifyView.as_view(), name="api-faces-identify"),
    path("verify/", api.VerifyView.as_view(), name="api-faces-verify"),
    *router.urls,
]
