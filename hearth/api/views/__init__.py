"""Response bodies per microversion, as the Block Storage v3 API reference gives them.

One module per resource; each function takes rows (never sessions) and the ``Call``, and
returns the JSON-ready document: every documented field present for the negotiated
microversion and the caller's role, no other.
"""
