"""The scheduler: places each new volume on a backend (filters, weigher, capacity claim)."""
