"""medassist: decision support for clinicians, not a doctor.

The distribution maps the repository's part folders (data/, sft/, rag/, serve/, ui/, eval/)
onto ``medassist.<part>`` so nothing installs a top-level ``data`` or ``eval`` module.
"""

__version__ = "0.1.0"
