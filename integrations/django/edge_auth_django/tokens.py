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
