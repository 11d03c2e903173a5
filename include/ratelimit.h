/* ratelimit: to be written */
