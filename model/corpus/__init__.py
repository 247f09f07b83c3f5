"""The default synthetic corpus: emoji scenes, text intents and families, their joint labels."""
