from django.urls import include, path
from rest_framework_simplejwt.views import TokenBlacklistView, TokenRefreshView, TokenVerifyView

urlpatterns = [
    path("api/v1/drf/auth/", include("accounts.urls")),
    # simplejwt's own views, as a simplejwt project mounts them.
    path("api/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("api/token/verify/", TokenVerifyView.as_view(), name="token_verify"),
    path("api/token/blacklist/", TokenBlacklistView.as_view(), name="token_blacklist"),
    # The companion's receiver and lookup (EDGE_AUTH_URL's counterpart: the worker's DJANGO_SYNC_URL).
    path("edge-auth/", include("edge_auth_django.urls")),
]
