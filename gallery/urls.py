from django.urls import path

from gallery import files, views

app_name = "gallery"
urlpatterns = [
    path("upload/", views.upload, name="upload"),
    path("photos/<int:pk>/", views.photo_detail, name="photo"),
    path("photos/<int:pk>/delete/", views.photo_delete, name="photo-delete"),
    path("photos/<int:pk>/stylize/", views.render_create, name="render-create"),
    path("photos/<int:pk>/image", files.photo_file, name="photo-file"),
    path("photos/<int:pk>/thumb", files.photo_thumb, name="photo-thumb"),
    path("photos/<int:pk>/previews/", views.photo_previews, name="photo-previews"),
    path("photos/<int:pk>/blend-preview/", views.blend_preview, name="photo-blend-preview"),
    path("photos/<int:pk>/blend-preview/<str:key>", views.blend_preview_image, name="photo-blend-preview-image"),
    path("photos/<int:pk>/previews/<int:preset_id>", files.photo_preset_preview, name="photo-preset-preview"),
    path("renders/", views.renders_page, name="renders"),
    path("photos/<int:pk>/lab/", views.lab_create, name="lab-create"),
    path("labs/<int:pk>/", views.lab_detail, name="lab"),
    path("labs/<int:pk>/cells/<int:index>", files.lab_cell, name="lab-cell"),
    path("labs/<int:pk>/sheet", files.lab_sheet, name="lab-sheet"),
    path("labs/<int:pk>/<str:action>/", views.lab_action, name="lab-action"),
    path("renders/<int:pk>/", views.render_detail, name="render"),
    path("renders/<int:pk>/<str:action>/", views.render_action, name="render-action"),
    path("renders/<int:pk>/result", files.render_file, name="render-file"),
    path("renders/<int:pk>/preview", files.render_preview, name="render-preview"),
    path("examples/<str:name>", files.landing_image, name="landing-image"),
    path("styles/", views.styles_page, name="styles"),
    path("styles/<int:pk>/delete/", views.style_delete, name="style-delete"),
    path("styles/<int:pk>/thumb", files.style_thumb, name="style-thumb"),
    path("styles/<int:pk>/image", files.style_image, name="style-image"),
]
