"""Reading claims from simplejwt's stored token strings (already verified when they were stored)."""

import base64
import binascii
import json


def unverified_payload(token):
    """The JWT's payload as a dict, or {} when `token` is empty or not a JWT. No verification."""
    try:
        segment = token.split(".")[1]
        payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (AttributeError, IndexError, ValueError, binascii.Error):
        return {}
    return payload if isinstance(payload, dict) else {}


def sid_of(payload):
    sid = payload.get("sid")
    return sid if isinstance(sid, str) and sid else None


def dies_at_cutoff(issued_at, sid, before, except_sid):
    """Whether a token issued at `issued_at` (unix seconds) with session `sid` is dead under the
    cut-off `before` / `except_sid`, by the worker's rule: a token of a session dies when issued
    before the cut-off; one without a session (minted by Django, which keeps none) dies when issued
    in the cut-off's own second too, since it may predate the change; the session kept is spared."""
    if except_sid is not None and sid == except_sid:
        return False
    return issued_at < before or (sid is None and issued_at == before)
