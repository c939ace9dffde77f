import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from edge_auth_django.outbox import flush


class Command(BaseCommand):
    help = "Sends the outbox's due events to edge-auth: one pass, or with --watch one every --interval seconds."

    def add_arguments(self, parser):
        parser.add_argument("--watch", action="store_true", help="keep going; each row keeps its own back-off")
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between passes with --watch (5)")

    def handle(self, *args, watch=False, interval=5.0, **options):
        last = None
        try:
            while True:
                result = flush()
                counts = (result.delivered, result.failed, result.pending)
                if not watch or counts != last:
                    self.stdout.write(f"delivered {counts[0]}, failed {counts[1]}, pending {counts[2]}")
                if not watch:
                    return
                last = counts
                close_old_connections()
                time.sleep(max(interval, 0.1))
        except KeyboardInterrupt:
            return
