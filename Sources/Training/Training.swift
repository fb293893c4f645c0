// Training: see README.md beside this file.
