"""Local run of Mailwarden: the embedded AWS emulator, the local deployment and the demo."""
