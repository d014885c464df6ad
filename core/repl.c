/* stub: replaced by the REPL */
