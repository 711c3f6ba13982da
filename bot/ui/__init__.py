"""What users see: embeds, texts and persistent components."""
