"""The nguon hub: editorial workflow, programmes, speech, publishing (see hub/README.md)."""
