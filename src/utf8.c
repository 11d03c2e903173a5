/* utf8: to be written */
