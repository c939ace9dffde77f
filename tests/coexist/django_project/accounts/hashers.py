from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher


class ConfiguredPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Django's PBKDF2 at the cost settings.PBKDF2_ITERATIONS names (installed only when it is set):
    the same `pbkdf2_sha256$…` format, so hashes travel between the two sides as Django's own do."""

    @property
    def iterations(self):
        return settings.PBKDF2_ITERATIONS
