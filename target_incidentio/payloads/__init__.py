"""Payload builders: pure functions from records to one `ApiRequest`, one module per operation.

They import nothing of delivery, sinks or the target, so most tests need no server. The
operation table (`target_incidentio.operations`) says which builder serves which operation.
"""
