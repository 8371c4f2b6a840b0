from django.urls import path
from rest_framework.routers import SimpleRouter

from gallery import api

router = SimpleRouter()
router.register("photos", api.PhotoViewSet, basename="api-photo")
router.register("styles", api.StyleViewSet, basename="api-style")
router.register("renders", api.RenderViewSet, basename="api-render")

urlpatterns = [*router.urls, path("estimate/gatys/", api.GatysEstimateView.as_view(), name="api-gatys-estimate")]
