"""Database layer: models, sessions, migrations and one repository module per table.

Above this package nothing touches SQLAlchemy: callers open ``Database.transaction()`` and
call repository functions (``volumes.get(session, volume_id)``).
"""
