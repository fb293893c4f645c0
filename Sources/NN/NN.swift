// NN: see README.md beside this file.
