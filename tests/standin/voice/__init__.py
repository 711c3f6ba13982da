"""The voice side of the Discord stand-in: voice states on the main gateway, a TLS voice
gateway, UDP IP discovery, and a receiver that decrypts and decodes what the bot sends."""
