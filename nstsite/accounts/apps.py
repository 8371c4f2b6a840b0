from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "nstsite.accounts"
    label = "accounts"
