from django.urls import path

from . import views

app_name = "edge_auth_django"

urlpatterns = [
    path("users/lookup/", views.lookup, name="lookup"),
    path("events/", views.events, name="events"),
]
