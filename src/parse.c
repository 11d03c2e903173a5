/* parse: to be written */
