"""SQLite only: Django's own new users keep ids below EDGE_AUTH_USER_ID_START once worker users
(whose ids start there) share the table (PROTOCOL.md, "Ids").

SQLite's AUTOINCREMENT gives a new row max(sqlite_sequence, largest id in the table) + 1, so
putting sqlite_sequence back below the start changes nothing while a worker id is present. Instead
the companion remembers Django's high-water mark when the first worker user arrives, and from then
on gives Django's new users their ids itself (never reusing one, as AUTOINCREMENT would not).
PostgreSQL's sequences are not moved by explicit ids and need none of this."""

from django.db import IntegrityError, connections, transaction

from .conf import get_config
from .models import IdSequence


def _sqlite(using):
    connection = connections[using]
    return connection if connection.vendor == "sqlite" else None


def _sequence(cursor, table):
    cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
    row = cursor.fetchone()
    return None if row is None else row[0]


def before_worker_insert(model, using):
    """Call before inserting a worker user: remembers how far Django's own ids went."""
    connection = _sqlite(using)
    if connection is None:
        return
    table = model._meta.db_table
    with connection.cursor() as cursor:
        seq = _sequence(cursor, table) or 0
    if seq < get_config().user_id_start:
        marker, _ = IdSequence.objects.using(using).get_or_create(table=table)
        if marker.last_id < seq:
            IdSequence.objects.using(using).filter(pk=marker.pk).update(last_id=seq)


def assign_id(instance, using):
    """Gives a new user of this project an id below the worker's, when worker users are present."""
    connection = _sqlite(using)
    if connection is None or instance.pk is not None:
        return
    model, start = type(instance), get_config().user_id_start
    table = model._meta.db_table
    quote = connection.ops.quote_name
    markers = quote(IdSequence._meta.db_table)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        # A write first, so that this transaction holds SQLite's write lock before it reads.
        cursor.execute(f"INSERT OR IGNORE INTO {markers} ({quote('table')}, last_id) VALUES (%s, 0)", [table])
        seq = _sequence(cursor, table)
        if seq is None or seq < start:
            return  # no worker id in the table: AUTOINCREMENT does the right thing
        cursor.execute(
            f"UPDATE {markers} SET last_id = MAX(last_id, (SELECT COALESCE(MAX({quote(model._meta.pk.column)}), 0) "
            f"FROM {quote(table)} WHERE {quote(model._meta.pk.column)} < %s)) + 1 WHERE {quote('table')} = %s",
            [start, table],
        )
        cursor.execute(f"SELECT last_id FROM {markers} WHERE {quote('table')} = %s", [table])
        (next_id,) = cursor.fetchone()
    if next_id >= start:
        raise IntegrityError("No user id left below EDGE_AUTH_USER_ID_START.")
    instance.pk = next_id
