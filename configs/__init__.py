"""Recipes and configs (YAML, chat templates, accelerate files), shipped as ``medassist.configs``."""
