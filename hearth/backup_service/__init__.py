"""The backup service: makes, deletes and restores the backups the request layer started.

Where it sits::

    hearth.service.backups (checks, rows)  --cast on queue ``backup``-->  endpoint
      -> manager.BackupManager: one backup/restore/delete at a time per row, at most
         ``[backup] concurrent_operations`` at once
         -> files: the volume's (or snapshot's) file through its backend's driver
         -> hearth.backup: engine.back_up / restore.restore / catalog.delete
      -> rows, notifications (``backup.<action>.start/.end/.error``), user messages
    on start: recovery.recover (what a dead service left), then the queue

It sits beside ``hearth.scheduler``, above ``hearth.volume`` (it reaches volume files
through ``hearth.volume.drivers``) and ``hearth.backup`` (the data path, which knows no
rows).
"""
