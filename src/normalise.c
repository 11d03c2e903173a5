/* normalise: to be written */
