/* admin: to be written */
