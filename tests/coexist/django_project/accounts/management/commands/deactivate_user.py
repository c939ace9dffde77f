from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Deactivates the user with this email, as an administrator would (is_active = False, saved)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        try:
            user = get_user_model().objects.get(email__iexact=email)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {email}")
        user.is_active = False
        user.save()
        self.stdout.write(f"deactivated {user.pk}")
