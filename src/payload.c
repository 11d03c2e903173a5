/* payload: to be written */
