/* parse_urlencoded: to be written */
