"""The service layer: the request checks, the library facade and the composition root."""
