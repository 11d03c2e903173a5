/* webhook: to be written */
