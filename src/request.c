/* request: to be written */
