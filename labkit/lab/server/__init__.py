"""The lab's HTTP server: the front door (cheroot behind our seam), its connection reader and
request-body readers, and the WSGI app that sends `/v2/` to the registry and the rest to the
ECR API."""
