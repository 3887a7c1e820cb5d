"""The portal's pages (marketplace.views)."""

from django.urls import path

urlpatterns: list = []
