"""The pure domain core: the playbook's model, matching, assessment and redlining.

Nothing here imports Flask, python-docx or sentence-transformers; adapters do that.
"""
