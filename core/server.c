/* stub: replaced by the emulator server */
