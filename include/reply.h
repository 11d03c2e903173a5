/* reply: to be written */
