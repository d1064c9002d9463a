"""medassist.demo (``make demo``, ``python -m medassist.demo``): the embedded default end to end, as a
newcomer would run it by hand.

Each stage is the same ``medassist`` command a user would type (so the demo exercises the real
CLI), timed and skipped when its artefact already exists. The server is served by vLLM (its CPU
build here) unless ``--engine local`` is asked for; the consultation goes through the official
``openai`` client.
"""
