"""The companion's receiver: the worker's signed lookups and events (PROTOCOL.md, "Endpoints")."""

import json
import logging
from functools import wraps

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import signing
from .apply import EventRejected, RetryLater, apply_event, parse_envelope
from .conf import get_config
from .models import ReceivedEvent
from .records import to_record

logger = logging.getLogger("edge_auth_django")


class _Duplicate(Exception):
    pass


def _detail(message, status):
    return JsonResponse({"detail": message}, status=status)


def signed_post(view):
    """POST only; the signature is checked before anything else is read."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request):
        if request.method != "POST":
            response = _detail(f'Method "{request.method}" not allowed.', 405)
            response["Allow"] = "POST"
            return response
        body = request.body
        try:
            signing.verify(request.headers.get(signing.HEADER), body, get_config().secret)
        except signing.SignatureError as error:
            return _detail(error.detail, 401)
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            return _detail("Invalid JSON.", 400)
        return view(request, payload)

    return wrapper


@signed_post
def lookup(request, payload):
    email = payload.get("email") if isinstance(payload, dict) else None
    if not isinstance(email, str) or not email:
        return _detail("An email is required.", 400)
    model = get_user_model()
    email_field = model.get_email_field_name()
    users = model._base_manager.filter(**{f"{email_field}__iexact": email}).order_by("pk")
    user = users.filter(**{email_field: email}).first()
    if user is None:
        matches = list(users[:2])
        if len(matches) > 1:  # two accounts here differ only by case: a person must decide which one
            logger.warning("edge-auth lookup: several users here match an email case-insensitively")
        user = matches[0] if len(matches) == 1 else None
    if user is None:
        return _detail("Not found.", 404)
    return JsonResponse({"user": to_record(user)})


@signed_post
def events(request, payload):
    try:
        event_id, event_type, data = parse_envelope(payload)
    except EventRejected as error:
        return _detail(error.detail, 400)
    if ReceivedEvent.objects.filter(event_id=event_id).exists():
        return _detail("Event already received.", 409)
    try:
        with transaction.atomic():
            apply_event(event_type, data)
            try:
                with transaction.atomic():
                    ReceivedEvent.objects.create(event_id=event_id, type=event_type)
            except IntegrityError:
                raise _Duplicate from None  # the same event applied concurrently: undo this copy
    except _Duplicate:
        return _detail("Event already received.", 409)
    except EventRejected as error:
        logger.warning("edge-auth event %s (%s) refused: %s", event_id, event_type, error.detail)
        return _detail(error.detail, 400)
    except RetryLater as error:
        return _detail(error.detail, 503)
    return JsonResponse({"status": "applied"})
