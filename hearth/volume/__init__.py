"""The volume stage: one manager per backend, the seed's create flow, the drivers."""
