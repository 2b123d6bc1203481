"""Adapters around the domain core: the embedding model, the YAML bank, .docx files."""
