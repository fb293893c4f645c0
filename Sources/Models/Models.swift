// Models: see README.md beside this file.
