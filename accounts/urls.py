from django.urls import include, path

from accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("profile/", views.profile, name="profile"),
    path("delete/", views.account_delete, name="account-delete"),
    path("password_change/", views.PasswordChange.as_view(), name="password_change"),
    path("login/", views.Login.as_view(), name="login"),
    path("", include("django.contrib.auth.urls")),
]
