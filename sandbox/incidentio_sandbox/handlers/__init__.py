"""Endpoint handlers, one module per incident.io resource; ``endpoints.py`` declares the routes."""
