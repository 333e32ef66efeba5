"""Backups: a volume's bytes copied into a repository, and back into a new volume.

Where they sit in the data path::

    back up:  volume file -> snapshot.temporary (reflink, else sparse copy)
              -> extents (SEEK_DATA/SEEK_HOLE; FIEMAP against the parent's kept snapshot)
              -> engine.back_up: fixed aligned chunks, zero chunks as holes, sha256 keys,
                 zstd in a thread pool, dedup by key -> drivers.<repository>.put
              -> the manifest, written last: it commits the backup
    restore:  the create flow's fifth source (``backup``) -> restore.restore: chunks fetched,
              verified against their keys and written at their offsets into a temporary
              file the caller publishes; holes stay holes
    maintain: catalog.verify (every chunk's hash), catalog.delete (refused while
              incremental children depend on a backup; the manifest goes first, then a
              mark-and-sweep frees chunks no manifest references)

The repository is an object store of write-once chunks and manifests
(``drivers/base.py``): a directory (``drivers/posix.py``, local or an NFS mount) now, an
S3 bucket later. This package imports only ``hearth.errors``; the backup service that
calls it (rows, status, the API) sits above it, beside ``hearth.volume``.
"""
