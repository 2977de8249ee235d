"""Module-level Dash callbacks, thin: read the inputs, call portal/, return component properties.

Importing this package registers them all (app.py does); tests call the functions directly.
"""
from callbacks import live, scorecard, service_requests, snow, volunteer_finder, volunteers  # noqa: F401
