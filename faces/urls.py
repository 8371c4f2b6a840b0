from django.urls import path

from faces import views

app_name = "faces"
urlpatterns = [
    path("", views.home, name="home"),
    path("people/", views.people, name="people"),
]
