from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Creates a user the way rows from before the companion exist: with bulk_create, which sends no "
        "signal, so edge-auth hears nothing of it (only a lazy migration can bring it over). Prints its id."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("password")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--iterations", type=int, help="hash at this PBKDF2 cost instead of the project's (an older Django's)")

    def handle(self, *args, email, password, first_name, last_name, iterations, **options):
        User = get_user_model()
        hasher = "default"
        if iterations:
            hasher = PBKDF2PasswordHasher()
            hasher.iterations = iterations
        [user] = User.objects.bulk_create(
            [User(email=User.objects.normalize_email(email), password=make_password(password, hasher=hasher),
                  first_name=first_name, last_name=last_name)]
        )
        self.stdout.write(str(user.pk))
