from io import StringIO

from django.core.management import call_command
from django.test import TestCase

import edge_auth_django


class PackageTests(TestCase):
    def test_the_migrations_match_the_models(self):
        call_command("makemigrations", "edge_auth_django", "--check", "--dry-run", stdout=StringIO())

    def test_the_app_is_importable_by_its_documented_paths(self):
        from edge_auth_django.authentication import EdgeAuthJWTAuthentication
        from edge_auth_django.serializers import EdgeAuthTokenRefreshSerializer
        from edge_auth_django.urls import urlpatterns

        self.assertTrue(EdgeAuthJWTAuthentication and EdgeAuthTokenRefreshSerializer)
        self.assertEqual([p.name for p in urlpatterns], ["lookup", "events"])
        self.assertTrue(edge_auth_django.__doc__)
