// VideoIO: see README.md beside this file.
