/* unwrap: to be written */
