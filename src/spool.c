/* spool: to be written */
