"""The `<user>` record of PROTOCOL.md, to and from the project's user model, whatever fields it has."""

import uuid
from datetime import datetime, timezone as dt_timezone

from django.conf import settings
from django.utils import timezone

# Sent always, with a neutral value when the model lacks the field.
ALWAYS = {
    "first_name": "",
    "last_name": "",
    "is_active": True,
    "is_staff": False,
    "is_superuser": False,
    "date_joined": None,  # a model without it reports the time of sending
    "last_login": None,
}
# Sent when the model has the field.
OPTIONAL = (
    "uuid",
    "phone_number",
    "phone_number_verified",
    "timezone",
    "is_practitioner",
    "account_status",
    "email_verified",
)


def iso_z(value):
    """ISO 8601 UTC ending in Z, to the second (PROTOCOL.md's timestamps)."""
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_unix(seconds):
    value = datetime.fromtimestamp(seconds, tz=dt_timezone.utc)
    return value if settings.USE_TZ else timezone.make_naive(value, timezone.get_default_timezone())


def to_unix(value):
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value.timestamp()


def _wire(value):
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # e.g. a phone number or time zone object of a third-party field


def concrete_fields(model):
    """Field name -> field, for the model's own columns (no relations, no primary key)."""
    return {
        field.name: field
        for field in model._meta.concrete_fields
        if not field.is_relation and not field.primary_key
    }


def to_record(user):
    """The user as the worker receives it. `password` is the encoded hash: keep it out of logs."""
    model = type(user)
    fields = concrete_fields(model)
    record = {
        "id": user.pk,
        "email": getattr(user, model.get_email_field_name()) or "",
        "password": user.password,
    }
    for name, default in ALWAYS.items():
        record[name] = _wire(getattr(user, name)) if name in fields else default
    if record["date_joined"] is None:
        record["date_joined"] = iso_z(timezone.now())
    for name in OPTIONAL:
        if name in fields:
            record[name] = _wire(getattr(user, name))
    return record
