"""The lab's HTTP server: the front door (granian's embedded server behind our seam), the
ASGI -> WSGI bridge that streams request bodies to the lab's threads, and the WSGI app that
sends `/v2/` to the registry and the rest to the ECR API."""
