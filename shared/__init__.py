"""What every service stands on: settings, the event store, aggregates, the audit chain, errors.

Nothing here imports a service, and nothing connects or reads the environment at import time.
"""
