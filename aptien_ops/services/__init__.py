"""Use cases. Each service authorises through :mod:`aptien_ops.permissions`, changes the
catalog in one transaction, and appends the ops-log entry in that same transaction."""
