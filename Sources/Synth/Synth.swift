// Synth: see README.md beside this file.
