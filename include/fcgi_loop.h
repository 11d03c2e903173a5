/* fcgi_loop: to be written */
