"""Talking to a Kubernetes API server through the official client (see ``client.py``)."""
