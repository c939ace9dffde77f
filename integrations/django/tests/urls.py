from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenBlacklistView, TokenObtainPairView, TokenRefreshView


class Me(APIView):
    def get(self, request):
        return Response({"id": request.user.pk})


urlpatterns = [
    path("edge-auth/", include("edge_auth_django.urls")),
    path("api/token/", TokenObtainPairView.as_view()),
    path("api/token/refresh/", TokenRefreshView.as_view()),
    path(
        "api/token/refresh-checked/",
        TokenRefreshView.as_view(_serializer_class="edge_auth_django.serializers.EdgeAuthTokenRefreshSerializer"),
    ),
    path("api/token/blacklist/", TokenBlacklistView.as_view()),
    path("api/me/", Me.as_view()),
]
