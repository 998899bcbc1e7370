"""Questions in plain language: the structured filter a question becomes (``filter``), the readers that
turn words into it (a deterministic one that works offline, ``reader``; optionally a language model
behind an OpenAI-compatible endpoint, ``model_reader``), and the filter told back in words (``words``).
What runs is always the filter Touchpoint built and checked, never text a model wrote."""
