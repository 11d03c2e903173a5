/* aliases: to be written */
