// SafeTensors: see README.md beside this file.
