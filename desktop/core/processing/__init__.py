"""The processing engine: media = fn(media, params) (exports, batch work, video frames).

``params`` validates an operation's parameters against its declared schema,
``operations`` is the one registry of operations, ``render`` runs a list of
steps over one source and returns the encoded outputs (pure: no catalog, no
files written). The task queue, the gateway, the result cache and lineage
build on these.
"""
