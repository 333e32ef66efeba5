"""Volume drivers: ``base`` is the interface every backend implements; one module per backend."""
