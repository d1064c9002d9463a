"""OpenAI-compatible serving gateway: engines (vLLM / upstream / local), grounding, safety.

Entry points: ``create_app(settings, engine, retrieval)`` (``medassist.serve.api_server``) and the
``medassist serve`` command.
"""
