"""medassist.models: the base models every part stands on, built and loaded in one place.

``hub`` loads any model by local folder or hub id (with errors that say how to get it offline) and
generates with it; ``smollm2`` converts the embedded default, SmolLM2-135M-Instruct, from the GGUF
file on PyPI; ``tiny`` grows the few-million-parameter Llama the plumbing tests use; ``cli`` is
``medassist model``. torch and transformers are imported inside the functions that use them, so
importing these modules stays cheap (``medassist --help``, the gateway's start).
"""
