/* upstream: to be written */
