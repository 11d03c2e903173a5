/* parse_json: to be written */
