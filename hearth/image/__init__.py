"""Images: the store, inspection before any ``qemu-img`` runs, conversion, the image-volume
cache. Below ``hearth.volume`` (which turns images into volumes), above ``hearth.db``."""
