"""Sending `ApiRequest`s: classification, pacing, retries, ordering and the delivery engine."""
