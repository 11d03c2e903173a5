/* parse_multipart: to be written */
