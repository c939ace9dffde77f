"""edge-auth's companion app: keeps a Django project and an edge-auth worker on one user base and
one revocation state while both serve the same users (integrations/django/PROTOCOL.md)."""
