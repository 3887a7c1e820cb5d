"""URLs: the JSON API under /api/, the portal everywhere else."""

from django.urls import include, path

from marketplace.api import api

urlpatterns = [
    path("api/", api.urls),
    path("", include("marketplace.portal_urls")),
]
