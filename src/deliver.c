/* deliver: to be written */
