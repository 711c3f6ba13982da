"""Live playback in voice channels: stored MP3s become seamless 48 kHz loops fed to Discord.

The audio modules (:mod:`bot.voice.loops`, :mod:`bot.voice.mixer`, :mod:`bot.voice.timing`) are
pure and free of Discord, so they test fast; :mod:`bot.voice.player` and
:mod:`bot.voice.players` own the voice connections.
"""
